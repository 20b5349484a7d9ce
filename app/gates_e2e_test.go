package app

import (
	"strconv"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/internal/githubsim"
)

// gatedConfig is the sandbox config with CI and security gates on staging.
const gatedConfig = `default_environment: staging
environments:
  staging:
    url: https://staging.shop.example
    executor: { webhook: { url: TARGET/hooks/staging } }
    gates:
      checks: { wait: 20m, ignore: ["optional/*"] }
      security: { block_on: high }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/staging, status: 200, interval: 1s }]
`

// waitForDeployment waits until the single deployment's latest status is state.
func (s *story) waitForDeployment(state, descContains string) githubsim.Deployment {
	s.t.Helper()
	var d githubsim.Deployment
	err := s.Sim.WaitFor(s.ctx, func() bool {
		ds := s.Sim.Deployments(SandboxRepoFull)
		if len(ds) == 0 || len(ds[len(ds)-1].Statuses) == 0 {
			return false
		}
		d = ds[len(ds)-1]
		last := d.Statuses[len(d.Statuses)-1]
		return last.State == state && strings.Contains(last.Description, descContains)
	})
	if err != nil {
		s.t.Fatalf("waiting for a %s status mentioning %q: %v (statuses %v)", state, descContains, err, states(d))
	}
	return d
}

// A writer comments /deploy staging while CI is still running; the
// deployment waits (queued, "waiting for ci/test") without a single request
// to GitHub; CI goes green; staging is live.
func TestDeployWaitsForPendingCIThenProceeds(t *testing.T) {
	t.Parallel()
	s := newStory(t, gatedConfig)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/cart", "walt")
	ci := s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	s.Repo.AddCheckRun(sha, "optional/lint", "in_progress", "") // ignored by config
	s.comment(pr, "walt", "/deploy staging")

	d := s.waitForDeployment("queued", "Waiting for ci/test")
	s.settle()
	if got := s.checkRun(sha, "deploy/staging: checks"); got.Status != "in_progress" || !strings.Contains(got.Output.Title, "ci/test") {
		t.Errorf("checks gate run = %s %q, want in_progress naming ci/test", got.Status, got.Output.Title)
	}
	if got := s.checkRun(sha, "deploy/staging: security"); got.Conclusion != "success" {
		t.Errorf("security gate run = %s/%s %q", got.Status, got.Conclusion, got.Output.Title)
	}
	if got := s.checkRun(sha, "deploy/staging"); got.Status != "in_progress" || !strings.Contains(got.Output.Title, "waiting for ci/test") {
		t.Errorf("summary run = %s %q", got.Status, got.Output.Title)
	}

	// Waiting is event driven: nothing runs and nothing is asked of GitHub
	// until CI reports. The only job left is the durable 20m timeout.
	s.Sim.ResetRequests()
	s.settle()
	if n := len(s.Sim.Requests()); n != 0 {
		t.Errorf("a waiting deployment made %d requests: %v", n, s.Sim.Requests())
	}
	if n, err := s.App.Store.ScheduledJobs(s.ctx, deploy.WakeArgs{}.Kind()); err != nil || n != 1 {
		t.Errorf("scheduled timeout timers = %d (%v), want 1", n, err)
	}
	if calls, _ := s.Target.Calls(); len(calls) != 0 {
		t.Fatalf("deployed while CI was pending: %+v", calls)
	}

	s.Sim.CompleteCheckRun(ci, "success") // emulator sends check_run and check_suite completed
	deps := s.deploymentsFinished(1)
	if got := deps[0]; got.ID != d.ID || got.LatestState() != "success" {
		t.Fatalf("deployment = %d %v, want %d to succeed", got.ID, states(got), d.ID)
	}
	if s.Target.Live("staging") != sha {
		t.Errorf("staging runs %s, want %s", s.Target.Live("staging"), sha)
	}
	if got := s.checkRun(sha, "deploy/staging: checks"); got.Conclusion != "success" {
		t.Errorf("checks gate run = %s/%s %q after CI passed", got.Status, got.Conclusion, got.Output.Title)
	}
	sum := s.checkRun(sha, "deploy/staging")
	if sum.Conclusion != "success" || sum.Output.Title != "overall_status=PASS" {
		t.Errorf("summary = %s %q", sum.Conclusion, sum.Output.Title)
	}
	contains(t, "summary", sum.Output.Summary, "| `checks` | ✅ PASS |")
	contains(t, "record", s.deploybotComments(pr)[0], "is live in **staging**")
}

