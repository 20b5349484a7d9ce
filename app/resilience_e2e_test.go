package app

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/internal/githubsim"
)

// Two requests for one environment: the second waits its turn, says so,
// and runs when the first finishes (FIFO, enforced by the database).
func TestSecondRequestWaitsForTheEnvironment(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	release := s.Target.Hold()
	defer release()
	pr1, sha1 := s.openPR("feature/one", "walt")
	pr2, sha2 := s.openPR("feature/two", "walt")
	pr3, sha3 := s.openPR("feature/three", "walt")

	executing := s.Target.Changed()
	s.comment(pr1, "walt", "/deploy staging")
	select {
	case <-executing:
	case <-s.ctx.Done():
		t.Fatal("first deployment never reached the executor")
	}
	queued := func(pr int) bool {
		c := s.deploybotComments(pr)
		return len(c) == 1 && strings.Contains(c[0], "queued")
	}
	s.comment(pr2, "walt", "/deploy staging")
	if err := s.Sim.WaitFor(s.ctx, func() bool { return queued(pr2) }); err != nil {
		t.Fatalf("second request does not say it is queued: %q", s.deploybotComments(pr2))
	}
	s.comment(pr3, "walt", "/deploy staging")
	if err := s.Sim.WaitFor(s.ctx, func() bool { return queued(pr2) && queued(pr3) }); err != nil {
		t.Fatalf("later requests do not say they are queued: %q / %q", s.deploybotComments(pr2), s.deploybotComments(pr3))
	}
	deps := s.Sim.Deployments(SandboxRepoFull)
	if len(deps) != 3 {
		t.Fatalf("want 3 deployments, got %d", len(deps))
	}
	for _, d := range deps[1:] {
		last := d.Statuses[len(d.Statuses)-1]
		if last.State != "queued" || !strings.Contains(last.Description, "Waiting for deployment #") {
			t.Errorf("queued deployment's status = %s %q", last.State, last.Description)
		}
	}
	contains(t, "queued record", s.deploybotComments(pr2)[0], "waiting for deployment #")

	release()
	deps = s.deploymentsFinished(3)
	calls, _ := s.Target.Calls()
	var order []string
	for _, c := range calls {
		order = append(order, c.SHA)
	}
	if strings.Join(order, ",") != strings.Join([]string{sha1, sha2, sha3}, ",") {
		t.Fatalf("executor order = %v, want FIFO %v", order, []string{sha1, sha2, sha3})
	}
	for i, d := range deps {
		// GitHub marks earlier staging deployments inactive on each success.
		if want := map[bool]string{true: "success", false: "inactive"}[i == 2]; d.LatestState() != want {
			t.Errorf("deployment %d ended %v, want %s", d.ID, states(d), want)
		}
	}
	contains(t, "second record", s.deploybotComments(pr2)[0], "waited in queue")
}

