package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

func TestDeliveryDedupe(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	insert := func() bool {
		var isNew bool
		err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			isNew, err = tx.InsertDelivery(ctx, store.Delivery{ID: "d-1", Event: "ping", Payload: []byte(`{}`), ReceivedAt: time.Now()})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return isNew
	}
	if !insert() {
		t.Fatal("first delivery reported as duplicate")
	}
	if insert() {
		t.Fatal("redelivery reported as new")
	}
	if n, _ := st.CountDeliveries(ctx); n != 1 {
		t.Fatalf("stored %d deliveries, want 1", n)
	}
	d, err := st.Delivery(ctx, "d-1")
	if err != nil || d.Event != "ping" || string(d.Payload) != "{}" {
		t.Fatalf("Delivery = %+v, %v", d, err)
	}
}

func newDeployment(key string) *store.Deployment {
	return &store.Deployment{RequestKey: key, Repo: "acme/shop", InstallationID: 1, Environment: "staging",
		Ref: "main", SHA: "abc", Task: "deploy", Trigger: "comment", RequestedBy: "alice", Strategy: "direct",
		State: store.StateQueued, EnvConfig: "{}"}
}

func create(t *testing.T, st *store.Store, key string) *store.Deployment {
	t.Helper()
	var d *store.Deployment
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		d, _, err = tx.CreateDeployment(context.Background(), newDeployment(key),
			[]store.Step{{Name: "gates"}, {Name: "deploy", Spec: `{"index":1}`}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCreateDeploymentIsIdempotentAndKeepsSteps(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	a := create(t, st, "comment:1")
	b := create(t, st, "comment:1")
	if a.ID != b.ID {
		t.Fatalf("same request key made two deployments: %d and %d", a.ID, b.ID)
	}
	steps, err := st.Steps(ctx, a.ID)
	if err != nil || len(steps) != 2 || steps[1].Name != "deploy" || steps[1].State != store.StepPending {
		t.Fatalf("steps = %+v, %v", steps, err)
	}
	a.State, a.CheckRunID, a.Reason = store.StateFailure, 77, "boom"
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateDeployment(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	got, err := st.DeploymentByCheckRun(ctx, "acme/shop", 77)
	if err != nil || got.ID != a.ID || got.Reason != "boom" || !got.Done() {
		t.Fatalf("DeploymentByCheckRun = %+v, %v", got, err)
	}
}

func TestLockHandsOverInFIFOOrder(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	first, second, third := create(t, st, "a"), create(t, st, "b"), create(t, st, "c")
	acquire := func(id int64) int64 {
		var holder int64
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			holder, err = tx.AcquireLock(ctx, "acme/shop", "staging", id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return holder
	}
	release := func(id int64) *store.Deployment {
		var next *store.Deployment
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			next, err = tx.ReleaseLock(ctx, "acme/shop", "staging", id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return next
	}
	if h := acquire(first.ID); h != first.ID {
		t.Fatalf("first acquire: holder %d", h)
	}
	if h := acquire(second.ID); h != first.ID {
		t.Fatalf("second acquire while held: holder %d, want %d", h, first.ID)
	}
	if h := acquire(third.ID); h != first.ID {
		t.Fatalf("third acquire while held: holder %d", h)
	}
	// first is running, so only second and third are queued: second is next.
	first.State = store.StateSuccess
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateDeployment(ctx, first) }); err != nil {
		t.Fatal(err)
	}
	next := release(first.ID)
	if next == nil || next.ID != second.ID {
		t.Fatalf("lock handed to %+v, want deployment %d", next, second.ID)
	}
	if h, _ := st.LockHolder(ctx, "acme/shop", "staging"); h != second.ID {
		t.Fatalf("holder after hand-over = %d", h)
	}
	if n := release(first.ID); n != nil {
		t.Fatal("releasing a lock one does not hold handed it over")
	}
}

func TestConcurrentAcquireHasOneWinner(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	ids := []int64{create(t, st, "x").ID, create(t, st, "y").ID, create(t, st, "z").ID}
	var mu sync.Mutex
	winners := map[int64]bool{}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func(id int64) {
			defer wg.Done()
			var holder int64
			err := st.InTx(ctx, func(tx *store.Tx) error {
				var err error
				holder, err = tx.AcquireLock(ctx, "acme/shop", "staging", id)
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			winners[holder] = true
			mu.Unlock()
		}(id)
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("holders seen: %v, want exactly one", winners)
	}
}

type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

// A job a crashed process left running is made available again.
func TestRecoverAbandonedJobs(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	if err := st.SetupQueue(store.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.Enqueue(ctx, noopArgs{}, nil) }); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PendingJobs(ctx); err != nil || n != 1 {
		t.Fatalf("pending = %d, %v", n, err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.MarkJobsRunningForTest(ctx) }); err != nil {
		t.Fatal(err)
	}
	n, err := st.RecoverAbandonedJobs(ctx)
	if err != nil || n != 1 {
		t.Fatalf("recovered %d, %v; want 1", n, err)
	}
	if n, _ := st.RecoverAbandonedJobs(ctx); n != 0 {
		t.Fatalf("recovered %d on a second call", n)
	}
}
