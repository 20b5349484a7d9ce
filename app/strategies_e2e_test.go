package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/internal/githubsim"
)

// canaryConfig rolls production out at 10 % (a 2-second pause), 50 % (a
// pause for Promote) and 100 %, with a health check between the steps.
const canaryConfig = `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { canary: { steps: [{ weight: 10, pause: 2s }, { weight: 50, pause: manual }, { weight: 100 }] } }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/production, status: 200, interval: 1s }]
`

// calls lists the executor calls as action@weight / action#batch / action:slot.
func calls(t *Target) string {
	got, _ := t.Calls()
	var out []string
	for _, c := range got {
		s := c.Action
		switch {
		case c.Step.Weight != nil:
			s += fmt.Sprintf("@%d", *c.Step.Weight)
		case c.Step.Batch > 0:
			s += fmt.Sprintf("#%d", c.Step.Batch)
		case c.Step.Slot != "":
			s += ":" + c.Step.Slot
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// paused waits until the deployment's newest status says it is paused.
func (s *story) paused() githubsim.Deployment {
	s.t.Helper()
	var d githubsim.Deployment
	err := s.Sim.WaitFor(s.ctx, func() bool {
		deps := s.Sim.Deployments(SandboxRepoFull)
		if len(deps) == 0 || len(deps[0].Statuses) == 0 {
			return false
		}
		d = deps[0]
		return strings.Contains(d.Statuses[len(d.Statuses)-1].Description, "paused for Promote")
	})
	if err != nil {
		s.t.Fatalf("the deployment never paused for Promote: %v", err)
	}
	s.settle()
	return d
}

func actionIDs(cr githubsim.CheckRun) string {
	var ids []string
	for _, a := range cr.Actions {
		ids = append(ids, a.Identifier)
	}
	return strings.Join(ids, ",")
}

// A canary of production: 10 % for two seconds, 50 % until someone with
// the environment's permission presses Promote, then 100 %. While it waits
// for Promote, deploybot makes no request at all.
func TestCanaryWithTimedPauseAndPromote(t *testing.T) {
	t.Parallel()
	s := newStory(t, canaryConfig)
	s.Repo.SetPermission("maya", "write")
	s.Repo.SetPermission("rita", "read")
	pr, sha := s.openPR("feature/search", "maya")
	s.comment(pr, "maya", "/deploy production")

	d := s.paused()
	if got := d.Statuses[len(d.Statuses)-1].Description; got != "Canary at 50 %: paused for Promote" {
		t.Errorf("status while paused = %q", got)
	}
	if got := calls(s.Target); got != "deploy@10,deploy@50" {
		t.Fatalf("executor calls before Promote = %s", got)
	}
	cr := s.checkRun(sha, "deploy/production")
	if got := actionIDs(cr); got != "promote,abort" || cr.Status != "in_progress" {
		t.Errorf("check run while paused: %s with buttons %q, want in_progress with promote,abort", cr.Status, got)
	}
	records := s.deploybotComments(pr)
	contains(t, "the record while paused", records[0], "paused for Promote")
	contains(t, "the record while paused", records[0], "pause at 10 % | done | paused 2s")

	before := len(s.Sim.Requests())
	s.settle()
	if n := len(s.Sim.Requests()) - before; n != 0 {
		t.Errorf("%d GitHub requests while waiting for Promote, want 0", n)
	}

	// Someone who may not deploy production presses Promote: nothing moves.
	s.Sim.PressRequestedAction(SandboxRepoFull, cr.ID, "rita", "promote")
	s.settle()
	if got := calls(s.Target); got != "deploy@10,deploy@50" {
		t.Fatalf("a reader's Promote moved the canary: %s", got)
	}

	s.Sim.PressRequestedAction(SandboxRepoFull, cr.ID, "maya", "promote")
	final := s.deploymentsFinished(1)[0]
	if final.LatestState() != "success" {
		t.Fatalf("canary ended %s: %v", final.LatestState(), states(final))
	}
	if got := calls(s.Target); got != "deploy@10,deploy@50,deploy@100" {
		t.Errorf("executor calls = %s", got)
	}
	_, keys := s.Target.Calls()
	if keys[0] == keys[1] || keys[1] == keys[2] {
		t.Errorf("canary steps share idempotency keys: %v", keys)
	}
	cr = s.checkRun(sha, "deploy/production")
	if cr.Conclusion != "success" || len(cr.Actions) != 0 {
		t.Errorf("check run = %s with buttons %q, want success without buttons", cr.Conclusion, actionIDs(cr))
	}
	contains(t, "the final record", s.deploybotComments(pr)[0], "promoted by @maya")

	// A second press after the phase moved on changes nothing.
	s.Sim.PressRequestedAction(SandboxRepoFull, cr.ID, "maya", "promote")
	s.settle()
	if got := calls(s.Target); got != "deploy@10,deploy@50,deploy@100" {
		t.Errorf("a late Promote called the executor: %s", got)
	}
}

// Abort while the canary waits at 50 % — by `/abort` or by the button:
// stable takes all traffic back (one call at weight 0) and the deployment
// fails, saying who aborted.
func TestCanaryAbortedWhilePaused(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"command", "button"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			canaryAborted(t, by)
		})
	}
}

