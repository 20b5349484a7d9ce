package dora

import (
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
)

var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// dep is a deployment of acme/shop that ended ago before now, first asked
// for lead before it ended.
func dep(env, task, state string, ago, lead time.Duration, gh, rollbackOf int64, changed bool) *store.DoraDeployment {
	end := now.Add(-ago)
	return &store.DoraDeployment{Repo: "acme/shop", Environment: env, Task: task, State: state, GitHubDeploymentID: gh,
		RollbackOf: rollbackOf, FinishedAt: end, FirstSeen: end.Add(-lead), Changed: changed}
}

func ok(ago, lead time.Duration, gh int64) *store.DoraDeployment {
	return dep("production", "deploy", store.StateSuccess, ago, lead, gh, 0, true)
}

func failed(ago time.Duration, changed bool) *store.DoraDeployment {
	return dep("production", "deploy", store.StateFailure, ago, time.Hour, 0, 0, changed)
}

func rollback(ago time.Duration, of int64) *store.DoraDeployment {
	return dep("production", "deploy:rollback", store.StateSuccess, ago, 30*Day, 0, of, true)
}

func TestFigures(t *testing.T) {
	h := time.Hour
	for _, tc := range []struct {
		name                        string
		rows                        []*store.DoraDeployment
		days                        int
		deploys, successes, fails   int
		perDay, rate                float64
		lead, restore               time.Duration
		leadSamples, restoreSamples int
	}{
		{name: "nothing", days: 30},
		{name: "three successes: median lead time", days: 30,
			rows:    []*store.DoraDeployment{ok(72*h, h, 1), ok(48*h, 3*h, 2), ok(24*h, 2*h, 3)},
			deploys: 3, successes: 3, perDay: 0.1, lead: 2 * h, leadSamples: 3},
		{name: "even number of lead samples: mean of the middle two", days: 1,
			rows:    []*store.DoraDeployment{ok(3*h, h, 1), ok(2*h, 2*h, 2)},
			deploys: 2, successes: 2, perDay: 2, lead: 90 * time.Minute, leadSamples: 2},
		{name: "a failure then a fix: one restore", days: 30,
			rows:    []*store.DoraDeployment{ok(10*h, h, 1), failed(8*h, true), failed(7*h, true), ok(5*h, h, 2)},
			deploys: 4, successes: 2, fails: 2, perDay: 2.0 / 30, rate: 0.5, lead: h, leadSamples: 2, restore: 3 * h, restoreSamples: 1},
		{name: "a gate refusal is no deployment and breaks nothing", days: 30,
			rows:    []*store.DoraDeployment{ok(10*h, h, 1), failed(8*h, false), ok(5*h, h, 2)},
			deploys: 2, successes: 2, perDay: 2.0 / 30, lead: h, leadSamples: 2},
		{name: "a rolled-back success is a change failure the rollback restores; the rollback is not a deploy", days: 30,
			rows:    []*store.DoraDeployment{ok(10*h, h, 1), ok(6*h, h, 2), rollback(5*h, 2)},
			deploys: 2, successes: 2, fails: 1, perDay: 2.0 / 30, rate: 0.5, lead: h, leadSamples: 2, restore: h, restoreSamples: 1},
		{name: "a failure not yet restored has no restore time", days: 30,
			rows:    []*store.DoraDeployment{ok(10*h, h, 1), failed(h, true)},
			deploys: 2, successes: 1, fails: 1, perDay: 1.0 / 30, rate: 0.5, lead: h, leadSamples: 1},
		{name: "deployments before the window do not count", days: 1,
			rows:    []*store.DoraDeployment{failed(30*h, true), ok(2*h, h, 1)},
			deploys: 1, successes: 1, perDay: 1, lead: h, leadSamples: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ByEnvironment(tc.rows, now, tc.days)
			var f Figures
			if len(got) > 0 {
				f = got[0].Figures
			}
			if f.Deploys != tc.deploys || f.Successes != tc.successes || f.Failures != tc.fails {
				t.Errorf("deploys %d successes %d failures %d, want %d %d %d", f.Deploys, f.Successes, f.Failures, tc.deploys, tc.successes, tc.fails)
			}
			if f.PerDay != tc.perDay || f.FailureRate != tc.rate {
				t.Errorf("per day %v rate %v, want %v %v", f.PerDay, f.FailureRate, tc.perDay, tc.rate)
			}
			if f.LeadTime != tc.lead || f.LeadSamples != tc.leadSamples {
				t.Errorf("lead time %v (%d), want %v (%d)", f.LeadTime, f.LeadSamples, tc.lead, tc.leadSamples)
			}
			if f.TimeToRestore != tc.restore || f.Restores != tc.restoreSamples {
				t.Errorf("time to restore %v (%d), want %v (%d)", f.TimeToRestore, f.Restores, tc.restore, tc.restoreSamples)
			}
		})
	}
}

func TestByEnvironmentSplitsAndBuckets(t *testing.T) {
	rows := []*store.DoraDeployment{
		ok(50*time.Hour, time.Hour, 1), ok(49*time.Hour, time.Hour, 2), ok(time.Hour, time.Hour, 3),
		dep("staging", "deploy", store.StateSuccess, time.Hour, time.Hour, 4, 0, true),
	}
	got := ByEnvironment(rows, now, 3)
	if len(got) != 2 || got[0].Environment != "production" || got[1].Environment != "staging" {
		t.Fatalf("%+v", got)
	}
	for i, want := range []int{2, 0, 1} {
		if got[0].Daily[i] != want {
			t.Errorf("production day %d: %d deploys, want %d (%v)", i, got[0].Daily[i], want, got[0].Daily)
		}
	}
}
