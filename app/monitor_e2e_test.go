package app

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/store/storetest"
)

// monitorEnded waits until deploy/<env> on sha is completed and every job settled.
func (s *story) monitorEnded(sha, env string) githubsim.CheckRun {
	s.t.Helper()
	err := s.Sim.WaitFor(s.ctx, func() bool {
		for _, c := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
			if c.Name == "deploy/"+env && c.Status == "completed" {
				return true
			}
		}
		return false
	})
	if err != nil {
		s.t.Fatalf("the monitoring window of %s never ended: %v", short(sha), err)
	}
	s.settle()
	return s.checkRun(sha, "deploy/"+env)
}

// A quiet 20-minute window: deploybot's clock moves five minutes at every
// health probe, so four looks cover it (River moves timers due to run every
// few seconds, so real minutes would make a slow test). The check run says "monitoring"
// while it lasts and completes at the end; the window costs at most five
// GitHub writes.
func TestQuietMonitoringWindowIsCheap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		window, step time.Duration
		budget       int
	}{{20 * time.Minute, 5 * time.Minute, 5}, {60 * time.Minute, 10 * time.Minute, 10}} {
		t.Run(humanMinutes(tc.window), func(t *testing.T) {
			t.Parallel()
			if tc.window > 20*time.Minute && os.Getenv(storetest.EnvVar) != "" {
				t.Skip("a count that does not depend on the database: measured on SQLite only, to keep CI short")
			}
			quietWindow(t, tc.window, tc.step, tc.budget)
		})
	}
}

func humanMinutes(d time.Duration) string { return fmt.Sprintf("%dm", int(d.Minutes())) }

// windowText is a window as deploybot writes it (20m, 1h).
func windowText(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return humanMinutes(d)
}

// quietWindow runs a window of length window, deploybot's clock moving
// step at each look, and holds its writes to budget.
func quietWindow(t *testing.T, window, step time.Duration, budget int) {
	clk := &clock{}
	s := newStoryAt(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    monitor: { duration: `+humanMinutes(window)+`, interval: 1s }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/production, status: 200, interval: 1s }]
