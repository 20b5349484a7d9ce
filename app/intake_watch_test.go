package app

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/deploybot/deploybot/store"
)

// fakeCommits is the store's list of commits unfinished deployments are
// on, as every replica sees it.
type fakeCommits struct {
	mu      sync.Mutex
	commits []store.Commit
	err     error
	gate    chan struct{} // when set, a load waits for it
	loads   atomic.Int64
}

func (f *fakeCommits) load(ctx context.Context) ([]store.Commit, error) {
	f.loads.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.Commit(nil), f.commits...), f.err
}

func (f *fakeCommits) add(repo, sha string) {
	f.mu.Lock()
	f.commits = append(f.commits, store.Commit{Repo: repo, SHA: sha})
	f.mu.Unlock()
}

func TestCommitWatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("a commit another replica started deploying is watched", func(t *testing.T) {
		f := &fakeCommits{}
		w := newCommitWatch(f.load)
		if err := w.rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		if w.watched(ctx, "acme/shop", "aaa") {
			t.Fatal("a commit no deployment is on is watched")
		}
		f.add("acme/shop", "aaa") // another replica created a deployment
		if !w.watched(ctx, "acme/shop", "aaa") {
			t.Fatal("a commit a deployment is on was not watched: its checks would be dropped")
		}
		if w.watched(ctx, "acme/other", "aaa") {
			t.Error("the same SHA in another repository is watched")
		}
	})
	t.Run("a known commit needs no lookup", func(t *testing.T) {
		f := &fakeCommits{commits: []store.Commit{{Repo: "acme/shop", SHA: "bbb"}}}
		w := newCommitWatch(f.load)
		if err := w.rebuild(ctx); err != nil { // start-up
			t.Fatal(err)
		}
		for range 5 {
			if !w.watched(ctx, "acme/shop", "bbb") {
				t.Fatal("a commit a deployment is on was not watched")
			}
		}
		if n := w.refreshes.Load(); n != 0 {
			t.Errorf("%d lookups for a commit known since start-up, want 0", n)
		}
	})
	t.Run("a failed lookup stores the delivery", func(t *testing.T) {
		f := &fakeCommits{err: errors.New("database down")}
		w := newCommitWatch(f.load)
		if !w.watched(ctx, "acme/shop", "ccc") {
			t.Error("a commit was reported unwatched although the store could not be read")
		}
	})
	t.Run("misses during a lookup share the next one", func(t *testing.T) {
		f := &fakeCommits{gate: make(chan struct{})}
		w := newCommitWatch(f.load)
		const n = 32
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); w.watched(ctx, "acme/shop", "ddd") }()
		}
		for w.waiting.Load() < n { // all have missed; the first lookup is held
			runtime.Gosched()
		}
		f.add("acme/shop", "ddd")
		close(f.gate)
		wg.Wait()
		if got := w.refreshes.Load(); got > 2 {
			t.Errorf("%d lookups for %d concurrent misses, want at most 2 (one running, one shared by the rest)", got, n)
		}
		if !w.watched(ctx, "acme/shop", "ddd") {
			t.Error("the commit is not watched after the lookups")
		}
	})
}