func canaryAborted(t *testing.T, by string) {
	s := newStory(t, canaryConfig)
	s.Repo.SetPermission("maya", "write")
	pr, sha := s.openPR("feature/search", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.paused()

	if by == "command" {
		s.comment(pr, "maya", "/abort production")
	} else {
		s.Sim.PressRequestedAction(SandboxRepoFull, s.checkRun(sha, "deploy/production").ID, "maya", "abort")
	}
	d := s.deploymentsFinished(1)[0]
	last := d.Statuses[len(d.Statuses)-1]
	if last.State != "failure" || !strings.Contains(last.Description, "aborted by @maya") {
		t.Errorf("final status = %s %q", last.State, last.Description)
	}
	if got := calls(s.Target); got != "deploy@10,deploy@50,abort@0" {
		t.Errorf("executor calls = %s", got)
	}
	cr := s.checkRun(sha, "deploy/production")
	if cr.Conclusion != "failure" {
		t.Errorf("check run concluded %s", cr.Conclusion)
	}
	record := s.deploybotComments(pr)[0]
	contains(t, "the record", record, "undo: abort")
	contains(t, "the record", record, "stable takes all traffic again (weight 0)")
}

// The health check after the 10 % step fails: the canary aborts by itself.
func TestCanaryAbortsWhenItsHealthCheckFails(t *testing.T) {
	t.Parallel()
	s := newStory(t, canaryConfig)
	s.Repo.SetPermission("maya", "write")
	pr, sha := s.openPR("feature/search", "maya")
	s.Target.MarkUnhealthy(sha)
	s.comment(pr, "maya", "/deploy production")
	d := s.deploymentsFinished(1)[0]
	last := d.Statuses[len(d.Statuses)-1]
	if last.State != "failure" || !strings.Contains(last.Description, "health check") {
		t.Errorf("final status = %s %q", last.State, last.Description)
	}
	if got := calls(s.Target); got != "deploy@10,abort@0" {
		t.Errorf("executor calls = %s", got)
	}
}

// A rolling update of four batches whose second batch does not come up:
// the batches updated so far go back, newest first, to what was live.
func TestRollingFailureRollsBackUpdatedBatches(t *testing.T) {
	t.Parallel()
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { rolling: { instances: 10, batch_size: 3 } }
`)
	s.Repo.SetPermission("maya", "write")
	pr, first := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.deploymentsFinished(1)
	if got := calls(s.Target); got != "deploy#1,deploy#2,deploy#3,deploy#4" {
		t.Fatalf("first rollout calls = %s", got)
	}

	s.Repo.Commit("feature/one", map[string]string{"two.txt": "2"}, "second change")
	second := s.Repo.Head("feature/one")
	s.Target.FailWhen(func(p deploy.StepPayload) bool { return p.Action == "deploy" && p.Step.Batch == 2 })
	s.comment(pr, "maya", "/deploy production")
	deps := s.deploymentsFinished(2)
	if got := calls(s.Target); got != "deploy#1,deploy#2,deploy#3,deploy#4,deploy#1,deploy#2,rollback#2,rollback#1" {
		t.Errorf("calls = %s", got)
	}
	got, _ := s.Target.Calls()
	undo := got[len(got)-1]
	if undo.SHA != first || undo.PreviousSHA != second || undo.Step.InstanceFrom != 1 || undo.Step.InstanceTo != 3 {
		t.Errorf("rollback of batch 1 = sha %s previous %s instances %d-%d, want the first version back on 1-3",
			short(undo.SHA), short(undo.PreviousSHA), undo.Step.InstanceFrom, undo.Step.InstanceTo)
	}
	var latest githubsim.Deployment
	for _, d := range deps {
		if d.SHA == second {
			latest = d
		}
	}
	if latest.LatestState() != "failure" {
		t.Errorf("second rollout ended %s", latest.LatestState())
	}
}

// Blue-green: the first deployment goes to blue, the next to green; with
// auto_promote off the switch waits for Promote, and an abort before the
// switch leaves everything as it was (no undo call).
func TestBlueGreenSlotsAndAbortBeforeTheSwitch(t *testing.T) {
	t.Parallel()
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { blue-green: { preview_url: TARGET/healthz/production, auto_promote: false } }
`)
	s.Repo.SetPermission("maya", "write")
	pr, sha := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.paused()
	s.Sim.PressRequestedAction(SandboxRepoFull, s.checkRun(sha, "deploy/production").ID, "maya", "promote")
	s.deploymentsFinished(1)
	if got := calls(s.Target); got != "deploy:blue,switch:blue" {
		t.Fatalf("first deployment calls = %s", got)
	}

	s.Repo.Commit("feature/one", map[string]string{"two.txt": "2"}, "second change")
	s.comment(pr, "maya", "/deploy production")
	s.Sim.WaitFor(s.ctx, func() bool { return strings.Count(calls(s.Target), ",") == 2 })
	s.pausedAgain(2)
	s.comment(pr, "maya", "/abort")
	s.deploymentsFinished(2)
	if got := calls(s.Target); got != "deploy:blue,switch:blue,deploy:green" {
		t.Errorf("calls = %s: an abort before the switch calls nothing", got)
	}
	contains(t, "the record", s.deploybotComments(pr)[1], "traffic never left the blue slot")
}

