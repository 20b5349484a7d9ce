package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// storeClock is the store's clock in a test, moved instead of slept.
type storeClock struct{ now time.Time }

func (c *storeClock) Now() time.Time { return c.now }

func update(t *testing.T, st *store.Store, d *store.Deployment) error {
	t.Helper()
	return st.InTx(context.Background(), func(tx *store.Tx) error { return tx.UpdateDeployment(context.Background(), d) })
}

func staleIDs(t *testing.T, st *store.Store, now time.Time) []int64 {
	t.Helper()
	ds, err := st.StaleDeployments(context.Background(), now, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

// Every write moves a deployment's deadline on; queued deployments have
// none until they are handed the environment; an ended deployment is never
// stale and cannot be written again.
func TestDeadlines(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	clk := &storeClock{now: time.UnixMilli(1_800_000_000_000)}
	st.SetClock(clk.Now)
	running := createAs(t, st, "run", func(d *store.Deployment) { d.State, d.StaleAfter = store.StateRunning, time.Hour })
	queued := createAs(t, st, "queue", func(d *store.Deployment) { d.StaleAfter = time.Hour })
	never := createAs(t, st, "never", func(d *store.Deployment) { d.State = store.StateRunning }) // StaleAfter 0
	for _, d := range []*store.Deployment{running, queued} {
		if err := st.InTx(ctx, func(tx *store.Tx) error { _, err := tx.AcquireLock(ctx, "acme/shop", "staging", d.ID); return err }); err != nil {
			t.Fatal(err)
		}
	}

	clk.now = clk.now.Add(50 * time.Minute)
	if got := staleIDs(t, st, clk.now.Add(11*time.Minute)); len(got) != 1 || got[0] != running.ID {
		t.Fatalf("stale after 61m: %v, want only the running one (queued ones wait for the holder)", got)
	}
	if err := update(t, st, running); err != nil { // progress
		t.Fatal(err)
	}
	if got := staleIDs(t, st, clk.now.Add(59*time.Minute)); len(got) != 0 {
		t.Fatalf("stale 59m after progress: %v", got)
	}

	// The running one ends and hands the environment to the queued one,
	// whose clock starts then.
	running.State, running.FinishedAt = store.StateError, clk.now
	var next *store.Deployment
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if next, err = tx.ReleaseLock(ctx, "acme/shop", "staging", running.ID); err != nil {
			return err
		}
		return tx.UpdateDeployment(ctx, running)
	})
	if err != nil || next == nil || next.ID != queued.ID {
		t.Fatalf("hand-over to %+v, %v", next, err)
	}
	if got := staleIDs(t, st, clk.now.Add(61*time.Minute)); len(got) != 1 || got[0] != queued.ID {
		t.Fatalf("stale 61m after the hand-over: %v, want the deployment handed the environment", got)
	}
	running.State = store.StateRunning
	if err := update(t, st, running); !errors.Is(err, store.ErrEnded) {
		t.Fatalf("writing an ended deployment: %v, want ErrEnded", err)
	}
	if d, _ := st.Deployment(ctx, running.ID); d.State != store.StateError {
		t.Fatalf("ended deployment rewritten to %s", d.State)
	}
	if got := staleIDs(t, st, clk.now.Add(1000*time.Hour)); len(got) != 1 || got[0] == never.ID {
		t.Fatalf("stale far ahead: %v; a deployment without StaleAfter is never stale", got)
	}
}

// A slot held by a deployment that ended is listed so the reaper frees it.
func TestOrphanedLocks(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	live, ended := create(t, st, "live"), create(t, st, "ended")
	for _, l := range []struct {
		env string
		id  int64
	}{{"staging", live.ID}, {"production", ended.ID}} {
		if err := st.InTx(ctx, func(tx *store.Tx) error { _, err := tx.AcquireLock(ctx, "acme/shop", l.env, l.id); return err }); err != nil {
			t.Fatal(err)
		}
	}
	ended.State, ended.FinishedAt = store.StateError, time.Now()
	if err := update(t, st, ended); err != nil {
		t.Fatal(err)
	}
	got, err := st.OrphanedLocks(ctx)
	if err != nil || len(got) != 1 || got[0].Environment != "production" || got[0].DeploymentID != ended.ID {
		t.Fatalf("OrphanedLocks = %+v, %v", got, err)
	}
}

// A processed delivery keeps its id (deduplication) but not its payload;
// rows received before the cutoff are deleted.
func TestDeliveryRetention(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	day := 24 * time.Hour
	now := time.Now()
	for _, d := range []store.Delivery{
		{ID: "old", Event: "ping", Payload: []byte(`{"a":1}`), ReceivedAt: now.Add(-8 * day)},
		{ID: "new", Event: "ping", Payload: []byte(`{"b":2}`), ReceivedAt: now.Add(-time.Hour)},
	} {
		if err := st.InTx(ctx, func(tx *store.Tx) error { _, err := tx.InsertDelivery(ctx, d); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MarkDeliveryProcessed(ctx, "new", now); err != nil {
		t.Fatal(err)
	}
	d, err := st.Delivery(ctx, "new")
	if err != nil || len(d.Payload) != 0 || !d.Processed() {
		t.Fatalf("processed delivery = %+v, %v; want no payload", d, err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		isNew, err := tx.InsertDelivery(ctx, store.Delivery{ID: "new", Event: "ping", Payload: []byte(`{}`), ReceivedAt: now})
		if isNew {
			t.Error("a redelivery of a processed delivery was taken as new")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteDeliveriesBefore(ctx, now.Add(-7*day)); err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want the 8-day-old one", n, err)
	}
	if _, err := st.Delivery(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old delivery: %v, want not found", err)
	}
}
