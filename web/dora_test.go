package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// deliveryCells returns the text of the cells of class in the delivery section of env.
func deliveryCells(t *testing.T, body, env, class string) []string {
	t.Helper()
	start := strings.Index(body, `<section class="delivery" data-env="`+env+`">`)
	if start < 0 {
		t.Fatalf("no delivery section for %s", env)
	}
	section := body[start:]
	section = section[:strings.Index(section, "</section>")]
	var out []string
	for _, m := range regexp.MustCompile(`<td class="`+class+`">([^<]*)</td>`).FindAllStringSubmatch(section, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestRepositoryPageShowsDeliveryFigures(t *testing.T) {
	st := storetest.Open(t)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	dep := func(sha, task, state string, ago time.Duration, gh, rollbackOf int64) store.Deployment {
		created := now.Add(-ago)
		return store.Deployment{Repo: "acme/shop", Environment: "production", SHA: sha, Task: task, State: state,
			InstallationID: 1, RequestedBy: "alice", CreatedAt: created, FinishedAt: created.Add(10 * time.Minute),
			GitHubDeploymentID: gh, RollbackOf: rollbackOf}
	}
	storetest.AddDeployments(t, st, []store.Deployment{
		dep("a", "deploy", store.StateSuccess, 60*day, 1, 0),                    // only in 90 days
		dep("b", "deploy", store.StateSuccess, 10*day, 2, 0),                    // rolled back below
		dep("a", "deploy:rollback", store.StateSuccess, 10*day-time.Hour, 3, 2), // restores after 1 h
		dep("c", "deploy", store.StateSuccess, 2*day, 4, 0),
		dep("c", "deploy", store.StateSuccess, 2*day-time.Hour, 5, 0),
	}, store.Step{Name: "execute", State: store.StepDone})
	s, err := New(Config{Store: st, ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "https://d.example",
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	status, body := signedInAs(t, s, "acme/shop")("/acme/shop")
	if status != http.StatusOK {
		t.Fatalf("%d", status)
	}
	for _, tc := range []struct {
		class string
		want  []string // 30 days, 90 days
	}{
		{"per-day", []string{"0.10", "0.04"}},                      // 3 of 30 days, 4 of 90
		{"lead-time", []string{"10 min", "10 min"}},                // c's second deploy counts from its first request
		{"failure-rate", []string{"33% (1 of 3)", "25% (1 of 4)"}}, // b was rolled back
		{"time-to-restore", []string{"1.0 h", "1.0 h"}},
	} {
		t.Run(tc.class, func(t *testing.T) {
			if got := deliveryCells(t, body, "production", tc.class); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s = %q, want %q", tc.class, got, tc.want)
			}
		})
	}
	t.Run("a bar per day with deploys, drawn on the server", func(t *testing.T) {
		if n := strings.Count(body, `<rect `); n != 3 {
			t.Errorf("%d bars, want 3 (days 60, 10 and 2 ago)", n)
		}
		// The page's one script is live.js (live updates), not the chart.
		if strings.Count(body, "<script") != 1 || !strings.Contains(body, `<script src="/static/live.js" defer></script>`) {
			t.Error("the chart comes with a script")
		}
	})
}