// A 502 after GitHub created the deployment (a crash between the effect and
// its record, as far as deploybot can tell) is retried from the queue; the
// retry finds the deployment it made instead of creating a second one.
func TestInterruptedStepResumesWithoutRepeating(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	// GitHub creates the deployment and the answer is lost. (The queued
	// status goes out in the next step, with the record comment.)
	s.Sim.FailAfterApply("POST", "/repos/acme/shop/deployments", 1, http.StatusBadGateway)
	s.comment(pr, "walt", "/deploy staging")
	deps := s.deploymentsFinished(1)
	if len(deps) != 1 || deps[0].LatestState() != "success" {
		t.Fatalf("deployments = %v", summarize(deps))
	}
	var lists int
	for _, r := range s.Sim.Requests() {
		if r.Operation == "repos/list-deployments" && r.Query.Get("sha") != "" {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("recovery looked up its deployment %d times, want 1", lists)
	}
	if calls, _ := s.Target.Calls(); len(calls) != 1 {
		t.Errorf("executor called %d times", len(calls))
	}
}

// GitHub's 5xx answers to reads and short rate-limit waits are retried in
// the request; a long rate limit snoozes the step until the reset.
func TestGitHubRetries(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	s.Sim.FailNext("GET", "/repos/acme/shop/pulls/", 2, http.StatusBadGateway, nil)
	s.Sim.FailNext("GET", "/repos/acme/shop/collaborators/", 1, http.StatusForbidden, http.Header{"Retry-After": {"1"}})
	reset := strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10)
	s.Sim.FailNext("POST", "/repos/acme/shop/check-runs", 1, http.StatusForbidden,
		http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {reset}})
	start := time.Now()
	s.comment(pr, "walt", "/deploy staging")
	deps := s.deploymentsFinished(1)
	if deps[0].LatestState() != "success" {
		t.Fatalf("deployment ended %v", states(deps[0]))
	}
	failed := map[int]int{}
	for _, r := range s.Sim.Requests() {
		if r.Status >= 400 {
			failed[r.Status]++
		}
	}
	if failed[502] != 2 || failed[403] != 2 {
		t.Errorf("failed requests seen = %v, want the injected 2×502 and 2×403", failed)
	}
	if time.Since(start) < time.Second {
		t.Errorf("Retry-After was not honoured")
	}
	if n := len(s.checkRunsNamed(deps[0].SHA, "deploy/staging")); n != 1 {
		t.Errorf("%d summary check runs after a rate-limited create, want 1", n)
	}
}

func (s *story) checkRunsNamed(sha, name string) []githubsim.CheckRun {
	var out []githubsim.CheckRun
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		if cr.Name == name {
			out = append(out, cr)
		}
	}
	return out
}

// deploybot restarts while a deployment waits on a durable timer (a health
// check retry): the new process picks the deployment up where it was.
func TestRestartResumesWaitingDeployment(t *testing.T) {
	t.Parallel()
	s := newStory(t, strings.ReplaceAll(SandboxConfig, "timeout: 3s", "timeout: 1m"))
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/slow", "walt")
	s.Target.MarkUnhealthy(sha)
	s.comment(pr, "walt", "/deploy staging")
	// Verification is under way once the health check failed twice (its
	// retries are durable timers).
	for {
		n, probed := s.Target.Probes()
		if n >= 2 {
			break
		}
		select {
		case <-probed:
		case <-s.ctx.Done():
			t.Fatal("never reached verification")
		}
	}
	if err := s.Restart(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.Target.MarkHealthy(sha) // the service comes up while deploybot restarts
	deps := s.deploymentsFinished(1)
	if len(deps) != 1 || deps[0].LatestState() != "success" {
		t.Fatalf("after restart: %v", summarize(deps))
	}
	if calls, _ := s.Target.Calls(); len(calls) != 1 {
		t.Fatalf("executor called %d times across the restart, want once", len(calls))
	}
	// Had verification restarted from scratch, the first check after the
	// restart (healthy by then) would be its attempt 1.
	record := s.deploybotComments(pr)[0]
	m := regexp.MustCompile(`\| verify \| done \| .*\(attempt (\d+)\)`).FindStringSubmatch(record)
	if m == nil {
		t.Fatalf("record has no verify row with attempts:\n%s", record)
	}
	if n, _ := strconv.Atoi(m[1]); n < 2 {
		t.Errorf("verification restarted from scratch: the health check passed on attempt %d", n)
	}
}

// Someone deletes deploybot's record comment mid-deploy: the deployment
// goes on (the record stays at log_url).
func TestDeletedRecordCommentDoesNotFailTheDeploy(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	// Every edit of the record answers 404, as for a deleted comment.
	s.Sim.FailNext("PATCH", "/repos/acme/shop/issues/comments/", 10, http.StatusNotFound, nil)
	s.comment(pr, "walt", "/deploy staging")
	deps := s.deploymentsFinished(1)
	if deps[0].LatestState() != "success" {
		t.Fatalf("deployment ended %v", states(deps[0]))
	}
	var edits int
	for _, r := range s.Sim.Requests() {
		if r.Operation == "issues/update-comment" {
			edits++
		}
	}
	if edits != 1 {
		t.Errorf("%d edits of a comment that is gone, want 1 (then it stops trying)", edits)
	}
}
