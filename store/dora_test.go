package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

func TestDoraDeployments(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	dep := func(repo, env, sha, task, state string, created time.Time, gh, rollbackOf int64) store.Deployment {
		return store.Deployment{Repo: repo, Environment: env, SHA: sha, Task: task, State: state, InstallationID: 1,
			CreatedAt: created, FinishedAt: created.Add(time.Minute), GitHubDeploymentID: gh, RollbackOf: rollbackOf}
	}
	// Executed: the execute step ran for all of these.
	storetest.AddDeployments(t, st, []store.Deployment{
		dep("acme/shop", "staging", "a", "deploy", store.StateSuccess, at(100*24*time.Hour), 1, 0), // before the window
		dep("acme/shop", "staging", "b", "deploy", store.StateSuccess, at(5*time.Hour), 2, 0),
		dep("acme/shop", "production", "b", "deploy", store.StateFailure, at(3*time.Hour), 3, 0),
		dep("acme/shop", "production", "a", "deploy:rollback", store.StateSuccess, at(2*time.Hour), 4, 3),
		dep("acme/shop", "production", "b", "dry-run", store.StateSuccess, at(time.Hour), 0, 0),
		dep("acme/shop", "production", "c", "deploy", store.StateRunning, at(time.Hour), 5, 0), // not ended
		dep("acme/other", "staging", "z", "deploy", store.StateSuccess, at(time.Hour), 6, 0),
	}, store.Step{Name: "gates", State: store.StepDone}, store.Step{Name: "execute", State: store.StepDone})
	// Refused by a gate: its execute step never ran.
	storetest.AddDeployments(t, st, []store.Deployment{
		dep("acme/shop", "production", "d", "deploy", store.StateFailure, at(30*time.Minute), 7, 0),
	}, store.Step{Name: "gates", State: store.StepFailed}, store.Step{Name: "execute", State: store.StepSkipped})

	rows, err := st.DoraDeployments(ctx, "acme/shop", at(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		env, sha, task, state string
		firstSeen             time.Time
		changed               bool
		rollbackOf            int64
	}
	want := []row{
		{"production", "b", "deploy", store.StateFailure, at(5 * time.Hour), true, 0},
		{"production", "a", "deploy:rollback", store.StateSuccess, at(100 * 24 * time.Hour), true, 3},
		{"production", "d", "deploy", store.StateFailure, at(30 * time.Minute), false, 0},
		{"staging", "b", "deploy", store.StateSuccess, at(5 * time.Hour), true, 0},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		t.Run(w.env+" "+w.sha, func(t *testing.T) {
			r := rows[i]
			got := row{r.Environment, r.SHA, r.Task, r.State, r.FirstSeen, r.Changed, r.RollbackOf}
			if got != w {
				t.Errorf("row %d: %+v, want %+v", i, got, w)
			}
		})
	}
	t.Run("every repository", func(t *testing.T) {
		all, err := st.DoraDeployments(ctx, "", at(30*24*time.Hour))
		if err != nil || len(all) != 5 || all[0].Repo != "acme/other" {
			t.Fatalf("%d rows %v", len(all), err)
		}
	})
}
