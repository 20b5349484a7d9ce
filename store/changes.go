package store

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Change says that something the pages show changed: a deployment, one of
// its steps or its monitoring window (Deployment set), or an environment's
// lock (Deployment 0). It carries names only, never what a row holds, so a
// subscriber decides per viewer whether to pass it on.
type Change struct {
	Repo        string `json:"repo"`
	Environment string `json:"environment"`
	Deployment  int64  `json:"deployment,omitempty"`
}

// The change feed is written by the database itself, so every writer on
// every replica is covered without each store method remembering to
// publish: on PostgreSQL a trigger NOTIFYs on commit (changes_postgres.go),
// on SQLite the connection's pre-update and commit hooks collect the rows a
// transaction wrote and publish them when it commits (changes_sqlite.go).

// maxPending bounds what one subscriber holds between two Takes; past it the
// subscriber is told it lost track (Overflow) and reloads everything.
const maxPending = 256

// Subscription receives the store's changes, coalesced: Ready is signalled
// when changes are pending and Take hands over all of them at once, so a
// slow reader never blocks a writer and never loses the fact that it missed
// something.
type Subscription struct {
	feed  *feed
	ready chan struct{}

	mu       sync.Mutex
	pending  map[Change]struct{}
	overflow bool
}

// Ready is signalled (once per batch) when Take has something.
func (sub *Subscription) Ready() <-chan struct{} { return sub.ready }

// Closed is closed when the store closes: nothing more will come.
func (sub *Subscription) Closed() <-chan struct{} { return sub.feed.closed }

// Take returns the changes since the last Take, and whether some were lost
// (the subscriber should then treat everything as changed).
func (sub *Subscription) Take() (changes []Change, overflow bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for c := range sub.pending {
		changes = append(changes, c)
	}
	clear(sub.pending)
	overflow, sub.overflow = sub.overflow, false
	return changes, overflow
}

// Close ends the subscription.
func (sub *Subscription) Close() { sub.feed.remove(sub) }

func (sub *Subscription) offer(changes []Change, overflow bool) {
	sub.mu.Lock()
	for _, c := range changes {
		if len(sub.pending) >= maxPending {
			overflow = true
			break
		}
		sub.pending[c] = struct{}{}
	}
	sub.overflow = sub.overflow || overflow
	sub.mu.Unlock()
	select {
	case sub.ready <- struct{}{}:
	default: // already signalled; the next Take gets these too
	}
}

// feed fans the database's changes out to subscribers.
type feed struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	open atomic.Int32 // len(subs), read without the lock by the SQLite hooks
	// start starts the engine's listener on the first subscription; it
	// returns once changes are heard, so none committed after Subscribe
	// returns is missed.
	start   func() error
	started bool
	closed  chan struct{}
}

func newFeed() *feed { return &feed{subs: map[*Subscription]struct{}{}, closed: make(chan struct{})} }

// close tells every subscriber that the feed ended.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.closed:
	default:
		close(f.closed)
	}
}

func (f *feed) add() (*Subscription, error) {
	sub := &Subscription{feed: f, ready: make(chan struct{}, 1), pending: map[Change]struct{}{}}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.start != nil && !f.started {
		if err := f.start(); err != nil {
			return nil, fmt.Errorf("follow the database's changes: %w", err)
		}
		f.started = true
	}
	f.subs[sub] = struct{}{}
	f.open.Store(int32(len(f.subs)))
	return sub, nil
}

func (f *feed) remove(sub *Subscription) {
	f.mu.Lock()
	delete(f.subs, sub)
	f.open.Store(int32(len(f.subs)))
	f.mu.Unlock()
}

func (f *feed) publish(changes []Change, overflow bool) {
	if len(changes) == 0 && !overflow {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		sub.offer(changes, overflow)
	}
}

// Subscribe follows what changes in the store, on this replica and (on
// PostgreSQL) every other one. Close the subscription when done; the store
// stops the feed when it closes.
func (s *Store) Subscribe() (*Subscription, error) { return s.feed.add() }
