package app

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// insertOnlyStore is a migrated store with an insert-only queue.
func insertOnlyStore(t *testing.T) *store.Store {
	t.Helper()
	st := storetest.Open(t)
	if err := st.SetupQueue(store.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	return st
}

// The deliveries that wait while a transaction commits are stored together
// in the next one: N concurrent deliveries take fewer than N transactions,
// and a redelivery inside the same batch, or of a delivery stored by an
// earlier batch, is deduplicated (stored once, one job).
func TestGroupCommitStoresConcurrentDeliveriesTogether(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		ids         []string // delivered at once
		earlier     []string // stored by an earlier batch
		wantNew     int
		wantFlushes int64
	}{
		{name: "32 distinct deliveries", ids: ids("a", 32), wantNew: 32, wantFlushes: 1},
		{name: "a redelivery inside the batch", ids: append(ids("b", 8), "b-3", "b-5"), wantNew: 8, wantFlushes: 1},
		{name: "a redelivery of an earlier batch", ids: ids("c", 4), earlier: []string{"c-1"}, wantNew: 3, wantFlushes: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := insertOnlyStore(t)
			g := &groupCommit{store: st, in: make(chan *intakeRequest, maxIntakeBatch), quit: make(chan struct{}), done: make(chan struct{})}
			defer g.close()
			var earlier []store.Delivery
			for _, id := range tc.earlier {
				earlier = append(earlier, delivery(id))
			}
			if _, err := st.InsertDeliveries(ctx, earlier, deliveryJob); err != nil {
				t.Fatal(err)
			}
			// Every request is enqueued before the flusher starts, so they
			// form one batch.
			results := make(chan bool, len(tc.ids))
			for _, id := range tc.ids {
				go func() {
					isNew, err := g.storeDelivery(ctx, delivery(id))
					if err != nil {
						t.Error(err)
					}
					results <- isNew
				}()
			}
			for len(g.in) < len(tc.ids) {
				runtime.Gosched()
			}
			g.start(1)
			fresh := 0
			for range tc.ids {
				if <-results {
					fresh++
				}
			}
			if fresh != tc.wantNew {
				t.Errorf("%d deliveries reported new, want %d", fresh, tc.wantNew)
			}
			flushes := g.flushes.Load()
			if flushes != tc.wantFlushes {
				t.Errorf("%d transactions for %d deliveries, want %d", flushes, len(tc.ids), tc.wantFlushes)
			}
			if flushes >= int64(len(tc.ids)) {
				t.Errorf("%d transactions for %d deliveries: no group commit", flushes, len(tc.ids))
			}
			stored, err := st.CountDeliveries(ctx)
			if want := tc.wantNew + len(tc.earlier); err != nil || stored != want {
				t.Errorf("stored deliveries = %d (%v), want %d", stored, err, want)
			}
			jobs, err := st.JobsOfKind(ctx, DeliveryArgs{}.Kind())
			if want := tc.wantNew + len(tc.earlier); err != nil || len(jobs) != want {
				t.Errorf("delivery jobs = %d (%v), want %d (one per stored delivery)", len(jobs), err, want)
			}
		})
	}
}

// A delivery the database refuses fails alone: the others of its batch are
// stored by one transaction each.
func TestGroupCommitIsolatesARefusedDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := insertOnlyStore(t)
	g := &groupCommit{store: st, in: make(chan *intakeRequest, maxIntakeBatch), quit: make(chan struct{}), done: make(chan struct{})}
	defer g.close()
	bad := delivery("bad")
	bad.ID = "bad\x00" // NUL: PostgreSQL refuses it in text; SQLite takes it
	errs := make(chan error, 4)
	for _, d := range []store.Delivery{delivery("ok-1"), bad, delivery("ok-2"), delivery("ok-3")} {
		go func() { _, err := g.storeDelivery(ctx, d); errs <- err }()
	}
	for len(g.in) < 4 {
		runtime.Gosched()
	}
	g.start(1)
	failed := 0
	for range 4 {
		if <-errs != nil {
			failed++
		}
	}
	stored, err := st.CountDeliveries(ctx)
	if err != nil || stored+failed != 4 || failed > 1 {
		t.Errorf("stored %d, refused %d (%v): want the 3 good deliveries stored whatever happens to the bad one", stored, failed, err)
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func delivery(id string) store.Delivery {
	return store.Delivery{ID: id, Event: "issue_comment", InstallationID: 4242,
		Payload: []byte(`{"action":"created"}`), ReceivedAt: time.Now()}
}
