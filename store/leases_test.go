package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// The life of a step lease: one runner at a time, renewals only by the
// holder, and an expired lease taken by exactly one reaper.
func TestStepLeases(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	now := time.Now()
	acquire := func(id int64, owner string, at time.Time) bool {
		t.Helper()
		var ok bool
		if err := st.InTx(ctx, func(tx *store.Tx) (err error) {
			ok, err = tx.AcquireLease(ctx, id, 3, owner, at, at.Add(15*time.Second))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	take := func(at time.Time) []store.ExpiredLease {
		t.Helper()
		var out []store.ExpiredLease
		if err := st.InTx(ctx, func(tx *store.Tx) (err error) { out, err = tx.TakeExpiredLeases(ctx, at, 10); return err }); err != nil {
			t.Fatal(err)
		}
		return out
	}

	if !acquire(1, "a/1", now) {
		t.Fatal("a free step could not be leased")
	}
	t.Run("a live lease keeps other runners out", func(t *testing.T) {
		if acquire(1, "b/1", now.Add(5*time.Second)) {
			t.Fatal("a second runner leased a step whose lease is live")
		}
	})
	t.Run("only the holder renews", func(t *testing.T) {
		if ok, err := st.RenewLease(ctx, 1, "b/1", now.Add(time.Minute)); err != nil || ok {
			t.Fatalf("renew by a stranger = %v, %v", ok, err)
		}
		if ok, err := st.RenewLease(ctx, 1, "a/1", now.Add(20*time.Second)); err != nil || !ok {
			t.Fatalf("renew by the holder = %v, %v", ok, err)
		}
	})
	t.Run("nothing expired is taken", func(t *testing.T) {
		if got := take(now.Add(10 * time.Second)); len(got) != 0 {
			t.Fatalf("took %v before expiry", got)
		}
	})
	t.Run("an expired lease is taken once", func(t *testing.T) {
		later := now.Add(30 * time.Second)
		got := take(later)
		if len(got) != 1 || got[0] != (store.ExpiredLease{DeploymentID: 1, Step: 3, Owner: "a/1"}) {
			t.Fatalf("took %+v", got)
		}
		if again := take(later); len(again) != 0 {
			t.Fatalf("a second reaper also took %+v", again)
		}
		if ok, _ := st.RenewLease(ctx, 1, "a/1", later.Add(time.Minute)); ok {
			t.Fatal("the dead runner renewed a lease the reaper took")
		}
		if !acquire(1, "b/2", later) {
			t.Fatal("the resumed step could not be leased")
		}
	})
	t.Run("release reports whether the runner still held it", func(t *testing.T) {
		if held, err := st.ReleaseLease(ctx, 1, "a/1"); err != nil || held {
			t.Fatalf("release by the old runner = %v, %v", held, err)
		}
		if held, err := st.ReleaseLease(ctx, 1, "b/2"); err != nil || !held {
			t.Fatalf("release by the holder = %v, %v", held, err)
		}
		if !acquire(1, "c/1", now.Add(31*time.Second)) {
			t.Fatal("a released step could not be leased")
		}
	})
	t.Run("an expired lease is taken over directly", func(t *testing.T) {
		if !acquire(1, "d/1", now.Add(time.Hour)) {
			t.Fatal("a runner could not lease a step whose lease expired")
		}
	})
}