// pausedAgain waits until n deployments exist and the newest is paused.
func (s *story) pausedAgain(n int) {
	s.t.Helper()
	err := s.Sim.WaitFor(s.ctx, func() bool {
		deps := s.Sim.Deployments(SandboxRepoFull)
		if len(deps) < n {
			return false
		}
		for _, d := range deps {
			if len(d.Statuses) > 0 && strings.Contains(d.Statuses[len(d.Statuses)-1].Description, "paused for Promote") {
				return true
			}
		}
		return false
	})
	if err != nil {
		s.t.Fatalf("deployment %d never paused: %v", n, err)
	}
	s.settle()
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Blue-green after the switch: the live slot fails its health check, so
// traffic switches back to the slot that was live before.
func TestBlueGreenSwitchesBackWhenTheLiveSlotFails(t *testing.T) {
	t.Parallel()
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { blue-green: { preview_url: TARGET/healthz/production } }
    verify:
      timeout: 2s
      health: [{ url: TARGET/healthz/public, status: 200, interval: 1s }]
`)
	s.Repo.SetPermission("maya", "write")
	s.Target.SetLive("public", "v0")
	pr, _ := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.deploymentsFinished(1)
	if got := calls(s.Target); got != "deploy:blue,switch:blue" {
		t.Fatalf("first deployment calls = %s", got)
	}
	s.Target.MarkUnhealthy("v0") // the public health check fails from now on
	s.Repo.Commit("feature/one", map[string]string{"two.txt": "2"}, "second change")
	s.comment(pr, "maya", "/deploy production")
	deps := s.deploymentsFinished(2)
	if got := calls(s.Target); got != "deploy:blue,switch:blue,deploy:green,switch:green,switch:blue" {
		t.Errorf("calls = %s, want the switch back to blue", got)
	}
	record := s.deploybotComments(pr)[1]
	contains(t, "the record", record, "switched back to blue")
	for _, d := range deps {
		if d.SHA == s.Repo.Head("feature/one") && d.LatestState() != "failure" {
			t.Errorf("second deployment ended %s", d.LatestState())
		}
	}
}

// deploybot restarts while a canary waits for Promote: the pause is still
// there afterwards, and Promote finishes the rollout without repeating a step.
func TestCanaryPauseSurvivesARestart(t *testing.T) {
	t.Parallel()
	s := newStory(t, canaryConfig)
	s.Repo.SetPermission("maya", "write")
	pr, sha := s.openPR("feature/search", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.paused()
	if err := s.Restart(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.Sim.PressRequestedAction(SandboxRepoFull, s.checkRun(sha, "deploy/production").ID, "maya", "promote")
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" {
		t.Fatalf("canary ended %s", d.LatestState())
	}
	if got := calls(s.Target); got != "deploy@10,deploy@50,deploy@100" {
		t.Errorf("calls = %s: a restart must not repeat or skip a step", got)
	}
}

// A three-step canary with one pause for Promote, counted: every REST
// request and write by operation (the figures are in BENCHMARKS.md), and
// none while the pause waits.
func TestCanaryAPIEconomy(t *testing.T) {
	t.Parallel()
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { canary: { steps: [{ weight: 10, pause: manual }, { weight: 50 }, { weight: 100 }] } }
`)
	s.Repo.SetPermission("maya", "write")
	pr, sha := s.openPR("feature/search", "maya")
	s.settle()
	s.Sim.ResetRequests()
	s.comment(pr, "maya", "/deploy production")
	s.paused()
	paused := len(s.Sim.Requests())
	s.settle()
	if n := len(s.Sim.Requests()) - paused; n != 0 {
		t.Errorf("%d requests while paused, want 0", n)
	}
	s.Sim.PressRequestedAction(SandboxRepoFull, s.checkRun(sha, "deploy/production").ID, "maya", "promote")
	s.deploymentsFinished(1)

	total, _, lines := requestsByOperation(s.Sim.Requests())
	w := countWrites(s.Sim.Requests())
	t.Logf("3-step canary with one pause for Promote: %d requests (%d before the pause), %d writes: %s", total, paused, w.total, strings.Join(lines, " "))
	// A plain deploy is 16 requests and 10 writes; the pause adds its status,
	// its buttons twice (paused, then progressing again), one record edit and
	// the Promote press's config and permission reads.
	if total > 24 || w.total > 14 {
		t.Errorf("canary made %d requests and %d writes, budgets 24 and 14: %s", total, w.total, strings.Join(lines, " "))
	}
}

