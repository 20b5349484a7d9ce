package store_test

import (
	"context"
	"testing"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// The first result reported for a step stands; others are not recorded.
func TestExecutorCallbackFirstResultStands(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	d := create(t, st, "cb")
	record := func(idx int, state string) bool {
		var ok bool
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = tx.RecordExecutorCallback(ctx, d.ID, idx, state)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, tc := range []struct {
		name  string
		idx   int
		state string
		ok    bool
		want  string
	}{
		{"first result", 1, store.CallbackSuccess, true, store.CallbackSuccess},
		{"same again", 1, store.CallbackSuccess, false, store.CallbackSuccess},
		{"another result", 1, store.CallbackFailure, false, store.CallbackSuccess},
		{"another step", 0, store.CallbackFailure, true, store.CallbackFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok := record(tc.idx, tc.state); ok != tc.ok {
				t.Errorf("recorded = %v, want %v", ok, tc.ok)
			}
			if got, err := st.ExecutorCallback(ctx, d.ID, tc.idx); err != nil || got != tc.want {
				t.Errorf("result = %q (%v), want %q", got, err, tc.want)
			}
		})
	}
	if got, err := st.ExecutorCallback(ctx, d.ID+1, 1); err != nil || got != "" {
		t.Errorf("result of an unknown deployment = %q (%v)", got, err)
	}
}

// A step about to park reads the wake counter while a wake of its
// deployment is being committed: it must see that wake (else the
// deployment waits with a result nobody acts on). On PostgreSQL the read
// waits for the wake's transaction.
func TestParkingStepSeesAWakeCommittingMeanwhile(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	if st.Dialect() != store.Postgres {
		t.Skip("SQLite runs one write transaction at a time")
	}
	d := create(t, st, "park")
	setState(t, st, d, store.StateRunning)

	woke, commit, wakeDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		wakeDone <- st.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.WakeDeployment(ctx, d.ID); err != nil {
				return err
			}
			close(woke)
			<-commit
			return nil
		})
	}()
	<-woke
	read, readDone := make(chan int64, 1), make(chan error, 1)
	go func() {
		readDone <- st.InTx(ctx, func(tx *store.Tx) error {
			n, err := tx.WakesOf(ctx, d.ID)
			read <- n
			return err
		})
	}()
	// Commit the wake once the read waits for it, or has finished without.
	for waiting := false; !waiting && len(read) == 0; {
		n, err := st.LockWaitersForTest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waiting = n > 0
	}
	close(commit)
	if err := <-wakeDone; err != nil {
		t.Fatal(err)
	}
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	if n := <-read; n != 1 {
		t.Errorf("the parking step read wakes = %d while a wake committed, want 1", n)
	}
}
