package app

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/deploybot/deploybot/store"
)

// commitWatch answers, for a check run, check suite or status, whether an
// unfinished deployment is on its commit: only then can the event wake
// something (store.Tx.Wake), so only then is the delivery stored.
//
// Why it is built this way (a skipped delivery that a deployment needed is
// a lost deploy):
//
//   - The set holds the commits of every unfinished deployment, not only
//     of those in state waiting. A gates step that is running reads the
//     checks from GitHub and then waits; a check completing between the two
//     must still reach it (Wake bumps its counter), so the commit must be
//     watched from the moment the deployment exists, before any read.
//   - The set is only ever trusted to say "watched". A commit it does not
//     know is looked up again in the store, by a refresh that STARTS AFTER
//     the delivery arrived: any deployment created before the delivery
//     arrived — by this replica or by any other on the same database — is
//     then in the answer. A check that completed after a deployment read
//     GitHub is delivered after that read, so after the deployment was
//     stored: no replica can miss it, and a restarted replica needs no
//     state of its own (the first miss rebuilds the set).
//   - Refreshes are coalesced: the deliveries that miss while one refresh
//     runs all wait for the single next one (like group commit, for reads),
//     so a burst of unrelated checks costs one query, not one each, and
//     only one query runs at a time.
//   - A refresh that fails makes its waiters store their deliveries.
//
// A known commit whose deployments have since finished is stored until the
// next refresh drops it: an extra write, never a lost wake.
type commitWatch struct {
	load func(ctx context.Context) ([]store.Commit, error)

	mu      sync.Mutex
	known   map[store.Commit]struct{}
	next    *watchRefresh // not started yet: deliveries that miss join it
	running *watchRefresh // started (running or finished); next waits for it

	refreshes atomic.Int64 // queries made (tests count them)
	waiting   atomic.Int64 // deliveries waiting for a refresh (tests)
}

// watchRefresh is one reload of the set from the store.
type watchRefresh struct {
	done  chan struct{} // closed when known and err are set
	known map[store.Commit]struct{}
	err   error
}

func newCommitWatch(load func(ctx context.Context) ([]store.Commit, error)) *commitWatch {
	return &commitWatch{load: load, known: map[store.Commit]struct{}{}}
}

// watched reports whether an unfinished deployment is (or may be) on sha of
// repo. It answers true on any doubt (a failed refresh, a cancelled wait).
func (w *commitWatch) watched(ctx context.Context, repo, sha string) bool {
	c := store.Commit{Repo: repo, SHA: sha}
	w.mu.Lock()
	if _, ok := w.known[c]; ok {
		w.mu.Unlock()
		return true
	}
	r, prev := w.next, w.running
	leader := r == nil
	if leader {
		r = &watchRefresh{done: make(chan struct{})}
		w.next = r
	}
	w.mu.Unlock()
	w.waiting.Add(1)
	defer w.waiting.Add(-1)
	if leader {
		w.refresh(ctx, r, prev)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return true
	}
	if r.err != nil {
		return true
	}
	_, ok := r.known[c]
	return ok
}

// refresh runs r once the previous refresh has finished (one query at a
// time). From the moment r leaves w.next, new misses join a later refresh,
// so every delivery waiting on r arrived before r's query began.
func (w *commitWatch) refresh(ctx context.Context, r, prev *watchRefresh) {
	if prev != nil {
		<-prev.done // its leader always closes it
	}
	w.mu.Lock()
	w.next, w.running = nil, r
	w.mu.Unlock()
	w.refreshes.Add(1)
	commits, err := w.load(ctx)
	known := make(map[store.Commit]struct{}, len(commits))
	for _, c := range commits {
		known[c] = struct{}{}
	}
	w.mu.Lock()
	r.known, r.err = known, err
	if err == nil {
		w.known = known
	}
	w.mu.Unlock()
	close(r.done)
}

// rebuild loads the set (at start-up); a failure only means the first
// deliveries that miss will load it.
func (w *commitWatch) rebuild(ctx context.Context) error {
	commits, err := w.load(ctx)
	if err != nil {
		return err
	}
	known := make(map[store.Commit]struct{}, len(commits))
	for _, c := range commits {
		known[c] = struct{}{}
	}
	w.mu.Lock()
	w.known = known
	w.mu.Unlock()
	return nil
}
