package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

func TestManualLocks(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	lock := func(owner, reason string, d time.Duration, at time.Time) *store.ManualLock {
		t.Helper()
		l := store.ManualLock{Repo: "acme/shop", Environment: "staging", Owner: owner, Reason: reason}
		if d > 0 {
			l.ExpiresAt = at.Add(d)
		}
		held, err := st.LockManually(ctx, l, at)
		if err != nil {
			t.Fatal(err)
		}
		return held
	}
	current := func(at time.Time) *store.ManualLock {
		t.Helper()
		l, err := st.ManualLock(ctx, "acme/shop", "staging", at)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	if l := current(now); l != nil {
		t.Fatalf("fresh store has a lock: %+v", l)
	}
	if held := lock("mia", "release freeze", 2*time.Hour, now); !held.HeldBy("mia") || held.Reason != "release freeze" ||
		!held.ExpiresAt.Equal(now.Add(2*time.Hour)) || !held.CreatedAt.Equal(now) {
		t.Fatalf("lock = %+v", held)
	}
	// Another user cannot take it; they learn who holds it.
	if held := lock("walt", "mine", 0, now.Add(time.Minute)); !held.HeldBy("mia") || held.Reason != "release freeze" {
		t.Fatalf("walt took mia's lock: %+v", held)
	}
	// The owner re-locks (any case): the expiry changes; no reason keeps the old one.
	if held := lock("Mia", "", 4*time.Hour, now.Add(time.Hour)); !held.HeldBy("mia") || held.Reason != "release freeze" ||
		!held.ExpiresAt.Equal(now.Add(5*time.Hour)) || !held.CreatedAt.Equal(now) {
		t.Fatalf("relock = %+v", held)
	}
	if held := lock("mia", "hotfix only", 0, now.Add(time.Hour)); held.Reason != "hotfix only" || !held.ExpiresAt.IsZero() {
		t.Fatalf("relock with a reason and no expiry = %+v", held)
	}
	other, err := st.ManualLock(ctx, "acme/shop", "production", now)
	if err != nil || other != nil {
		t.Fatalf("production lock = %+v %v, want none", other, err)
	}

	// Unlock: not by others, by the owner.
	if held, removed, err := st.UnlockManually(ctx, "acme/shop", "staging", "walt", false, now); err != nil || removed || !held.HeldBy("mia") {
		t.Fatalf("walt's unlock = %+v %v %v", held, removed, err)
	}
	if _, removed, err := st.UnlockManually(ctx, "acme/shop", "staging", "mia", false, now); err != nil || !removed {
		t.Fatalf("mia's unlock = %v %v", removed, err)
	}
	if held, removed, err := st.UnlockManually(ctx, "acme/shop", "staging", "mia", false, now); err != nil || removed || held != nil {
		t.Fatalf("unlocking a free env = %+v %v %v", held, removed, err)
	}

	// An admin removes anyone's lock.
	lock("mia", "freeze", 0, now)
	if held, removed, err := st.UnlockManually(ctx, "acme/shop", "staging", "ada", true, now); err != nil || !removed || !held.HeldBy("mia") {
		t.Fatalf("admin unlock = %+v %v %v", held, removed, err)
	}

	// Expired locks count as free and are replaced by the next lock.
	lock("mia", "short", time.Hour, now)
	later := now.Add(time.Hour)
	if l := current(later); l != nil {
		t.Fatalf("expired lock still in force: %+v", l)
	}
	if locks, err := st.ManualLocks(ctx, "acme/shop", later); err != nil || len(locks) != 0 {
		t.Fatalf("ManualLocks after expiry = %v %v", locks, err)
	}
	if held := lock("walt", "my turn", 0, later); !held.HeldBy("walt") || held.Reason != "my turn" || !held.CreatedAt.Equal(later) {
		t.Fatalf("lock after expiry = %+v", held)
	}
	if locks, err := st.ManualLocks(ctx, "acme/shop", later); err != nil || len(locks) != 1 || !locks["staging"].HeldBy("walt") {
		t.Fatalf("ManualLocks = %v %v", locks, err)
	}
	if _, removed, _ := st.UnlockManually(ctx, "acme/shop", "staging", "mia", false, later); removed {
		t.Fatal("the owner of an expired lock removed its successor's")
	}
}

// History reads: what is live, what was good before, what is in flight.
func TestEnvironmentHistory(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	mk := func(key, sha, state string, ghID, rollbackOf int64) *store.Deployment {
		d := createAs(t, st, key, func(d *store.Deployment) { d.SHA, d.RollbackOf = sha, rollbackOf })
		d.GitHubDeploymentID, d.FinishedAt = ghID, time.UnixMilli(1000*d.ID)
		setState(t, st, d, state)
		return d
	}
	if d, err := st.LastSuccessful(ctx, "acme/shop", "staging"); err != nil || d != nil {
		t.Fatalf("empty: %+v %v", d, err)
	}
	a := mk("a", "aaa", store.StateSuccess, 101, 0)
	b := mk("b", "bbb", store.StateSuccess, 102, 0)
	mk("rb", "aaa", store.StateSuccess, 103, 102) // b was rolled back
	c := mk("c", "ccc", store.StateFailure, 104, 0)
	dry := createAs(t, st, "dry", func(d *store.Deployment) { d.Task, d.SHA = "dry-run", "ddd" })
	setState(t, st, dry, store.StateSuccess)
	running := createAs(t, st, "run", func(d *store.Deployment) { d.SHA = "eee" })
	setState(t, st, running, store.StateRunning)

	if d, _ := st.LastSuccessful(ctx, "acme/shop", "staging"); d == nil || d.SHA != "aaa" || d.RollbackOf != 102 {
		t.Errorf("LastSuccessful = %+v, want the rollback to aaa", d)
	}
	if ds, _ := st.RecentFinished(ctx, "acme/shop", "staging", 2); len(ds) != 2 || ds[0].ID != c.ID {
		t.Errorf("RecentFinished = %d, first %+v; want c first, dry run left out", len(ds), ds)
	}
	// Before c: bbb was rolled back, so the previous good one is aaa.
	if d, _ := st.PreviousGood(ctx, "acme/shop", "staging", c.ID, "ccc"); d == nil || d.SHA != "aaa" {
		t.Errorf("PreviousGood(before c) = %+v, want aaa", d)
	}
	if d, _ := st.PreviousGood(ctx, "acme/shop", "staging", c.ID, "aaa"); d != nil {
		t.Errorf("PreviousGood(not aaa) = %+v, want none (bbb was rolled back)", d)
	}
	if d, _ := st.PreviousGood(ctx, "acme/shop", "staging", b.ID, "bbb"); d == nil || d.ID != a.ID {
		t.Errorf("PreviousGood(before b) = %+v, want a", d)
	}
	if ds, _ := st.Unfinished(ctx, "acme/shop"); len(ds) != 1 || ds[0].ID != running.ID {
		t.Errorf("Unfinished = %+v, want only the running one", ds)
	}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.AcquireLock(ctx, "acme/shop", "staging", running.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := st.LockHolders(ctx, "acme/shop"); err != nil || len(h) != 1 || h["staging"] != running.ID {
		t.Errorf("LockHolders = %v %v", h, err)
	}
}
