package app

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// say comments body on pr as user and returns deploybot's reply to it (the
// next comment there addressed to user). It does not wait for the queue
// to be idle, so it works while the deploy target holds a deployment.
func (s *story) say(pr int, user, body string) string {
	s.t.Helper()
	replies := func() []string {
		var out []string
		for _, c := range s.deploybotComments(pr) {
			if strings.HasPrefix(c, "@"+user+" ") {
				out = append(out, c)
			}
		}
		return out
	}
	before := len(replies())
	s.comment(pr, user, body)
	if err := s.Sim.WaitFor(s.ctx, func() bool { return len(replies()) > before }); err != nil {
		s.t.Fatalf("deploybot did not answer %q on #%d: %v", body, pr, err)
	}
	r := replies()
	return r[len(r)-1]
}

// deployPR opens a PR and deploys it to staging as user; it returns the PR
// and its SHA once n deployments exist and are final.
func (s *story) deployPR(branch, user string, n int) (int, string) {
	s.t.Helper()
	pr, sha := s.openPR(branch, user)
	s.comment(pr, user, "/deploy staging")
	s.deploymentsFinished(n)
	return pr, sha
}

// /rollback after a bad deploy redeploys the previous good SHA; someone
// without the environment's permission is refused.
func TestRollbackCommandAfterABadDeploy(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("rita", "read")
	_, good := s.deployPR("feature/good", "walt", 1)
	pr, bad := s.openPR("feature/bad", "walt")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr, "walt", "/deploy staging")
	failed := s.deploymentsFinished(2)[1]
	if failed.LatestState() != "failure" {
		t.Fatalf("bad deploy = %v", states(failed))
	}

	reply := s.say(pr, "rita", "/rollback staging")
	contains(t, "reader's reply", reply, "@rita you can't roll back `staging`")
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 2 {
		t.Fatalf("a reader's /rollback created a deployment")
	}

	s.comment(pr, "walt", "/rollback")
	deps := s.deploymentsFinished(3)
	rb := deps[2]
	if rb.Task != "deploy:rollback" || rb.SHA != good || rb.LatestState() != "success" {
		t.Fatalf("rollback = task %s sha %s %v, want %s", rb.Task, rb.SHA, states(rb), good)
	}
	if p := payloadDeploybot(t, rb); fmt.Sprintf("%.0f", p["rollback_of"]) != fmt.Sprint(failed.ID) || p["trigger"] != "comment" {
		t.Errorf("payload = %v, want rollback_of %d", p, failed.ID)
	}
	if s.Target.Live("staging") != good {
		t.Errorf("live = %s, want %s", s.Target.Live("staging"), good)
	}
	calls, _ := s.Target.Calls()
	if last := calls[len(calls)-1]; last.Action != "rollback" {
		t.Errorf("executor action = %s", last.Action)
	}
	record := s.deploybotComments(pr)[len(s.deploybotComments(pr))-1]
	contains(t, "rollback record", record, "is live in **staging**")
	contains(t, "rollback record", record, fmt.Sprintf("Rolls back** | GitHub deployment %d", failed.ID))
}

// /rollback <sha|tag> only goes back to a version that was live there.
func TestRollbackToANamedVersion(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	_, first := s.deployPR("feature/one", "walt", 1)
	pr, second := s.deployPR("feature/two", "walt", 2)
	_, never := s.openPR("feature/never", "walt")

	reply := s.say(pr, "walt", "/rollback staging "+never[:7])
	contains(t, "reply", reply, "`"+never[:7]+"` was never live in `staging`")
	reply = s.say(pr, "walt", "/rollback staging "+second[:7])
	contains(t, "reply", reply, "is what is live in `staging` now")
	reply = s.say(pr, "walt", "/rollback staging no-such-tag")
	contains(t, "reply", reply, "can't find `no-such-tag`")
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 2 {
		t.Fatalf("refused rollbacks created deployments (%d)", n)
	}

	s.Repo.Tag("v1.0.0", first)
	s.comment(pr, "walt", "/rollback staging v1.0.0")
	rb := s.deploymentsFinished(3)[2]
	if rb.Task != "deploy:rollback" || rb.SHA != first || rb.Ref != first && rb.Ref != "v1.0.0" || rb.LatestState() != "success" {
		t.Fatalf("rollback = %s %s %s %v", rb.Task, rb.SHA, rb.Ref, states(rb))
	}
	if s.Target.Live("staging") != first {
		t.Errorf("live = %s, want %s", s.Target.Live("staging"), first)
	}
}

