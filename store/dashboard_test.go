package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

func TestDashboardAndHistory(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	now := time.Now()
	dep := func(repo, env, state, by string) store.Deployment {
		return store.Deployment{Repo: repo, Environment: env, State: state, RequestedBy: by, SHA: by + "-sha", InstallationID: 1}
	}
	storetest.AddDeployments(t, st, []store.Deployment{
		dep("acme/shop", "staging", store.StateSuccess, "alice"),
		dep("acme/shop", "staging", store.StateFailure, "bob"),
		dep("acme/shop", "staging", store.StateSuccess, "carol"), // live
		dep("acme/shop", "staging", store.StateRunning, "dave"),  // in flight
		dep("acme/shop", "staging", store.StateQueued, "erin"),   // queued behind it
		dep("acme/shop", "production", store.StateError, "frank"),
		dep("acme/other", "staging", store.StateSuccess, "gina"), // not asked for
	}, store.Step{Name: "gates"}, store.Step{Name: "deploy"})
	if _, err := st.LockManually(ctx, store.ManualLock{Repo: "acme/shop", Environment: "production", Owner: "alice", Reason: "freeze"}, now); err != nil {
		t.Fatal(err)
	}
	cells, err := st.Dashboard(ctx, []string{"acme/shop"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 2 {
		t.Fatalf("%d cells, want production and staging of acme/shop", len(cells))
	}
	prod, staging := cells[0], cells[1]
	t.Run("staging", func(t *testing.T) {
		if staging.Live == nil || staging.Live.RequestedBy != "carol" {
			t.Errorf("live %+v", staging.Live)
		}
		if staging.LastFailure == nil || staging.LastFailure.RequestedBy != "bob" {
			t.Errorf("last failure %+v", staging.LastFailure)
		}
		if len(staging.InFlight) != 2 || staging.InFlight[0].RequestedBy != "dave" || staging.InFlight[0].StepName != "gates" {
			t.Errorf("in flight %+v", staging.InFlight)
		}
	})
	t.Run("production", func(t *testing.T) {
		if prod.Live != nil || prod.LastFailure == nil || prod.Lock == nil || prod.Lock.Reason != "freeze" {
			t.Errorf("production %+v", prod)
		}
	})
	t.Run("history pages and filters", func(t *testing.T) {
		page, err := st.History(ctx, "acme/shop", store.HistoryFilter{Limit: 2})
		if err != nil || len(page) != 2 || page[0].RequestedBy != "frank" {
			t.Fatalf("first page %v %v", page, err)
		}
		next, err := st.History(ctx, "acme/shop", store.HistoryFilter{Limit: 10, Before: page[1].ID})
		if err != nil || len(next) != 4 {
			t.Fatalf("next page %d %v", len(next), err)
		}
		ok, err := st.History(ctx, "acme/shop", store.HistoryFilter{Environment: "staging", State: store.StateSuccess})
		if err != nil || len(ok) != 2 {
			t.Fatalf("filtered %d %v", len(ok), err)
		}
		envs, err := st.Environments(ctx, "acme/shop")
		if err != nil || len(envs) != 2 {
			t.Fatalf("environments %v %v", envs, err)
		}
	})
}

// A canary in flight shows its weight and what its step says; the live
// deployment shows its monitoring window while it watches.
func TestDashboardRolloutAndMonitor(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	now := time.Now()
	live := storetest.AddDeployments(t, st, []store.Deployment{{Repo: "acme/shop", Environment: "production", State: store.StateSuccess, SHA: "live", InstallationID: 1}})[0]
	next := storetest.AddDeployments(t, st, []store.Deployment{{Repo: "acme/shop", Environment: "production", State: store.StateWaiting, SHA: "next", InstallationID: 1}},
		store.Step{Name: "pause", Spec: `{"weight":50,"manual":true}`})[0]
	storetest.SetStep(t, st, next.ID, 0, store.StateWaiting, "Canary at 50 %: paused for Promote")
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.StartMonitor(ctx, store.Monitor{DeploymentID: live.ID, Repo: "acme/shop", Environment: "production", StartedAt: now, EndsAt: now.Add(30 * time.Minute)})
	}); err != nil {
		t.Fatal(err)
	}
	cells, err := st.Dashboard(ctx, []string{"acme/shop"}, now)
	if err != nil || len(cells) != 1 {
		t.Fatalf("%v %v", cells, err)
	}
	c := cells[0]
	if len(c.InFlight) != 1 || c.InFlight[0].Weight == nil || *c.InFlight[0].Weight != 50 || c.InFlight[0].StepDetail != "Canary at 50 %: paused for Promote" {
		t.Errorf("in flight %+v", c.InFlight)
	}
	if c.Monitor == nil || c.Monitor.DeploymentID != live.ID || !c.Monitor.EndsAt.Equal(now.Add(30*time.Minute).Truncate(time.Millisecond)) {
		t.Errorf("monitor %+v", c.Monitor)
	}
}
