package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/deploybot/deploybot/store"
)

// maxIntakeBatch bounds the deliveries committed in one transaction (and
// the SQL parameters of its insert: 5 per delivery).
const maxIntakeBatch = 256

// flushTimeout bounds one batch's transaction (GitHub gives up on a
// delivery after 10 s).
const flushTimeout = 10 * time.Second

// errIntakeClosed answers deliveries that arrive while the app shuts down.
var errIntakeClosed = errors.New("intake closed")

// groupCommit stores the deliveries that arrive together in one
// transaction: a request enqueues its delivery and waits; one goroutine
// takes every delivery waiting (up to maxIntakeBatch), stores them and
// their jobs in one transaction and answers each. While a transaction
// commits, the next deliveries gather, so the batch grows with the load and
// a lone delivery waits for nothing. The goroutine blocks on its channel
// when there is nothing to do; it never polls.
//
// On PostgreSQL two such goroutines take turns (intakeFlushers): a commit
// there waits mostly on the server (measured: the process is busy a third
// of the time at 32 deliveries in flight), so the next batch can be sent
// while the previous one is flushed to disk. Two, not more: each holds one
// of the pool's connections (4 by default on 2 cores), and the queue's
// workers need the others. SQLite has one writer.
type groupCommit struct {
	store *store.Store
	in    chan *intakeRequest
	quit  chan struct{}
	done  chan struct{} // closed when every flusher has returned
	once  sync.Once

	flushes atomic.Int64 // transactions committed or tried (tests count them)
}

type intakeRequest struct {
	d      store.Delivery
	result chan intakeResult // buffered: the flusher never blocks on it
}

type intakeResult struct {
	isNew bool
	err   error
}

// intakeFlushers is how many transactions of deliveries may be in flight
// at once on each engine.
var intakeFlushers = map[store.Dialect]int{store.SQLite: 1, store.Postgres: 2}

func newGroupCommit(s *store.Store) *groupCommit {
	g := &groupCommit{store: s, in: make(chan *intakeRequest, maxIntakeBatch),
		quit: make(chan struct{}), done: make(chan struct{})}
	g.start(intakeFlushers[s.Dialect()])
	return g
}

// start runs n flushers.
func (g *groupCommit) start(n int) {
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Add(1)
		go func() { defer wg.Done(); g.run() }()
	}
	go func() { wg.Wait(); close(g.done) }()
}

// storeDelivery stores d and its job, returns once their transaction has
// committed, and reports whether d was new (not a redelivery).
func (g *groupCommit) storeDelivery(ctx context.Context, d store.Delivery) (bool, error) {
	req := &intakeRequest{d: d, result: make(chan intakeResult, 1)}
	select {
	case g.in <- req:
	case <-g.quit:
		return false, errIntakeClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
	// Once enqueued the request is answered by its flush (the request's
	// own cancellation must not leave the others of its batch behind), or
	// by the drain at shutdown; a request that slipped in after the drain
	// is refused.
	select {
	case r := <-req.result:
		return r.isNew, r.err
	case <-g.done:
		select {
		case r := <-req.result:
			return r.isNew, r.err
		default:
			return false, errIntakeClosed
		}
	}
}

func (g *groupCommit) run() {
	batch := make([]*intakeRequest, 0, maxIntakeBatch)
	for {
		select {
		case req := <-g.in:
			batch = append(batch[:0], req)
		case <-g.quit:
			g.drain()
			return
		}
	gather:
		for len(batch) < maxIntakeBatch {
			select {
			case req := <-g.in:
				batch = append(batch, req)
			default:
				break gather
			}
		}
		g.flush(batch)
	}
}

// drain answers what is still enqueued when the intake closes.
func (g *groupCommit) drain() {
	for {
		select {
		case req := <-g.in:
			req.result <- intakeResult{err: errIntakeClosed}
		default:
			return
		}
	}
}

// flush stores batch in one transaction. If that fails, each delivery is
// tried in a transaction of its own, so one delivery the database refuses
// does not cost the others theirs.
func (g *groupCommit) flush(batch []*intakeRequest) {
	// The transaction outlives any one request: it serves them all.
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	ds := make([]store.Delivery, len(batch))
	for i, req := range batch {
		ds[i] = req.d
	}
	g.flushes.Add(1)
	isNew, err := g.store.InsertDeliveries(ctx, ds, deliveryJob)
	if err == nil || len(batch) == 1 {
		for i, req := range batch {
			res := intakeResult{err: err}
			if err == nil {
				res.isNew = isNew[i]
			}
			req.result <- res
		}
		return
	}
	for _, req := range batch {
		g.flushes.Add(1)
		isNew, err := g.store.InsertDeliveries(ctx, []store.Delivery{req.d}, deliveryJob)
		res := intakeResult{err: err}
		if err == nil {
			res.isNew = isNew[0]
		}
		req.result <- res
	}
}

func deliveryJob(d store.Delivery) river.JobArgs { return DeliveryArgs{ID: d.ID} }

// close stops taking deliveries, answers those waiting and returns once
// the last transaction has ended.
func (g *groupCommit) close() {
	g.once.Do(func() { close(g.quit) })
	<-g.done
}
