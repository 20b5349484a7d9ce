package app

import (
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/store"
)

// reap runs the reaper once, as its periodic job would, and returns how
// many deployments it ended.
func (s *story) reap() int {
	s.t.Helper()
	n, err := s.App.Deploy.Reap(s.ctx)
	if err != nil {
		s.t.Fatalf("reaper: %v", err)
	}
	return n
}

// The executor never answers the first deployment (its call hangs). Nobody
// has to notice: once it made no progress for longer than its longest step
// (the sandbox's is the 70-minute floor, plus 15 minutes), the reaper ends
// it with an error status and a reply, and the deployment queued behind it
// runs. The hung call's late answer changes nothing.
func TestReaperEndsAStuckDeploymentAndHandsOnTheEnvironment(t *testing.T) {
	t.Parallel()
	var clk clock
	q := newQueuedBehind(t, func(o *SandboxOptions) { o.Now = clk.Now })
	s, pr1, sha1, sha2 := q.story, q.pr1, q.sha1, q.sha2

	if n := s.reap(); n != 0 {
		t.Fatalf("reaper ended %d deployments that are making progress", n)
	}
	clk.Advance(80 * time.Minute)
	if n := s.reap(); n != 0 {
		t.Fatalf("reaper ended %d deployments before their deadline (85m)", n)
	}
	clk.Advance(10 * time.Minute)
	if n := s.reap(); n != 1 {
		t.Fatalf("reaper ended %d deployments, want the stuck one", n)
	}
	first, err := s.App.Store.Deployment(s.ctx, 1)
	if err != nil || first.State != store.StateError || !first.Ended() {
		t.Fatalf("stuck deployment after the reaper: %+v, %v", first, err)
	}

	q.release() // the hung call answers now; the first deployment stays ended
	bySHA := map[string]githubsim.Deployment{}
	for _, d := range s.deploymentsFinished(2) {
		bySHA[d.SHA] = d
	}
	if got := bySHA[sha2].LatestState(); got != "success" {
		t.Fatalf("the queued deployment ended %v", states(bySHA[sha2]))
	}
	d1 := bySHA[sha1]
	last := d1.Statuses[len(d1.Statuses)-1]
	if last.State != "error" || !strings.Contains(last.Description, "no progress for 1h30m") {
		t.Errorf("stuck deployment's last status = %s %q", last.State, last.Description)
	}
	if got := s.checkRun(sha1, "deploy/staging"); got.Conclusion != "failure" {
		t.Errorf("stuck deployment's check run concluded %q, want failure", got.Conclusion)
	}
	comments := s.deploybotComments(pr1)
	if len(comments) != 2 {
		t.Fatalf("PR comments = %q, want the record and one reply", comments)
	}
	contains(t, "record", comments[0], "deploybot ended this deployment: no progress for 1h30m; the environment is free again")
	contains(t, "reply", comments[1], "no progress for 1h30m; the environment is free again")
	if again, _ := s.App.Store.Deployment(s.ctx, 1); again.State != store.StateError {
		t.Errorf("the late executor answer changed the ended deployment to %s", again.State)
	}
	if calls, _ := s.Target.Calls(); len(calls) != 2 {
		t.Errorf("executor called %d times, want 2", len(calls))
	}
	if n := s.reap(); n != 0 {
		t.Errorf("a second pass ended %d more", n)
	}
}

// A deployment waiting for CI with `wait: 3h` is legitimately quiet for
// three hours: the reaper leaves it alone until then (plus its margin).
func TestReaperWaitsOutAConfiguredChecksWait(t *testing.T) {
	t.Parallel()
	var clk clock
	s := newStoryAt(t, strings.Replace(gatedConfig, "wait: 20m", "wait: 3h", 1), clk.Now)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/cart", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	s.comment(pr, "walt", "/deploy staging")
	s.waitForDeployment("queued", "Waiting for ci/test")
	s.settle()

	clk.Advance(3 * time.Hour)
	if n := s.reap(); n != 0 {
		t.Fatalf("reaper ended %d deployments still within their checks wait", n)
	}
	s.settle()
	if d, _ := s.App.Store.Deployment(s.ctx, 1); d.State != store.StateWaiting {
		t.Fatalf("waiting deployment is now %s", d.State)
	}
	clk.Advance(20 * time.Minute)
	if n := s.reap(); n != 1 {
		t.Fatalf("reaper ended %d deployments past their checks wait and margin, want 1", n)
	}
	s.settle()
	d := s.waitForDeployment("error", "no progress for 3h20m")
	if len(d.Statuses) == 0 {
		t.Fatal("no statuses")
	}
	if got := s.checkRun(sha, "deploy/staging: checks"); got.Status != "completed" {
		t.Errorf("the waiting gate's check run is still %s", got.Status)
	}
	if h, _ := s.App.Store.LockHolder(s.ctx, SandboxRepoFull, "staging"); h != 0 {
		t.Errorf("staging still held by %d", h)
	}
}
