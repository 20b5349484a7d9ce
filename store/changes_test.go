package store_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

func subscribe(t *testing.T, st *store.Store) *store.Subscription {
	t.Helper()
	sub, err := st.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// next waits for the subscription's next batch: the feed is an event, so
// the test waits on it, bounded so a missing change fails instead of hanging.
func next(t *testing.T, sub *store.Subscription) ([]store.Change, bool) {
	t.Helper()
	select {
	case <-sub.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("no change arrived within 10s")
	}
	return sub.Take()
}

// onlyMarker asserts the feed said nothing about rolled-back work: a
// marker write made after it must be the next and only change.
func onlyMarker(t *testing.T, st *store.Store, sub *store.Subscription) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.LockManually(ctx, store.ManualLock{Repo: "acme/marker", Environment: "m", Owner: "x"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	got, _ := next(t, sub)
	if want := []store.Change{{Repo: "acme/marker", Environment: "m"}}; !slices.Equal(got, want) {
		t.Fatalf("after a rolled-back write, the feed said %+v; want only the marker %+v", got, want)
	}
}

// The pages follow the store's change feed: every committed write to a
// deployment, its steps, its monitor or an environment's lock is announced
// once, by name; a rolled-back transaction is not announced.
func TestChangeFeed(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	sub := subscribe(t, st)
	defer sub.Close()

	d := storetest.AddDeployments(t, st, []store.Deployment{{Repo: "acme/web", Environment: "production", SHA: "abc", State: store.StateRunning}},
		store.Step{Name: "deploy", State: store.StatePending})[0]
	got, _ := next(t, sub)
	want := store.Change{Repo: "acme/web", Environment: "production", Deployment: d.ID}
	if !slices.Contains(got, want) || len(got) != 1 {
		t.Fatalf("creating a deployment announced %+v; want exactly %+v", got, want)
	}

	t.Run("a step's change names its deployment's repository", func(t *testing.T) {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			steps, err := tx.Steps(ctx, d.ID)
			if err != nil {
				return err
			}
			steps[0].State = store.StateRunning
			return tx.UpdateStep(ctx, steps[0])
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := next(t, sub)
		if !slices.Equal(got, []store.Change{want}) {
			t.Fatalf("a step update announced %+v; want %+v", got, want)
		}
	})

	t.Run("a lock and an unlock name the environment", func(t *testing.T) {
		if _, err := st.LockManually(ctx, store.ManualLock{Repo: "acme/web", Environment: "staging", Owner: "mona", Reason: "freeze"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		lock := []store.Change{{Repo: "acme/web", Environment: "staging"}}
		if got, _ := next(t, sub); !slices.Equal(got, lock) {
			t.Fatalf("locking announced %+v; want %+v", got, lock)
		}
		if _, ok, err := st.UnlockManually(ctx, "acme/web", "staging", "mona", false, time.Now()); err != nil || !ok {
			t.Fatalf("unlock: %v %v", ok, err)
		}
		if got, _ := next(t, sub); !slices.Equal(got, lock) {
			t.Fatalf("unlocking announced %+v; want %+v", got, lock)
		}
	})

	t.Run("a rolled-back transaction is not announced", func(t *testing.T) {
		boom := errors.New("boom")
		err := st.InTx(ctx, func(tx *store.Tx) error {
			d.State = store.StateFailure
			if err := tx.UpdateDeployment(ctx, d); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		onlyMarker(t, st, sub)
	})

	t.Run("a closed subscription hears nothing more, others still do", func(t *testing.T) {
		other := subscribe(t, st)
		defer other.Close()
		sub.Close()
		storetest.AddDeployments(t, st, []store.Deployment{{Repo: "acme/api", Environment: "qa", SHA: "def", State: store.StateQueued}})
		if got, _ := next(t, other); len(got) != 1 || got[0].Repo != "acme/api" {
			t.Fatalf("the open subscription heard %+v", got)
		}
		select {
		case <-sub.Ready():
			t.Fatal("a closed subscription was still told of changes")
		default:
		}
	})
}

// A subscriber that does not keep up is never blocked on and never loses
// the fact that it missed something: past its bound it is told to reload.
func TestChangeFeedOverflow(t *testing.T) {
	st := storetest.Open(t)
	sub := subscribe(t, st)
	defer sub.Close()
	var ds []store.Deployment
	for i := range 300 {
		ds = append(ds, store.Deployment{Repo: "acme/web", Environment: "e" + string(rune('a'+i%26)) + string(rune('a'+i/26)), SHA: "abc", State: store.StateQueued})
	}
	probe := subscribe(t, st) // keeps up, so it tells when all 300 were delivered
	defer probe.Close()
	storetest.AddDeployments(t, st, ds)
	seen := map[store.Change]bool{}
	for len(seen) < 300 {
		got, lost := next(t, probe)
		if lost {
			break // sub, which never read, has at least as many pending
		}
		for _, c := range got {
			seen[c] = true
		}
	}
	if got, lost := sub.Take(); !lost || len(got) > 256 {
		t.Fatalf("300 changes reached an unread subscriber as %d changes, overflow %v; want at most 256 and an overflow", len(got), lost)
	}
}

// On PostgreSQL every replica hears every replica's changes: a write
// through one store reaches the other store's subscribers.
func TestChangeFeedAcrossReplicas(t *testing.T) {
	if os.Getenv(storetest.EnvVar) == "" {
		t.Skip("replicas share a PostgreSQL database; SQLite is used by one process")
	}
	ctx := context.Background()
	url := storetest.URL(t)
	var replicas [2]*store.Store
	for i := range replicas {
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		replicas[i] = st
	}
	sub := subscribe(t, replicas[1])
	defer sub.Close()
	d := storetest.AddDeployments(t, replicas[0], []store.Deployment{{Repo: "acme/web", Environment: "production", SHA: "abc", State: store.StateQueued}})[0]
	want := []store.Change{{Repo: "acme/web", Environment: "production", Deployment: d.ID}}
	if got, _ := next(t, sub); !slices.Equal(got, want) {
		t.Fatalf("the other replica heard %+v; want %+v", got, want)
	}
}

// A lost listening connection (a failover, a network cut) is opened again:
// subscribers are told to reload, since what was said meanwhile is lost,
// and later changes are heard again.
func TestChangeFeedSurvivesALostConnection(t *testing.T) {
	if os.Getenv(storetest.EnvVar) == "" {
		t.Skip("SQLite's feed has no connection to lose")
	}
	ctx := context.Background()
	st := storetest.Open(t)
	var reported atomic.Int32
	st.SetFeedErrors(func(error) { reported.Add(1) })
	sub := subscribe(t, st)
	defer sub.Close()
	if n, err := st.DropChangeListener(ctx); err != nil || n != 1 {
		t.Fatalf("dropped %d listeners: %v", n, err)
	}
	if _, lost := next(t, sub); !lost {
		t.Fatal("after the connection was lost, subscribers were not told to reload")
	}
	// Back (after a second's backoff), the feed says so with another
	// reload, and changes are heard again.
	if _, lost := next(t, sub); !lost {
		t.Fatal("the reconnected feed did not tell subscribers to reload")
	}
	d := storetest.AddDeployments(t, st, []store.Deployment{{Repo: "acme/web", Environment: "production", SHA: "abc", State: store.StateQueued}})[0]
	want := []store.Change{{Repo: "acme/web", Environment: "production", Deployment: d.ID}}
	if got, lost := next(t, sub); !slices.Equal(got, want) || lost {
		t.Fatalf("after the reconnect the feed said %+v (reload %v); want %+v", got, lost, want)
	}
	if reported.Load() == 0 {
		t.Error("the lost connection was not reported")
	}
}