// A critical code-scanning alert blocks the deploy: the security gate's
// check run lists it, the summary says BLOCK, the status names the gate, and
// nothing is deployed.
func TestCriticalCodeScanningAlertBlocksDeploy(t *testing.T) {
	t.Parallel()
	s := newStory(t, gatedConfig)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/sql", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "completed", "success")
	alert := s.Repo.AddCodeScanningAlert("critical", "go/sql-injection", "Database query built from user-controlled sources")
	s.settle() // the config push's deploy/config check is not part of the deploy
	s.Sim.ResetRequests()
	s.comment(pr, "walt", "/deploy staging")

	d := s.deploymentsFinished(1)[0]
	if d.LatestState() != "failure" {
		t.Fatalf("statuses = %v, want failure", states(d))
	}
	last := d.Statuses[len(d.Statuses)-1]
	contains(t, "failure status", last.Description, "security")
	sec := s.checkRun(sha, "deploy/staging: security")
	if sec.Conclusion != "failure" {
		t.Errorf("security gate = %s %q", sec.Conclusion, sec.Output.Title)
	}
	contains(t, "security gate summary", sec.Output.Summary, "go/sql-injection")
	contains(t, "security gate summary", sec.Output.Summary, "#"+strconv.Itoa(alert))
	sum := s.checkRun(sha, "deploy/staging")
	if sum.Conclusion != "failure" || sum.Output.Title != "overall_status=BLOCK" {
		t.Errorf("summary = %s %q", sum.Conclusion, sum.Output.Title)
	}
	if len(sum.Actions) != 0 {
		t.Errorf("a blocked deployment (nothing changed) offers %v", sum.Actions)
	}
	// The verdict is known when the summary is first written: it is created
	// completed, and no check run is created and then completed.
	if got := strings.Join(states(d), ","); got != "queued,failure" {
		t.Errorf("statuses = %s, want queued,failure", got)
	}
	if w := countWrites(s.Sim.Requests()); w.ops["checks/update"] != 0 || w.ops["checks/create"] != 3 || w.ops["issues/update-comment"] != 1 {
		t.Errorf("writes = %s; want checks, security and the summary each created once, completed, and the record edited once", w)
	}
	if calls, _ := s.Target.Calls(); len(calls) != 0 {
		t.Errorf("a blocked deployment called the executor: %+v", calls)
	}
	record := s.deploybotComments(pr)[0]
	contains(t, "record", record, "blocked by security")
	contains(t, "record", record, "| `security` | ⛔ BLOCK |")
}

