package app

import (
	"strings"
	"testing"

	"github.com/deploybot/deploybot/deploy"
)

// triggersConfig: staging deploys published releases (release policy
// applies), perf is deployed by another system (external executor).
const triggersConfig = `default_environment: staging
environments:
  staging:
    on_release: true
    url: https://staging.shop.example
    executor: { webhook: { url: TARGET/hooks/staging } }
    gates:
      release: { tag_pattern: 'v[0-9]+\.[0-9]+\.[0-9]+' }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/staging, status: 200, interval: 1s }]
  perf:
    executor: { external: { timeout: 1h } }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/perf, status: 200, interval: 1s }]
`

// A maintainer publishes v1.2.0; staging gets a deployment of the tag's
// commit, and the release notes gain a Deployments section with its line.
func TestPublishedReleaseDeploysAndIsArchived(t *testing.T) {
	t.Parallel()
	s := newStory(t, triggersConfig)
	s.Repo.SetPermission("octocat", "maintain")
	sha := s.Repo.Commit("main", map[string]string{"cart.go": "v1.2"}, "cart")
	rel := s.Repo.CreateRelease("v1.2.0", "main", "v1.2.0", "Faster cart.", false, false)

	deps := s.deploymentsFinished(1)
	d := deps[0]
	if d.SHA != sha || d.Environment != "staging" || d.LatestState() != "success" {
		t.Fatalf("deployment = %s %s %v", d.SHA, d.Environment, states(d))
	}
	if p := payloadDeploybot(t, d); p["trigger"] != "release" || p["requested_by"] != "octocat" {
		t.Errorf("payload.deploybot = %v", p)
	}
	if cr := s.checkRun(sha, "deploy/staging: release"); cr.Conclusion != "success" {
		t.Errorf("release gate = %s %q", cr.Conclusion, cr.Output.Title)
	}
	got, _ := s.Sim.Release(SandboxRepoFull, rel)
	contains(t, "release notes", got.Body, "Faster cart.")
	contains(t, "release notes", got.Body, "### Deployments")
	contains(t, "release notes", got.Body, "- **staging**: ✅ `"+sha[:7]+"` live — requested by @octocat")

	// A tag that breaks the policy is blocked by the release gate, and the
	// archive says so; drafts never deploy, nor prereleases here.
	s.Repo.CreateRelease("nightly", "main", "nightly", "n", false, false)
	s.Repo.CreateRelease("v9.9.9", "main", "draft", "d", true, false)
	s.Repo.CreateRelease("v2.0.0-rc1", "main", "rc", "r", false, true) // staging has no on_prerelease
	deps = s.deploymentsFinished(2)
	if len(deps) != 2 || deps[1].LatestState() != "failure" {
		t.Fatalf("policy-breaking release: %d deployments, last %s %v", len(deps), deps[len(deps)-1].Ref, states(deps[len(deps)-1]))
	}
	contains(t, "failure status", deps[1].Statuses[len(deps[1].Statuses)-1].Description, "release")

	// Redeploying the release by command rewrites its line in place.
	s.Repo.SetPermission("walt", "write")
	issue := s.Repo.OpenIssue("walt", "redeploy v1.2.0")
	s.Sim.Comment(SandboxRepoFull, issue, "walt", "/deploy staging v1.2.0")
	s.deploymentsFinished(3)
	got, _ = s.Sim.Release(SandboxRepoFull, rel)
	if n := strings.Count(got.Body, "- **staging**:"); n != 1 {
		t.Errorf("release notes have %d staging lines, want 1 rewritten in place:\n%s", n, got.Body)
	}
	contains(t, "release notes after the redeploy", got.Body, "requested by @walt")
}

// Someone creates a Deployment with the API for staging: deploybot adopts
// it, runs the pipeline and reports statuses on it — exactly one deployment.
func TestForeignDeploymentIsAdopted(t *testing.T) {
	t.Parallel()
	s := newStory(t, triggersConfig)
	s.Repo.SetPermission("olga", "write")
	sha := s.Repo.Head("main")
	id := s.Sim.CreateDeployment(SandboxRepoFull, "olga", "main", "staging", "deploy", nil)
	s.Sim.CreateDeployment(SandboxRepoFull, "olga", "main", "unknown-env", "deploy", nil) // not configured: ignored

	if err := s.Sim.WaitFor(s.ctx, func() bool { return s.Sim.Deployments(SandboxRepoFull)[0].LatestState() == "success" }); err != nil {
		t.Fatalf("adopted deployment never succeeded: %v", summarize(s.Sim.Deployments(SandboxRepoFull)))
	}
	s.settle()
	deps := s.Sim.Deployments(SandboxRepoFull)
	adopted, ignored := deps[0], deps[1]
	if adopted.ID != id || adopted.LatestState() != "success" || adopted.SHA != sha {
		t.Fatalf("adopted deployment = %d %v", adopted.ID, states(adopted))
	}
	if got := strings.Join(states(adopted), ","); !strings.HasPrefix(got, "queued,in_progress") {
		t.Errorf("statuses on the adopted deployment = %s", got)
	}
	if len(ignored.Statuses) != 0 {
		t.Errorf("deploybot touched a deployment of an environment it does not run: %v", states(ignored))
	}
	if s.Target.Live("staging") != sha {
		t.Errorf("staging runs %q, want %s", s.Target.Live("staging"), sha)
	}
}