// Within keep_previous the slot that was live before still runs the old
// version: rolling back — the Rollback button of the successful
// deployment, or /rollback — is one `switch` call, no redeploy.
func TestBlueGreenRollbackIsOneSwitch(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"button", "command"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { blue-green: { keep_previous: 1h } }
`)
			s.Repo.SetPermission("maya", "write")
			pr, v1 := s.openPR("feature/one", "maya")
			s.comment(pr, "maya", "/deploy production")
			s.deploymentsFinished(1)
			s.Repo.Commit("feature/one", map[string]string{"two.txt": "2"}, "second change")
			v2 := s.Repo.Head("feature/one")
			s.comment(pr, "maya", "/deploy production")
			s.deploymentsFinished(2)
			if got := calls(s.Target); got != "deploy:blue,switch:blue,deploy:green,switch:green" {
				t.Fatalf("calls = %s", got)
			}
			cr := s.checkRun(v2, "deploy/production")
			if got := actionIDs(cr); got != "rollback" || cr.Conclusion != "success" {
				t.Fatalf("the successful switch's check run: %s with buttons %q, want success with rollback", cr.Conclusion, got)
			}
			if by == "button" {
				s.Sim.PressRequestedAction(SandboxRepoFull, cr.ID, "maya", "rollback")
			} else {
				s.comment(pr, "maya", "/rollback production")
			}
			deps := s.deploymentsFinished(3)
			if got := calls(s.Target); got != "deploy:blue,switch:blue,deploy:green,switch:green,switch:blue" {
				t.Errorf("calls = %s: a rollback within keep_previous is one switch back to blue", got)
			}
			got, _ := s.Target.Calls()
			if last := got[len(got)-1]; last.SHA != v1 || last.Action != "switch" {
				t.Errorf("the switch back carries sha %s, want %s", short(last.SHA), short(v1))
			}
			rb := deps[len(deps)-1]
			if rb.Task != "deploy:rollback" || rb.LatestState() != "success" {
				t.Errorf("rollback deployment = %s %s", rb.Task, rb.LatestState())
			}
		})
	}
}

// rollback: { automatic: true } — a new version fails its health check,
// and deploybot rolls back to the version before on its own: a
// deploy:rollback deployment triggered "automatic", whose record links the
// failure.
func TestAutomaticRollbackAfterAFailedHealthCheck(t *testing.T) {
	t.Parallel()
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    rollback: { automatic: true }
    verify:
      timeout: 2s
      health: [{ url: TARGET/healthz/production, status: 200, interval: 1s }]
`)
	s.Repo.SetPermission("maya", "write")
	pr, good := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.deploymentsFinished(1)

	s.Repo.Commit("feature/one", map[string]string{"two.txt": "2"}, "broken change")
	bad := s.Repo.Head("feature/one")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr, "maya", "/deploy production")
	deps := s.deploymentsFinished(3)
	failed, rb := deps[1], deps[2]
	if failed.SHA != bad || failed.LatestState() != "failure" {
		t.Fatalf("second deployment = %s %s", short(failed.SHA), failed.LatestState())
	}
	if rb.Task != "deploy:rollback" || rb.SHA != good || rb.LatestState() != "success" {
		t.Fatalf("automatic rollback = %s of %s: %s", rb.Task, short(rb.SHA), rb.LatestState())
	}
	p := payloadDeploybot(t, rb)
	if p["trigger"] != "automatic" || p["rollback_of"] != float64(failed.ID) {
		t.Errorf("rollback payload = %v, want trigger automatic and rollback_of %d", p, failed.ID)
	}
	if got := s.Target.Live("production"); got != good {
		t.Errorf("live = %s, want %s back", short(got), short(good))
	}
	records := s.deploybotComments(pr)
	contains(t, "the failed record", records[1], "rolling back automatically to "+short(good))
	contains(t, "the rollback's record", records[2], "automatically, because deployment #2 failed: health check")

	// The rollback is never rolled back itself, and one failure starts one rollback.
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 3 {
		t.Errorf("%d deployments, want 3", n)
	}
}
