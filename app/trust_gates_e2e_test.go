package app

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// trustConfig has a production environment writers may deploy to, gated on
// CI and one review; staging has no gates configured at all.
const trustConfig = `default_environment: staging
environments:
  staging:
    url: https://staging.shop.example
    executor: { webhook: { url: TARGET/hooks/staging } }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/staging, status: 200, interval: 1s }]
  production:
    production: true
    permission: write
    url: https://shop.example
    executor: { webhook: { url: TARGET/hooks/production } }
    gates:
      checks: { wait: 20m }
      reviews: { approvals: 1 }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/production, status: 200, contains: ok, interval: 1s }]
`

func newTrustStory(t *testing.T) *story {
	s := newStory(t, trustConfig)
	for _, u := range []string{"walt", "bob", "mallory"} {
		s.Repo.SetPermission(u, "write")
	}
	return s
}

// shipToProduction opens a PR from branch, lets CI pass and bob approve it,
// and deploys it to production; n deployments exist when it is done.
func (s *story) shipToProduction(branch string, n int) string {
	s.t.Helper()
	pr, sha := s.openPR(branch, "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "completed", "success")
	s.Repo.AddReview(pr, "bob", "APPROVED")
	s.comment(pr, "walt", "/deploy production")
	if d := s.deploymentsFinished(n)[n-1]; d.LatestState() != "success" {
		s.t.Fatalf("shipping %s: %v", branch, states(d))
	}
	return sha
}

// gateConclusion is the conclusion and title of the latest check run of
// gate on sha.
func (s *story) gateConclusion(sha, env, gate string) string {
	s.t.Helper()
	last := ""
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		if cr.Name == "deploy/"+env+": "+gate {
			last = cr.Conclusion + ": " + cr.Output.Title
		}
	}
	if last == "" {
		s.t.Fatalf("no %s gate check run on %s", gate, sha)
	}
	return last
}

// Mallory, a writer, creates a Deployment through the API with task
// deploy:rollback for a commit production never ran, hoping to skip CI and
// reviews. deploybot runs it as an ordinary deploy: every gate runs and
// blocks. Walt's genuine rollback to the previous live version, within the
// window, still skips checks and reviews (its CI has since turned red).
func TestForeignRollbackSkipsGatesOnlyWhenItIsOne(t *testing.T) {
	t.Parallel()
	s := newTrustStory(t)
	first := s.shipToProduction("feature/one", 1)
	second := s.shipToProduction("feature/two", 2)

	evil := s.Repo.Commit("feature/evil", map[string]string{"evil.go": "steal()"}, "evil")
	s.Repo.AddCheckRun(evil, "ci/test", "completed", "failure")
	s.Sim.CreateDeployment(SandboxRepoFull, "mallory", "feature/evil", "production", "deploy:rollback", nil)
	attack := s.deploymentsFinished(3)[2]
	if attack.LatestState() != "failure" {
		t.Fatalf("mallory's fake rollback = %v, want failure", states(attack))
	}
	contains(t, "checks gate", s.gateConclusion(evil, "production", "checks"), "failure: 1 check failed: ci/test")
	contains(t, "reviews gate", s.gateConclusion(evil, "production", "reviews"), "failure: "+evil[:7]+" is not the head of a pull request")
	if live := s.Target.Live("production"); live != second {
		t.Fatalf("production runs %s, want %s", live, second)
	}

	s.Repo.AddCheckRun(first, "ci/test", "completed", "failure") // a re-run went red since
	s.Sim.CreateDeployment(SandboxRepoFull, "walt", first, "production", "deploy:rollback", nil)
	rb := s.deploymentsFinished(4)[3]
	if rb.LatestState() != "success" || s.Target.Live("production") != first {
		t.Fatalf("genuine rollback = %v, production runs %s, want %s", states(rb), s.Target.Live("production"), first)
	}
	calls, _ := s.Target.Calls()
	if last := calls[len(calls)-1]; last.Action != "rollback" || last.SHA != first {
		t.Errorf("last executor call = %s %s, want rollback %s", last.Action, last.SHA, first)
	}
}

// The reviews gate judges the commit being deployed: another ref named on
// an approved PR, or the PR after a push that nobody approved, is blocked;
// an approval of the head lets it through.
func TestReviewsGateJudgesTheDeployedCommit(t *testing.T) {
	t.Parallel()
	s := newTrustStory(t)
	pr, head := s.openPR("feature/cart", "walt")
	s.Repo.AddCheckRun(head, "ci/test", "completed", "success")
	s.Repo.AddReview(pr, "bob", "APPROVED")
	other := s.Repo.Commit("feature/unreviewed", map[string]string{"x.go": "x"}, "unreviewed")
	s.Repo.AddCheckRun(other, "ci/test", "completed", "success")

	s.comment(pr, "walt", "/deploy production feature/unreviewed")
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "failure" || d.SHA != other {
		t.Fatalf("another ref from an approved PR = %s %v, want a failure", d.SHA, states(d))
	}
	contains(t, "reviews gate", s.gateConclusion(other, "production", "reviews"), "failure: "+other[:7]+" is not the head of a pull request")

	pushed := s.Repo.Commit("feature/cart", map[string]string{"cart.go": "v2"}, "after the approval")
	s.Repo.AddCheckRun(pushed, "ci/test", "completed", "success")
	s.comment(pr, "walt", "/deploy production")
	if d := s.deploymentsFinished(2)[1]; d.LatestState() != "failure" || d.SHA != pushed {
		t.Fatalf("unapproved head = %s %v, want a failure", d.SHA, states(d))
	}
	contains(t, "reviews gate", s.gateConclusion(pushed, "production", "reviews"), "failure: 0 of 1 approval")

	s.Repo.AddReview(pr, "bob", "APPROVED")
	s.comment(pr, "walt", "/deploy production")
	if d := s.deploymentsFinished(3)[2]; d.LatestState() != "success" || s.Target.Live("production") != pushed {
		t.Fatalf("approved head = %v, production runs %s", states(d), s.Target.Live("production"))
	}
	contains(t, "reviews gate", s.gateConclusion(pushed, "production", "reviews"), "success: approved by @bob")
}