// Outside rollback.window a rollback is refused, saying when the window
// closed; an admin's --force goes through.
func TestRollbackWindow(t *testing.T) {
	t.Parallel()
	var clk clock
	s := newStoryAt(t, strings.Replace(SandboxConfig, "    url: https://staging.shop.example\n",
		"    url: https://staging.shop.example\n    rollback: { window: 1h }\n", 1), clk.Now)
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("ada", "admin")
	_, first := s.deployPR("feature/one", "walt", 1)
	pr, _ := s.deployPR("feature/two", "walt", 2)
	clk.Advance(61 * time.Minute)

	reply := s.say(pr, "walt", "/rollback staging")
	contains(t, "reply", reply, "the rollback window of `staging` closed at ")
	contains(t, "reply", reply, "1h after the deployment")
	contains(t, "reply", reply, "An admin can add `--force`: `/rollback staging --force`")
	reply = s.say(pr, "walt", "/rollback staging --force")
	contains(t, "reply", reply, "`--force` needs the admin role (you have write)")
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 2 {
		t.Fatalf("refused rollbacks created deployments (%d)", n)
	}

	s.comment(pr, "ada", "/rollback staging --force")
	rb := s.deploymentsFinished(3)[2]
	if rb.Task != "deploy:rollback" || rb.SHA != first || rb.LatestState() != "success" {
		t.Fatalf("forced rollback = %s %s %v", rb.Task, rb.SHA, states(rb))
	}
}

// /lock keeps others out (at command time, and in the lock gate for a
// deployment that was already queued); the holder deploys; /unlock lets
// the others in again.
func TestManualLock(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("mia", "write")
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("rita", "read")
	prMia, miaSHA := s.openPR("feature/mia", "mia")
	prWalt, waltSHA := s.openPR("feature/walt", "walt")

	reply := s.say(prMia, "rita", "/lock staging")
	contains(t, "reader's lock", reply, "@rita you can't lock `staging`")
	reply = s.say(prMia, "mia", "/lock staging release freeze --for 2h")
	contains(t, "lock reply", reply, "🔒 staging locked by @mia until ")
	contains(t, "lock reply", reply, " UTC: release freeze")
	contains(t, "lock reply", reply, "`/unlock staging`")

	reply = s.say(prWalt, "walt", "/deploy staging")
	contains(t, "refusal", reply, "@walt 🔒 staging locked by @mia until ")
	contains(t, "refusal", reply, "release freeze")
	contains(t, "refusal", reply, "Ask @mia to comment `/unlock staging`, or try again after ")
	reply = s.say(prWalt, "walt", "/lock staging mine now")
	contains(t, "second lock", reply, "Ask @mia to `/unlock staging` first")
	reply = s.say(prWalt, "walt", "/unlock staging")
	contains(t, "other's unlock", reply, "Only @mia or a repository admin can unlock it")
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
		t.Fatalf("refused commands created %d deployments", n)
	}

	s.comment(prMia, "mia", "/deploy staging")
	if d := s.deploymentsFinished(1)[0]; d.SHA != miaSHA || d.LatestState() != "success" {
		t.Fatalf("the holder's deploy = %s %v", d.SHA, states(d))
	}
	reply = s.say(prMia, "mia", "/unlock staging")
	contains(t, "unlock reply", reply, "🔓 `staging` unlocked")

	// walt's request queues behind mia's second deploy; mia locks staging
	// meanwhile: the lock gate blocks walt's when its turn comes.
	release := s.Target.Hold()
	defer release()
	executing := s.Target.Changed()
	s.Repo.Commit("feature/mia", map[string]string{"more.txt": "x"}, "more")
	s.comment(prMia, "mia", "/deploy staging")
	<-executing
	s.comment(prWalt, "walt", "/deploy staging")
	if err := s.Sim.WaitFor(s.ctx, func() bool {
		c := s.deploybotComments(prWalt)
		return strings.Contains(c[len(c)-1], "queued")
	}); err != nil {
		t.Fatalf("walt's deploy is not queued: %q", s.deploybotComments(prWalt))
	}
	s.say(prMia, "mia", "/lock staging hotfix only")
	release()
	deps := s.deploymentsFinished(3)
	if blocked := deps[2]; blocked.SHA != waltSHA || blocked.LatestState() != "failure" {
		t.Fatalf("walt's queued deploy = %s %v", blocked.SHA, states(blocked))
	} else {
		contains(t, "failure status", blocked.Statuses[len(blocked.Statuses)-1].Description, "locked by @mia")
	}
	// The lock gate is a row of the summary, which says what to do about it.
	if cr := s.checkRun(waltSHA, "deploy/staging"); cr.Conclusion != "failure" || !strings.Contains(cr.Output.Summary, "| `lock` | ⛔ BLOCK |") ||
		!strings.Contains(cr.Output.Summary, "/unlock staging") {
		t.Errorf("summary check run = %s %q", cr.Conclusion, cr.Output.Summary)
	}

	s.say(prMia, "mia", "/unlock staging")
	s.comment(prWalt, "walt", "/deploy staging")
	if d := s.deploymentsFinished(4)[3]; d.SHA != waltSHA || d.LatestState() != "success" {
		t.Fatalf("walt's deploy after unlock = %s %v", d.SHA, states(d))
	}
}