// perf is deployed by another system: deploybot runs the gates, says
// "ready", and finishes (verification, record) when that system reports
// success on the deployment; a reported failure fails the deployment.
func TestExternalExecutorFinishesOnItsStatus(t *testing.T) {
	t.Parallel()
	s := newStory(t, triggersConfig)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/perf", "walt")
	s.comment(pr, "walt", "/deploy perf")
	d := s.waitForDeployment("in_progress", deploy.ExternalReadyDescription)
	s.settle()
	s.Sim.ResetRequests()
	s.settle()
	if n := len(s.Sim.Requests()); n != 0 {
		t.Errorf("waiting for the external deployer made %d requests", n)
	}

	s.Target.SetLive("perf", sha) // the other system deploys…
	s.Sim.AddDeploymentStatus(d.ID, "perf-deployer", "success", "rolled out by perf-deployer")
	deps := s.deploymentsFinished(1)
	last := deps[0].Statuses[len(deps[0].Statuses)-1]
	if last.State != "success" || last.Creator != s.Sim.BotLogin() {
		t.Fatalf("final status = %s by %s (%v); deploybot verifies and reports success itself", last.State, last.Creator, states(deps[0]))
	}
	contains(t, "record", s.deploybotComments(pr)[0], "is live in **perf**")

	pr2, sha2 := s.openPR("feature/perf-bad", "walt")
	s.comment(pr2, "walt", "/deploy perf")
	d2 := s.waitForDeployment("in_progress", deploy.ExternalReadyDescription)
	s.Sim.AddDeploymentStatus(d2.ID, "perf-deployer", "failure", "pods crashlooping")
	deps = s.deploymentsFinished(2)
	if deps[1].LatestState() != "failure" {
		t.Fatalf("second deployment = %v", states(deps[1]))
	}
	cr := s.checkRun(sha2, "deploy/perf")
	if cr.Conclusion != "failure" || len(cr.Actions) != 1 || cr.Actions[0].Identifier != "rollback" {
		t.Errorf("check run after the external failure = %s, actions %+v", cr.Conclusion, cr.Actions)
	}
	contains(t, "record", strings.Join(s.deploybotComments(pr2), "\n"), "pods crashlooping")
}

// A release published by someone who may not deploy to staging gets a
// deployment the permission gate blocks: permission has no check run of its
// own; the summary, created once and already completed, says why.
func TestReleaseByReaderIsBlockedInTheSummary(t *testing.T) {
	t.Parallel()
	s := newStory(t, triggersConfig)
	s.Repo.SetPermission("octocat", "read")
	sha := s.Repo.Commit("main", map[string]string{"cart.go": "v1.3"}, "cart")
	s.settle()
	s.Sim.ResetRequests()
	s.Repo.CreateRelease("v1.3.0", "main", "v1.3.0", "notes", false, false)

	d := s.deploymentsFinished(1)[0]
	if got := strings.Join(states(d), ","); got != "queued,failure" {
		t.Fatalf("statuses = %s, want queued,failure", got)
	}
	contains(t, "failure status", d.Statuses[1].Description, "permission")
	sum := s.checkRun(sha, "deploy/staging")
	if sum.Status != "completed" || sum.Conclusion != "failure" || sum.Output.Title != "overall_status=BLOCK" {
		t.Errorf("summary = %s/%s %q", sum.Status, sum.Conclusion, sum.Output.Title)
	}
	contains(t, "summary", sum.Output.Summary, "| `permission` | ⛔ BLOCK | @octocat has read")
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		if strings.HasSuffix(cr.Name, ": permission") || strings.HasSuffix(cr.Name, ": lock") {
			t.Errorf("check run %s exists; permission and lock are rows of the summary", cr.Name)
		}
	}
	if w := countWrites(s.Sim.Requests()); w.ops["checks/update"] != 0 {
		t.Errorf("the blocked summary was created and then updated: %s", w)
	}
}