// With allow_forks off, a writer cannot deploy a fork's code by naming its
// pull request ref or its SHA (readable through this repository's network);
// a SHA on a branch of this repository still deploys, for two requests.
func TestForkCodeCannotBeDeployedByRefOrSHA(t *testing.T) {
	t.Parallel()
	s := newTrustStory(t)
	fork := s.Repo.Fork("mallory")
	evil := fork.Commit("evil", map[string]string{"app.go": "steal()"}, "innocent")
	forkPR := s.Repo.OpenForkPR(fork, "evil", "main", "mallory", "Innocent")
	pr, feature := s.openPR("feature/search", "walt")

	for _, ref := range []string{"refs/pull/" + strconv.Itoa(forkPR) + "/head", "pull/" + strconv.Itoa(forkPR) + "/merge", evil, evil[:10]} {
		reply := s.say(pr, "walt", "/deploy staging "+ref)
		contains(t, "reply to /deploy staging "+ref, reply, "allow_forks")
	}
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
		t.Fatalf("fork code got %d deployments", n)
	}
	// The same rule holds for a Deployment created through the API.
	s.Sim.CreateDeployment(SandboxRepoFull, "walt", evil, "staging", "deploy", nil)
	api := s.deploymentsFinished(1)[0]
	if api.LatestState() != "error" || len(s.Sim.CheckRuns(SandboxRepoFull, evil)) != 0 {
		t.Fatalf("API deployment of a fork's commit = %v", states(api))
	}
	contains(t, "error status", api.Statuses[len(api.Statuses)-1].Description, "is not on any branch")

	s.settle()
	s.Sim.ResetRequests()
	s.comment(pr, "walt", "/deploy staging "+feature)
	if d := s.deploymentsFinished(2)[1]; d.LatestState() != "success" || s.Target.Live("staging") != feature {
		t.Fatalf("same-repository SHA = %v, staging runs %s", states(d), s.Target.Live("staging"))
	}
	reach := 0
	for _, rq := range s.Sim.Requests() {
		if strings.Contains(rq.Path, "/compare/") || strings.HasSuffix(rq.Path, "/pulls") {
			reach++
		}
	}
	if reach != 2 {
		t.Errorf("the reachability check of a feature branch SHA made %d requests, want 2 (compare with main, its pull requests)", reach)
	}
}

// The checks gate runs for every environment, configured or not: a deploy
// of a commit whose CI is still running waits for it.
func TestChecksGateRunsByDefault(t *testing.T) {
	t.Parallel()
	s := newTrustStory(t)
	pr, sha := s.openPR("feature/wait", "walt")
	ci := s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	s.comment(pr, "walt", "/deploy staging")
	s.waitForDeployment("queued", "Waiting for ci/test")
	s.settle()
	if calls, _ := s.Target.Calls(); len(calls) != 0 {
		t.Fatalf("deployed while CI was running: %+v", calls)
	}
	s.Sim.CompleteCheckRun(ci, "success")
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" || s.Target.Live("staging") != sha {
		t.Fatalf("after CI passed: %v, staging runs %s", states(d), s.Target.Live("staging"))
	}
	contains(t, "checks gate", s.gateConclusion(sha, "staging", "checks"), "success: 1 check passed")
}

// `checks: false` is the one way to stop gating on CI.
func TestChecksGateTurnedOff(t *testing.T) {
	t.Parallel()
	s := newStory(t, strings.Replace(trustConfig, "    executor: { webhook: { url: TARGET/hooks/staging } }\n",
		"    executor: { webhook: { url: TARGET/hooks/staging } }\n    gates: { checks: false }\n", 1))
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/nowait", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	s.comment(pr, "walt", "/deploy staging")
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" || s.Target.Live("staging") != sha {
		t.Fatalf("with checks: false = %v", states(d))
	}
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		if cr.Name == "deploy/staging: checks" {
			t.Fatalf("checks gate ran although checks: false")
		}
	}
}

// Past the rollback window, a deploy:rollback Deployment of the previous
// version is an ordinary deploy again, like /rollback without --force: its
// red CI blocks it.
func TestForeignRollbackAfterTheWindowRunsEveryGate(t *testing.T) {
	t.Parallel()
	var clk clock
	s := newStoryAt(t, trustConfig, clk.Now)
	for _, u := range []string{"walt", "bob"} {
		s.Repo.SetPermission(u, "write")
	}
	first := s.shipToProduction("feature/one", 1)
	second := s.shipToProduction("feature/two", 2)
	clk.Advance(25 * time.Hour) // the default window is 24h

	s.Repo.AddCheckRun(first, "ci/test", "completed", "failure")
	s.Sim.CreateDeployment(SandboxRepoFull, "walt", first, "production", "deploy:rollback", nil)
	late := s.deploymentsFinished(3)[2]
	if late.LatestState() != "failure" || s.Target.Live("production") != second {
		t.Fatalf("late rollback = %v, production runs %s, want %s", states(late), s.Target.Live("production"), second)
	}
	contains(t, "checks gate", s.gateConclusion(first, "production", "checks"), "failure: 1 check failed: ci/test")
}
