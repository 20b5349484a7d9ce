package app

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A replica is killed (kill -9) while it calls the executor. The other
// replica resumes the step within a minute — the same call, with the same
// idempotency key — and the deployment finishes once, as if nothing happened.
func TestKilledReplicasStepResumesOnAnotherWithinAMinute(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, false)
	release, pr, sha := c.deployHeld()
	victim := c.leaseHolder()

	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.exited
	killed := time.Now()
	release() // the deployer answers the next call at once

	ctx, cancel := context.WithDeadline(c.ctx, killed.Add(time.Minute))
	defer cancel()
	d := c.deploymentSucceeds(ctx)
	t.Logf("resumed and finished %s after the kill", time.Since(killed).Round(100*time.Millisecond))

	// The interrupted call is sent again with its key — unless the deployer
	// had already taken it and called back before the survivor resumed.
	calls, keys := c.target.Calls()
	if len(calls) < 1 || len(calls) > 2 || keys[0] != keys[len(keys)-1] || calls[0].SHA != sha {
		t.Fatalf("executor calls %d with keys %v: want the interrupted call once more at most, with its idempotency key", len(calls), keys)
	}
	if got := strings.Join(states(d), ","); got != "queued,in_progress,success" {
		t.Errorf("statuses = %s: resuming must not repeat or skip any", got)
	}
	if n := len(c.sim.Deployments(SandboxRepoFull)); n != 1 {
		t.Errorf("%d GitHub deployments, want 1", n)
	}
	// The record's last edit may follow the final status (a separate
	// write of the finish step): wait for it, then count.
	records := 0
	err := c.sim.WaitFor(ctx, func() bool {
		records = 0
		shows := false
		for _, cm := range c.sim.Comments(SandboxRepoFull, pr) {
			if cm.User == c.sim.BotLogin() {
				records++
				shows = strings.Contains(cm.Body, "success") || strings.Contains(cm.Body, "Success")
			}
		}
		return shows
	})
	if err != nil {
		t.Errorf("the record never showed the success: %v", err)
	}
	if records != 1 {
		t.Errorf("%d deploybot comments on the PR, want the one record", records)
	}
	summaries := 0
	for _, cr := range c.sim.CheckRuns(SandboxRepoFull, sha) {
		if cr.Name == "deploy/staging" {
			summaries++
			if cr.Conclusion != "success" {
				t.Errorf("deploy/staging concluded %q", cr.Conclusion)
			}
		}
	}
	if summaries != 1 {
		t.Errorf("%d deploy/staging check runs, want 1", summaries)
	}
}

// A rolling restart of deploybot: the replica running a step gets SIGTERM.
// It hands the step over at once — the survivor resumes it long before the
// 10-minute lease could expire — and exits cleanly.
func TestSIGTERMHandsTheRunningStepOverAtOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, false, "DEPLOYBOT_STEP_LEASE=10m")
	release, _, _ := c.deployHeld()
	leaving := c.leaseHolder()

	if err := leaving.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-leaving.exited:
	case <-c.ctx.Done():
		t.Fatal("the replica did not exit after SIGTERM")
	}
	if code := leaving.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("replica exited %d after SIGTERM, want 0:\n%s", code, leaving.log())
	}
	if !strings.Contains(leaving.log(), "handed over") {
		t.Errorf("the stopping replica did not hand its step over:\n%s", leaving.log())
	}
	release()

	// Far less than the lease: only a hand-over resumes the step in time.
	ctx, cancel := context.WithTimeout(c.ctx, 45*time.Second)
	defer cancel()
	c.deploymentSucceeds(ctx)
	calls, keys := c.target.Calls()
	if len(calls) < 1 || len(calls) > 2 || keys[0] != keys[len(keys)-1] {
		t.Fatalf("executor calls %d with keys %v: want the interrupted call once more at most, with its idempotency key", len(calls), keys)
	}
}

// GitHub's delivery reaches both replicas (a retry through another load
// balancer path, or a redelivery): it has one effect.
func TestOneDeliveryToBothReplicasHasOneEffect(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, true)
	c.repo.Commit("feature", map[string]string{"f.txt": "f"}, "feature")
	pr := c.repo.OpenPR("feature", "main", "alice", "Feature")
	comment := c.sim.Comment(SandboxRepoFull, pr, "alice", "/deploy staging")

	c.deploymentSucceeds(c.ctx)
	if err := c.sim.WaitForDeliveries(c.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(c.sim.Deployments(SandboxRepoFull)); n != 1 {
		t.Errorf("%d GitHub deployments, want 1", n)
	}
	if calls, _ := c.target.Calls(); len(calls) != 1 {
		t.Errorf("%d executor calls, want 1", len(calls))
	}
	if r := c.sim.Reactions(comment); len(r) != 1 {
		t.Errorf("%d reactions on the command, want 1", len(r))
	}
	records := 0
	for _, cm := range c.sim.Comments(SandboxRepoFull, pr) {
		if cm.User == c.sim.BotLogin() {
			records++
		}
	}
	if records != 1 {
		t.Errorf("%d deploybot comments, want 1", records)
	}
}

// kill -9 in the middle of a canary: the replica calling the executor for
// the 10 % step dies. The survivor resumes that very step (same idempotency
// key), and the rest of the rollout runs once.
func TestKilledReplicaMidCanaryResumesTheSameStep(t *testing.T) {
	t.Parallel()
	c := newClusterWith(t, `default_environment: production
environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production, timeout: 2m } }
    strategy: { canary: { steps: [{ weight: 10, pause: 1s }, { weight: 100 }] } }
`, 2, false)
	release, _, _ := c.deployHeld()
	victim := c.leaseHolder()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.exited
	release()
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	c.deploymentSucceeds(ctx)
	got, keys := c.target.Calls()
	var steps []string
	for i, call := range got {
		if i > 0 && keys[i] == keys[i-1] {
			continue // the interrupted call again, with its own key
		}
		steps = append(steps, fmt.Sprintf("%s@%d", call.Action, *call.Step.Weight))
	}
	if strings.Join(steps, ",") != "deploy@10,deploy@100" || len(got) > 3 {
		t.Fatalf("calls = %s (keys %v): want 10 %% (at most once more with its key), then 100 %% once", calls(c.target), keys)
	}
}