`, clk.Now)
	s.Repo.SetPermission("maya", "write")
	pr, sha := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy production")
	d := s.deploymentsFinished(1)[0]
	if d.LatestState() != "success" {
		t.Fatalf("deployment ended %s", d.LatestState())
	}
	cr := s.checkRun(sha, "deploy/production")
	if cr.Status != "in_progress" || !strings.HasPrefix(cr.Output.Title, "overall_status=PASS · monitoring 0 of "+windowText(window)) {
		t.Fatalf("check run during the window: %s %q", cr.Status, cr.Output.Title)
	}
	before := countWrites(s.Sim.Requests()).total

	stop := make(chan struct{})
	defer close(stop)
	go func() { // step passes at every look
		for {
			_, probed := s.Target.Probes()
			select {
			case <-probed:
				clk.Advance(step)
			case <-stop:
				return
			}
		}
	}()
	cr = s.monitorEnded(sha, "production")
	if cr.Conclusion != "success" || cr.Output.Title != "overall_status=PASS · monitored "+windowText(window)+", all normal" || len(cr.Actions) != 0 {
		t.Errorf("check run after the window: %s %q %v", cr.Conclusion, cr.Output.Title, actionIDs(cr))
	}
	w := countWrites(s.Sim.Requests())
	t.Logf("quiet %s window: %d writes (%s)", window, w.total-before, w)
	if n := w.total - before; n > budget {
		t.Errorf("the quiet window made %d writes, budget %d", n, budget)
	}
	contains(t, "the record", s.deploybotComments(pr)[0], "monitoring passed: "+windowText(window)+", all normal")
	if last := s.Sim.Deployments(SandboxRepoFull)[0].LatestState(); last != "success" {
		t.Errorf("deployment status after a quiet window = %s", last)
	}
}

// Users report trouble: an issue labelled `incident` by someone with
// triage during the window is a breach; the deployment gets a failure
// status and rolls back by itself. A reader's label changes nothing, and a
// newer deployment ends the older window.
func TestIssueLabelledIncidentDuringTheWindowRollsBack(t *testing.T) {
	t.Parallel()
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    monitor: { duration: 30m, interval: 1s, on_failure: rollback, issues: { labels: [incident] } }
`)
	s.Repo.SetPermission("maya", "write")
	s.Repo.SetPermission("tom", "triage")
	s.Repo.SetPermission("rita", "read")
	pr, v1 := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.deploymentsFinished(1)
	s.Repo.Commit("feature/one", map[string]string{"two.txt": "2"}, "second change")
	v2 := s.Repo.Head("feature/one")
	s.comment(pr, "maya", "/deploy production")
	s.deploymentsFinished(2)
	if cr := s.monitorEnded(v1, "production"); cr.Output.Title != "overall_status=PASS · monitoring ended: superseded by #2" {
		t.Errorf("the older window ended %q", cr.Output.Title)
	}

	s.Repo.ReportIssue("rita", "checkout is slow", "incident")
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 2 {
		t.Fatalf("a reader's issue changed something: %d deployments", n)
	}

	issue := s.Repo.ReportIssue("someone", "payments fail")
	s.Repo.LabelIssue(issue, "tom", "incident")
	deps := s.deploymentsFinished(3)
	breached := deps[1]
	last := breached.Statuses[len(breached.Statuses)-1]
	if last.State != "failure" || !strings.Contains(last.Description, "labelled incident by @tom") {
		t.Errorf("the breached deployment's status = %s %q", last.State, last.Description)
	}
	if cr := s.checkRun(v2, "deploy/production"); cr.Conclusion != "failure" {
		t.Errorf("the breached check run concluded %s", cr.Conclusion)
	}
	rb := deps[2]
	if rb.Task != "deploy:rollback" || rb.SHA != v1 || rb.LatestState() != "success" {
		t.Errorf("automatic rollback = %s of %s: %s", rb.Task, short(rb.SHA), rb.LatestState())
	}
	if p := payloadDeploybot(t, rb); p["trigger"] != "automatic" {
		t.Errorf("rollback trigger = %v", p["trigger"])
	}
	contains(t, "the rollback's record", s.deploybotComments(pr)[2], "monitor breach: issue #")
}

// The health check fails during the window with on_failure: notify: the
// deployment gets a failure status and the deployer one reply; the
// decision is theirs (the Rollback button).
func TestHealthBreachDuringTheWindowNotifies(t *testing.T) {
	t.Parallel()
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    monitor: { duration: 30m, interval: 1s, on_failure: notify }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/production, status: 200, interval: 1s }]
`)
	s.Repo.SetPermission("maya", "write")
	pr, v1 := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.deploymentsFinished(1)
	s.Repo.Commit("feature/one", map[string]string{"two.txt": "2"}, "memory leak")
	v2 := s.Repo.Head("feature/one")
	s.comment(pr, "maya", "/deploy production")
	s.deploymentsFinished(2)
	s.monitorEnded(v1, "production")

	s.Target.MarkUnhealthy(v2)
	cr := s.monitorEnded(v2, "production")
	if cr.Conclusion != "failure" || actionIDs(cr) != "rollback" {
		t.Errorf("check run = %s with %q, want failure with the Rollback button", cr.Conclusion, actionIDs(cr))
	}
	d := s.Sim.Deployments(SandboxRepoFull)[1]
	if last := d.Statuses[len(d.Statuses)-1]; last.State != "failure" || !strings.Contains(last.Description, "health check") {
		t.Errorf("status = %s %q", last.State, last.Description)
	}
	comments := s.deploybotComments(pr)
	contains(t, "the reply", comments[len(comments)-1], "@maya the monitoring window")
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 2 {
		t.Errorf("%d deployments: notify must not roll back by itself", n)
	}
}
