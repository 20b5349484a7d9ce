package app

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deploybot/deploybot/internal/loopback"
)

// The analysis rules, each as a short story against a JSON endpoint (the
// web provider) that answers a scripted value per measurement: a number,
// "null" (no data) or "500" (an error).
func TestAnalysisRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, options, query string
		answers              []string
		wantState, wantText  string
	}{
		{"every measurement within max passes", "", "max: 0.05", []string{"0.01", "0.02", "0.01"}, "success", "3 measurements of 1 metrics, all within bounds"},
		{"the first breach fails by default", "", "max: 0.05", []string{"0.01", "0.2", "0.01"}, "failure", "metric errors = 0.2 breached ≤ 0.05"},
		{"failure_limit 2 tolerates one breach", "failure_limit: 2", "max: 0.05", []string{"0.2", "0.01", "0.01"}, "success", "all within bounds"},
		{"a dry-run metric is recorded, never fails", "", "max: 0.05, dry_run: true", []string{"0.9", "0.9", "0.9"}, "success", "⚠️ breached (dry run: not counted)"},
		{"no data fails by default", "", "max: 0.05", []string{"null", "0.01", "0.01"}, "failure", "metric errors = no data breached data expected"},
		{"on_no_data: pass", "on_no_data: pass", "max: 0.05", []string{"null", "0.01", "null"}, "success", "no data"},
		{"consecutive_error_limit", "consecutive_error_limit: 2", "max: 0.05", []string{"500", "500", "0.01"}, "failure", "2 query errors in a row (query failed)"},
		{"errors that recover do not count", "consecutive_error_limit: 2", "max: 0.05", []string{"500", "0.01", "500"}, "success", "query failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			api, err := loopback.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(calls.Add(1)) - 1
				answer := tc.answers[min(i, len(tc.answers)-1)]
				if answer == "500" {
					http.Error(w, "down", http.StatusInternalServerError)
					return
				}
				fmt.Fprintf(w, `{"data":{"error_rate":%s}}`, answer)
			}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(api.Close)
			s := newStory(t, fmt.Sprintf(`environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    verify:
      metrics:
        interval: 1s
        count: 3
        %s
        queries:
          - { name: errors, web: { url: %s/rate, json_path: data.error_rate }, %s }
`, tc.options, api.URL, tc.query))
			s.Repo.SetPermission("walt", "write")
			pr, _ := s.openPR("feature/x", "walt")
			s.comment(pr, "walt", "/deploy staging")
			d := s.deploymentsFinished(1)[0]
			record := s.deploybotComments(pr)[0]
			if d.LatestState() != tc.wantState {
				t.Fatalf("deployment ended %s, want %s:\n%s", d.LatestState(), tc.wantState, record)
			}
			if !strings.Contains(record, tc.wantText) && !strings.Contains(d.Statuses[len(d.Statuses)-1].Description, tc.wantText) {
				t.Errorf("neither the record nor the status says %q:\n%s", tc.wantText, record)
			}
		})
	}
}

// During a canary's pause the analysis keeps measuring: when the error rate
// climbs while 10 % of the traffic is on the new version, the canary aborts
// by itself, before anyone presses Promote.
func TestCanaryAnalysisRunsThroughThePause(t *testing.T) {
	t.Parallel()
	var rate atomic.Value
	rate.Store("0.001")
	api, err := loopback.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":{"error_rate":%s}}`, rate.Load().(string))
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { canary: { steps: [{ weight: 10, pause: manual }, { weight: 100 }] } }
    verify:
      metrics:
        interval: 1s
        queries: [{ name: errors, web: { url: `+api.URL+`/rate, json_path: data.error_rate }, max: 0.01 }]
`)
	s.Repo.SetPermission("maya", "write")
	pr, _ := s.openPR("feature/x", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.paused()
	rate.Store("0.2")
	d := s.deploymentsFinished(1)[0]
	last := d.Statuses[len(d.Statuses)-1]
	if last.State != "failure" || !strings.Contains(last.Description, "analysis during the pause at 10 %: metric errors = 0.2 breached ≤ 0.01") {
		t.Errorf("final status = %s %q", last.State, last.Description)
	}
	if got := calls(s.Target); got != "deploy@10,abort@0" {
		t.Errorf("calls = %s", got)
	}
}

// on_no_data: pause — the metric answers nothing: the analysis is
// inconclusive and waits; `/promote` accepts the missing data and the
// deployment goes on.
func TestAnalysisWithoutDataWaitsForPromote(t *testing.T) {
	t.Parallel()
	api, err := loopback.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":{}}`)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	s := newStory(t, `environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    verify:
      metrics:
        count: 1
        on_no_data: pause
        queries: [{ name: errors, web: { url: `+api.URL+`/rate, json_path: data.error_rate }, max: 0.05 }]
`)
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	s.comment(pr, "walt", "/deploy staging")
	err = s.Sim.WaitFor(s.ctx, func() bool {
		c := s.deploybotComments(pr)
		return len(c) > 0 && strings.Contains(c[0], "no data, waiting for Promote or Abort")
	})
	if err != nil {
		t.Fatalf("the analysis never waited: %v", err)
	}
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 1 || s.Sim.Deployments(SandboxRepoFull)[0].LatestState() != "in_progress" {
		t.Fatalf("deployment while inconclusive: %v", summarize(s.Sim.Deployments(SandboxRepoFull)))
	}
	s.comment(pr, "walt", "/promote staging")
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" {
		t.Errorf("after Promote the deployment ended %s", d.LatestState())
	}
}
