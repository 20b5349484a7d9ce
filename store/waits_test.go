package store_test

import (
	"context"
	"testing"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// createAs inserts a deployment like newDeployment with changes applied.
func createAs(t *testing.T, st *store.Store, key string, change func(d *store.Deployment)) *store.Deployment {
	t.Helper()
	d := newDeployment(key)
	change(d)
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		d, _, err = tx.CreateDeployment(context.Background(), d, []store.Step{{Name: "gates"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func setState(t *testing.T, st *store.Store, d *store.Deployment, state string) {
	t.Helper()
	d.State = state
	if err := st.InTx(context.Background(), func(tx *store.Tx) error { return tx.UpdateDeployment(context.Background(), d) }); err != nil {
		t.Fatal(err)
	}
}

// An event wakes each waiting deployment of the commit exactly once, and
// bumps the counter of running ones so an evaluation in flight sees it.
func TestWakeClaimsWaitingDeploymentsOnce(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	waiting, running := create(t, st, "w"), create(t, st, "r")
	other := createAs(t, st, "o", func(d *store.Deployment) { d.SHA = "def" }) // a different commit is not woken
	setState(t, st, waiting, store.StateWaiting)
	setState(t, st, running, store.StateRunning)
	setState(t, st, other, store.StateWaiting)

	wake := func() (ids []int64, wakes map[int64]int64) {
		wakes = map[int64]int64{}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			woken, err := tx.Wake(ctx, "acme/shop", "abc")
			for _, d := range woken {
				ids = append(ids, d.ID)
			}
			for _, d := range []*store.Deployment{waiting, running, other} {
				if wakes[d.ID], err = tx.WakesOf(ctx, d.ID); err != nil {
					return err
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids, wakes
	}
	ids, wakes := wake()
	if len(ids) != 1 || ids[0] != waiting.ID {
		t.Fatalf("woken %v, want only %d", ids, waiting.ID)
	}
	if wakes[running.ID] != 1 || wakes[other.ID] != 0 {
		t.Errorf("wake counters %v: the running deployment must see the event, the other commit must not", wakes)
	}
	if ids, _ := wake(); len(ids) != 0 {
		t.Errorf("a second event woke %v again; the first claim made it running", ids)
	}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.ClaimWaiting(ctx, waiting.ID)
		if ok {
			t.Error("claimed a deployment that is no longer waiting")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A new PR head cancels the PR's unfinished deployments of older commits and
// resumes those that were parked so they can stop.
func TestCancelStale(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	var ds []*store.Deployment
	for i, state := range []string{store.StatePending, store.StateQueued, store.StateWaiting, store.StateRunning, store.StateSuccess} {
		d := createAs(t, st, "c"+string(rune('a'+i)), func(d *store.Deployment) { d.PRNumber = 7 })
		setState(t, st, d, state)
		ds = append(ds, d)
	}
	var all, resume []*store.Deployment
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		all, resume, err = tx.CancelStale(ctx, "acme/shop", 7, "newhead", "cancelled: head moved")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || len(resume) != 2 || resume[0].ID != ds[1].ID || resume[1].ID != ds[2].ID {
		t.Fatalf("cancelled %d, resumed %v; want 4 unfinished cancelled and the queued+waiting ones resumed", len(all), resume)
	}
	for i, want := range []string{store.StatePending, store.StateRunning, store.StateRunning, store.StateRunning, store.StateSuccess} {
		got, _ := st.Deployment(ctx, ds[i].ID)
		if got.State != want || (i < 4) != (got.CancelReason != "") {
			t.Errorf("deployment %d: state %s cancel %q, want %s", i, got.State, got.CancelReason, want)
		}
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		again, _, err := tx.CancelStale(ctx, "acme/shop", 7, "newhead", "x")
		if len(again) != 0 {
			t.Errorf("a redelivered event cancelled %d again", len(again))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLastSuccessAndDeployed(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	if sha, err := st.LastSuccess(ctx, "acme/shop", "staging"); err != nil || sha != "" {
		t.Fatalf("empty store: %q %v", sha, err)
	}
	d := create(t, st, "ok")
	setState(t, st, d, store.StateSuccess)
	dry := createAs(t, st, "dry", func(d *store.Deployment) { d.Task, d.SHA = "dry-run", "zzz" })
	setState(t, st, dry, store.StateSuccess)
	if sha, _ := st.LastSuccess(ctx, "acme/shop", "staging"); sha != "abc" {
		t.Errorf("LastSuccess = %q, want abc (dry runs never count)", sha)
	}
	for _, tc := range []struct {
		env, sha string
		want     bool
	}{{"staging", "abc", true}, {"staging", "zzz", false}, {"production", "abc", false}} {
		if got, err := st.Deployed(ctx, "acme/shop", tc.env, tc.sha); err != nil || got != tc.want {
			t.Errorf("Deployed(%s, %s) = %v %v, want %v", tc.env, tc.sha, got, err, tc.want)
		}
	}
}

// A cancel or an abort that lands while a step of a running deployment is
// being evaluated moves its wake counter, so the step, which compares the
// counter before it parks, looks again instead of sleeping through it
// until its timer.
func TestCancelAndAbortWakeARunningStep(t *testing.T) {
	st, ctx := storetest.Open(t), context.Background()
	wakes := func(d *store.Deployment) (n int64) {
		t.Helper()
		if err := st.InTx(ctx, func(tx *store.Tx) (err error) { n, err = tx.WakesOf(ctx, d.ID); return err }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for name, land := range map[string]func(tx *store.Tx, d *store.Deployment) error{
		"head moved": func(tx *store.Tx, d *store.Deployment) error {
			_, _, err := tx.CancelStale(ctx, "acme/shop", 9, "newhead", "cancelled: head moved")
			return err
		},
		"abort": func(tx *store.Tx, d *store.Deployment) error {
			_, _, err := tx.RequestAbort(ctx, d.ID, "aborted by @alice")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			d := createAs(t, st, "wake-"+name, func(d *store.Deployment) { d.PRNumber = 9 })
			setState(t, st, d, store.StateRunning)
			before := wakes(d) // what the step read when it started
			if err := st.InTx(ctx, func(tx *store.Tx) error { return land(tx, d) }); err != nil {
				t.Fatal(err)
			}
			if after := wakes(d); after == before {
				t.Fatalf("the wake counter stayed %d: the evaluating step would park past the %s", after, name)
			}
		})
	}
}