// /environments shows each environment's live version, lock and in-flight
// deployments in one table, from the store only.
func TestEnvironmentsTable(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("mia", "maintain")
	pr, live := s.deployPR("feature/one", "walt", 1)
	s.say(pr, "mia", "/lock production release freeze")

	release := s.Target.Hold()
	defer release()
	executing := s.Target.Changed()
	pr2, next := s.openPR("feature/two", "walt")
	s.comment(pr2, "walt", "/deploy staging")
	<-executing

	s.Sim.ResetRequests()
	reply := s.say(pr, "walt", "/environments")
	contains(t, "table", reply, "| environment | live | deployed | lock | in flight / queued |")
	contains(t, "table", reply, "| `production` (`prod`) | — | never | 🔒 production locked by @mia: release freeze | — |")
	contains(t, "table", reply, "| `staging` | `"+live[:7]+"` (`feature/one`) | ")
	contains(t, "table", reply, " by @walt | held by [deployment 2](")
	contains(t, "table", reply, ") running `"+next[:7]+"` by @walt |")
	for _, r := range s.Sim.Requests() {
		if strings.Contains(r.Operation, "deployment") {
			t.Errorf("/environments asked GitHub %s", r.Operation)
		}
	}
	release()
	s.deploymentsFinished(2)
}

// /deploy help lists every command and this repository's environments.
func TestDeployHelp(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write") // help answers users who can deploy somewhere
	pr, _ := s.openPR("feature/x", "walt")
	reply := s.say(pr, "walt", "/deploy help")
	for _, want := range []string{"`/deploy [<env>[,<env>…]] [<ref|sha>]", "`/rollback [<env>] [<sha|tag>] [--force]`",
		"`/lock <env> [reason…] [--for <duration>]`", "`/unlock <env>`", "`/environments`",
		"the default is `staging`", "| `production` | `prod` | maintain | — | 24h |", "| `staging` | — | write | — | 24h |"} {
		contains(t, "help", reply, want)
	}

	bad := newStory(t, "environments:\n  staging:\n    executor: { webhook: { url: TARGET/h } }\n    verify:\n      helth: []\n")
	bad.Repo.SetPermission("walt", "write")
	pr, _ = bad.openPR("feature/x", "walt")
	reply = bad.say(pr, "walt", "/deploy help")
	contains(t, "help with a broken config", reply, "`/rollback")
	contains(t, "help with a broken config", reply, "is invalid, so no command can deploy until it is fixed")
	contains(t, "help with a broken config", reply, "line 5")
}