// A dry run runs every gate, posts their check runs and a reply with the
// table, and creates no deployment.
func TestDryRunReportsEveryGate(t *testing.T) {
	t.Parallel()
	s := newStory(t, gatedConfig)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/try", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	s.comment(pr, "walt", "/deploy staging --dry-run")
	s.Sim.WaitFor(s.ctx, func() bool {
		return len(s.deploybotComments(pr)) == 1 && strings.Contains(s.deploybotComments(pr)[0], "Dry run")
	})
	s.settle()

	if ds := s.Sim.Deployments(SandboxRepoFull); len(ds) != 0 {
		t.Fatalf("a dry run created %d deployments", len(ds))
	}
	summary := s.checkRun(sha, "deploy/staging").Output.Summary
	for _, row := range []string{"| `permission` | ✅ PASS |", "| `lock` | ✅ PASS |"} {
		contains(t, "dry-run summary check run", summary, row) // no check runs of their own
	}
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		if strings.HasSuffix(cr.Name, ": permission") || strings.HasSuffix(cr.Name, ": lock") {
			t.Errorf("check run %s: permission and lock are rows of the summary only", cr.Name)
		}
	}
	for _, gate := range []string{"checks", "security"} {
		cr := s.checkRun(sha, "deploy/staging: "+gate)
		if gate == "checks" && (cr.Conclusion != "neutral" || !strings.Contains(cr.Output.Title, "would wait")) {
			t.Errorf("dry-run checks gate = %s/%s %q, want neutral \"would wait\" (CI pending; nothing stays in progress)", cr.Status, cr.Conclusion, cr.Output.Title)
		}
	}
	reply := s.deploybotComments(pr)[0]
	for _, want := range []string{"| `checks` | ⏳ WAIT |", "| `security` | ✅ PASS |", "| `permission` | ✅ PASS |", "nothing was deployed"} {
		contains(t, "dry-run reply", reply, want)
	}
	if calls, _ := s.Target.Calls(); len(calls) != 0 {
		t.Errorf("a dry run called the executor: %+v", calls)
	}
}

// The PR's head moves while its deployment waits for CI: the deployment is
// cancelled with a reply, nothing is deployed, and staging is free again.
func TestPushToPRCancelsWaitingDeployment(t *testing.T) {
	t.Parallel()
	s := newStory(t, gatedConfig)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/moving", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	s.comment(pr, "walt", "/deploy staging")
	s.waitForDeployment("queued", "Waiting for ci/test")
	// The queued status goes out before the gates step parks; the push
	// comes once it waits. (A push while the step still evaluates is missed
	// today: store.CancelStale does not bump a running deployment's wake
	// counter as Wake does, so the step parks until its 20m timer. Seen
	// under load; reported.)
	s.settle()

	newHead := s.Repo.Commit("feature/moving", map[string]string{"fix.txt": "fix"}, "fix") // pull_request synchronize
	d := s.deploymentsFinished(1)[0]
	if d.LatestState() != "failure" || d.SHA != sha {
		t.Fatalf("deployment = %s %v, want the old head's deployment to fail", d.SHA, states(d))
	}
	contains(t, "failure status", d.Statuses[len(d.Statuses)-1].Description, "cancelled")
	var reply string
	for _, c := range s.deploybotComments(pr) {
		if strings.Contains(c, "was cancelled") {
			reply = c
		}
	}
	contains(t, "reply", reply, "@walt")
	contains(t, "reply", reply, newHead[:7])
	if cr := s.checkRun(sha, "deploy/staging: checks"); cr.Status != "completed" || cr.Conclusion != "cancelled" {
		t.Errorf("the waiting gate's check run = %s/%s, want completed/cancelled", cr.Status, cr.Conclusion)
	}
	if calls, _ := s.Target.Calls(); len(calls) != 0 {
		t.Errorf("a cancelled deployment called the executor: %+v", calls)
	}

	// The lock was released: the new head deploys once its CI passes.
	s.Repo.AddCheckRun(newHead, "ci/test", "completed", "success")
	s.comment(pr, "walt", "/deploy staging")
	deps := s.deploymentsFinished(2)
	if deps[1].SHA != newHead || deps[1].LatestState() != "success" {
		t.Errorf("redeploy = %s %v", deps[1].SHA, states(deps[1]))
	}
}

// Pending CI that never finishes times out through the durable timer.
func TestPendingCITimesOut(t *testing.T) {
	t.Parallel()
	s := newStory(t, strings.Replace(gatedConfig, "wait: 20m", "wait: 1s", 1))
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/slow", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	s.comment(pr, "walt", "/deploy staging")

	d := s.waitForDeployment("failure", "timed out")
	contains(t, "failure status", d.Statuses[len(d.Statuses)-1].Description, "ci/test")
	if got := s.checkRun(sha, "deploy/staging: checks"); got.Conclusion != "failure" {
		t.Errorf("checks gate = %s/%s", got.Status, got.Conclusion)
	}
}