// /deploy staging,production deploys staging, then production (which
// requires staging) once staging succeeded; a failing staging stops the
// chain and its record names what was not deployed.
func TestChainDeploysInOrder(t *testing.T) {
	t.Parallel()
	s := newStory(t, strings.Replace(SandboxConfig, "    permission: maintain\n", "    permission: maintain\n    requires: [staging]\n", 1))
	s.Repo.SetPermission("mia", "maintain")
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/one", "mia")

	reply := s.say(pr, "walt", "/deploy staging,prod")
	contains(t, "walt's chain", reply, "you can't deploy to `production`")
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
		t.Fatalf("a refused chain created %d deployments", n)
	}

	s.comment(pr, "mia", "/deploy staging,prod")
	deps := s.deploymentsFinished(2)
	if len(deps) != 2 {
		t.Fatalf("%d deployments, want 2", len(deps))
	}
	staging, prod := deps[0], deps[1]
	if staging.Environment != "staging" || prod.Environment != "production" || staging.SHA != sha || prod.SHA != sha ||
		staging.LatestState() != "success" || prod.LatestState() != "success" {
		t.Fatalf("chain = %s %s %v / %s %s %v", staging.Environment, staging.SHA, states(staging), prod.Environment, prod.SHA, states(prod))
	}
	if done := staging.Statuses[len(staging.Statuses)-1].CreatedAt; prod.CreatedAt.Before(done) {
		t.Errorf("production started at %s, before staging succeeded at %s", prod.CreatedAt, done)
	}
	if p := payloadDeploybot(t, prod); p["trigger"] != "chain" || p["requested_by"] != "mia" {
		t.Errorf("production payload = %v", p)
	}
	records := s.deploybotComments(pr)
	contains(t, "staging record", records[len(records)-2], "| **Next** | `production`")

	pr2, bad := s.openPR("feature/bad", "mia")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr2, "mia", "/deploy staging,production")
	deps = s.deploymentsFinished(3)
	if len(deps) != 3 || deps[2].LatestState() != "failure" {
		t.Fatalf("after a failing staging: %d deployments, last %v", len(deps), summarize(deps))
	}
	records = s.deploybotComments(pr2)
	if len(records) != 1 {
		t.Fatalf("comments on the failed chain: %q", records)
	}
	contains(t, "failed record", records[0], "| **Not deployed** | `production`: the chain stopped")

	// A lock on the next environment stops the chain with a reply.
	pr3, third := s.openPR("feature/three", "mia")
	s.Repo.SetPermission("max", "maintain")
	s.say(pr3, "max", "/lock production freeze")
	s.comment(pr3, "mia", "/deploy staging,production")
	deps = s.deploymentsFinished(4)
	s.settle()
	if len(deps) != 4 || deps[3].SHA != third || deps[3].Environment != "staging" {
		t.Fatalf("locked chain: %v", summarize(deps))
	}
	comments := s.deploybotComments(pr3)
	last := comments[len(comments)-1]
	contains(t, "chain refusal", last, "is live in **staging**, but I did not go on to `production`: 🔒 production locked by @max: freeze")
	contains(t, "chain refusal", last, "Not deployed: `production`")
	contains(t, "chain refusal", last, "`/deploy production "+third+"`")
}

// The Rollback button honours rollback.window too (default 24h), pointing
// an admin to `/rollback --force`.
func TestRollbackButtonAfterWindow(t *testing.T) {
	t.Parallel()
	var clk clock
	s := newStoryAt(t, "", clk.Now)
	s.Repo.SetPermission("mia", "maintain")
	s.deployPR("feature/good", "mia", 1)
	pr, bad := s.openPR("feature/bad", "mia")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr, "mia", "/deploy staging")
	s.deploymentsFinished(2)

	clk.Advance(25 * time.Hour)
	s.Sim.PressRequestedAction(SandboxRepoFull, s.checkRun(bad, "deploy/staging").ID, "mia", "rollback")
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 2 {
		t.Fatalf("a rollback outside the window started (%d deployments)", n)
	}
	replies := s.deploybotComments(pr)
	reply := replies[len(replies)-1]
	contains(t, "reply", reply, "the rollback window of `staging` closed at ")
	contains(t, "reply", reply, "`/rollback staging ")
	contains(t, "reply", reply, " --force`")
}
