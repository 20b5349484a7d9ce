package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/internal/githubsim"
)

// A writer comments /deploy staging; staging is live, and everything GitHub
// shows about it is right.
func TestWriterDeploysPRToStaging(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/cart", "walt")
	commentID := s.comment(pr, "walt", "/deploy staging")

	deps := s.deploymentsFinished(1)
	if len(deps) != 1 {
		t.Fatalf("want exactly one deployment (the echoed deployment webhook must not start a second run), got %d", len(deps))
	}
	d := deps[0]
	if d.SHA != sha || d.Environment != "staging" || d.Task != "deploy" || d.ProductionEnvironment {
		t.Fatalf("deployment = %+v", d)
	}
	// Statuses at phase changes only: queued, in_progress once the gates
	// passed (naming them), the final state.
	if got, want := strings.Join(states(d), ","), "queued,in_progress,success"; got != want {
		t.Errorf("statuses = %s, want %s", got, want)
	}
	last := d.Statuses[len(d.Statuses)-1]
	if last.EnvironmentURL != "https://staging.shop.example" || !strings.Contains(last.LogURL, "/deployments/") {
		t.Errorf("success status environment_url=%q log_url=%q", last.EnvironmentURL, last.LogURL)
	}
	if got := d.Statuses[1].Description; got != "Gates passed: permission, lock, checks" {
		t.Errorf("in_progress status = %q, want the gates that passed", got)
	}
	p := payloadDeploybot(t, d)
	if p["trigger"] != "comment" || p["requested_by"] != "walt" || p["strategy"] != "direct" || p["rollback_of"] != nil {
		t.Errorf("payload.deploybot = %v", p)
	}
	if got := s.Target.Live("staging"); got != sha {
		t.Errorf("target has %s live, want %s", got, sha)
	}
	calls, keys := s.Target.Calls()
	if len(calls) != 1 || calls[0].Action != "deploy" || calls[0].DeploymentID != d.ID || keys[0] == "" {
		t.Errorf("executor calls = %+v keys %v", calls, keys)
	}

	cr := s.checkRun(sha, "deploy/staging")
	if cr.Status != "completed" || cr.Conclusion != "success" || cr.Output.Title != "overall_status=PASS" {
		t.Errorf("check run = %s/%s %q", cr.Status, cr.Conclusion, cr.Output.Title)
	}
	s.assertSummaryOnlyGates(sha, "staging")
	if len(cr.Actions) != 0 {
		t.Errorf("a successful deployment offers actions %v", cr.Actions)
	}

	if r := s.Sim.Reactions(commentID); len(r) != 1 || r[0].Content != "eyes" {
		t.Errorf("reactions on the command = %+v, want one 👀", r)
	}
	comments := s.deploybotComments(pr)
	if len(comments) != 1 {
		t.Fatalf("deploybot wrote %d comments, want one record edited in place: %q", len(comments), comments)
	}
	record := comments[0]
	for _, want := range []string{"is live in **staging**", sha, "@walt (comment)", "| finish | done |", "| verify | done |", "GitHub deployment"} {
		contains(t, "record", record, want)
	}
}

// API economy: the happy path stays within 25 requests after the token
// exchange; a second deploy re-reads config and permission as 304s.
func TestDeployAPIEconomy(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/a", "walt")
	s.settle() // the config push's deploy/config check is not part of a deploy
	s.Sim.ResetRequests()
	s.comment(pr, "walt", "/deploy staging")
	s.deploymentsFinished(1)

	count := func(reqs []githubsim.Request) (total int, ops map[string]int) {
		ops = map[string]int{}
		for _, r := range reqs {
			if r.Operation == "apps/create-installation-access-token" || r.Operation == "apps/get-authenticated" {
				continue
			}
			total++
			ops[r.Operation]++
		}
		return total, ops
	}
	total, ops := count(s.Sim.Requests())
	t.Logf("first deploy: %d requests: %v", total, ops)
	if total > 16 {
		t.Errorf("happy-path /deploy staging made %d REST requests, budget is 16: %v", total, ops)
	}
	// GitHub's write budget (issue 9): 👀, the deployment, queued /
	// in_progress / success, the record posted and edited once, the checks
	// gate's check run (created completed), the summary created and completed.
	w := countWrites(s.Sim.Requests())
	t.Logf("first deploy: %d writes: %s", w.total, w)
	if w.total > 10 {
		t.Errorf("plain /deploy staging made %d writes, budget 10: %s", w.total, w)
	}

	s.Sim.ResetRequests()
	s.Repo.Commit("feature/a", map[string]string{"more.txt": "x"}, "second commit")
	s.comment(pr, "walt", "/deploy staging")
	s.deploymentsFinished(2)
	reqs := s.Sim.Requests()
	total2, ops2 := count(reqs)
	t.Logf("second deploy: %d requests: %v", total2, ops2)
	// Over a live version the backup tag is one write more.
	w2 := countWrites(reqs)
	t.Logf("second deploy: %d writes: %s", w2.total, w2)
	if w2.total > 11 || w2.ops["git/create-ref"] != 1 {
		t.Errorf("second /deploy staging made %d writes, budget 10 + the backup tag: %s", w2.total, w2)
	}
	notModified := map[string]bool{}
	for _, r := range reqs {
		if r.Status == 304 {
			notModified[r.Operation] = true
		}
	}
	for _, op := range []string{"repos/get-content", "repos/get-collaborator-permission-level"} {
		if !notModified[op] {
			t.Errorf("second deploy did not re-read %s with a conditional request (304s: %v)", op, notModified)
		}
	}
	if ops2["apps/create-installation-access-token"] != 0 {
		t.Errorf("second deploy exchanged a new installation token; tokens must be cached")
	}
}

// A second deploy tags a backup of what was live; a failing one gets
// rollback instructions and a Rollback button; pressing it redeploys the
// previous good SHA as a deploy:rollback deployment.
func TestFailedDeployIsRolledBackWithTheButton(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("mia", "maintain")
	s.Repo.SetPermission("rita", "read")
	pr1, good := s.openPR("feature/good", "mia")
	s.comment(pr1, "mia", "/deploy staging")
	s.deploymentsFinished(1)

	pr2, bad := s.openPR("feature/bad", "mia")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr2, "mia", "/deploy")
	deps := s.deploymentsFinished(2)
	failed := deps[1]
	if failed.SHA != bad || failed.LatestState() != "failure" {
		t.Fatalf("second deployment = %s %v", failed.SHA, states(failed))
	}
	contains(t, "failure status", failed.Statuses[len(failed.Statuses)-1].Description, "health check")

	var backup string
	for ref, sha := range s.Sim.Refs(SandboxRepoFull) {
		if strings.HasPrefix(ref, "refs/tags/deploy-backup/staging/") {
			if sha != good {
				t.Errorf("backup tag %s points at %s, want the live %s", ref, sha, good)
			}
			backup = ref
		}
	}
	if backup == "" {
		t.Fatalf("no backup tag created before deploying over %s", good)
	}

	cr := s.checkRun(bad, "deploy/staging")
	if cr.Conclusion != "failure" || len(cr.Actions) != 1 || cr.Actions[0].Identifier != "rollback" {
		t.Fatalf("failed check run = %s %+v", cr.Conclusion, cr.Actions)
	}
	if a := cr.Actions[0]; len(a.Label) > 20 || len(a.Description) > 40 {
		t.Errorf("action exceeds GitHub's limits: %+v", a)
	}
	record := s.deploybotComments(pr2)[0]
	contains(t, "failed record", record, "**Rollback** to `"+good[:7]+"`")
	contains(t, "failed record", record, strings.TrimPrefix(backup, "refs/tags/"))

	// A reader presses the button: refused with a reply, nothing deployed.
	s.Sim.PressRequestedAction(SandboxRepoFull, cr.ID, "rita", "rollback")
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 2 {
		t.Fatalf("a read-only user's rollback created a deployment")
	}
	comments := s.deploybotComments(pr2)
	contains(t, "reply to reader", comments[len(comments)-1], "@rita you can't roll back")

	// The maintainer presses it (twice: one rollback).
	s.Sim.PressRequestedAction(SandboxRepoFull, cr.ID, "mia", "rollback")
	s.Sim.PressRequestedAction(SandboxRepoFull, cr.ID, "mia", "rollback")
	deps = s.deploymentsFinished(3)
	if len(deps) != 3 {
		t.Fatalf("two presses made %d deployments, want 3 in all", len(deps))
	}
	rb := deps[2]
	if rb.Task != "deploy:rollback" || rb.SHA != good || rb.LatestState() != "success" {
		t.Fatalf("rollback deployment = task %s sha %s states %v", rb.Task, rb.SHA, states(rb))
	}
	if p := payloadDeploybot(t, rb); fmt.Sprintf("%.0f", p["rollback_of"]) != fmt.Sprint(failed.ID) || p["trigger"] != "rollback-button" {
		t.Errorf("rollback payload = %v, want rollback_of %d", p, failed.ID)
	}
	if s.Target.Live("staging") != good {
		t.Errorf("after rollback %s is live, want %s", s.Target.Live("staging"), good)
	}
	calls, _ := s.Target.Calls()
	if last := calls[len(calls)-1]; last.Action != "rollback" || last.SHA != good {
		t.Errorf("last executor call = %+v", last)
	}
}

// Production: GitHub leaves older production deployments active, so
// deploybot marks the previous one inactive itself.
func TestProductionSuccessDeactivatesPrevious(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("mia", "maintain")
	pr1, _ := s.openPR("feature/one", "mia")
	s.comment(pr1, "mia", "/deploy prod")
	s.deploymentsFinished(1)
	pr2, _ := s.openPR("feature/two", "mia")
	s.comment(pr2, "mia", "/deploy production")
	deps := s.deploymentsFinished(2)
	if !deps[0].ProductionEnvironment || deps[0].Environment != "production" {
		t.Fatalf("first deployment is not a production one: %+v", deps[0])
	}
	if deps[0].LatestState() != "inactive" || deps[1].LatestState() != "success" {
		t.Fatalf("states: first %v, second %v", states(deps[0]), states(deps[1]))
	}
}

// Commands deploybot cannot run get one short reply and nothing else.
func TestCommandsThatCannotRunGetOneReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, user, role, body string
		fork                   bool
		reply                  string
	}{
		{name: "unknown environment", user: "walt", role: "write", body: "/deploy qa", reply: "unknown environment `qa` (known: `production`, `staging`)"},
		{name: "bad flag", user: "walt", role: "write", body: "/deploy staging --force", reply: "unknown flag `--force`"},
		{name: "writer to production", user: "walt", role: "write", body: "/deploy prod", reply: "needs maintain"},
		{name: "triage user", user: "tina", role: "triage", body: "/deploy staging", reply: "@tina has triage"},
		{name: "outsider", user: "olga", role: "", body: "/deploy staging", reply: "@olga has read"},
		{name: "fork head", user: "walt", role: "write", body: "/deploy staging", fork: true, reply: "comes from a fork"},
		{name: "unknown ref", user: "walt", role: "write", body: "/deploy staging no-such-branch", reply: "can't find `no-such-branch`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStory(t, "")
			if tc.role != "" {
				s.Repo.SetPermission(tc.user, tc.role)
			}
			var pr int
			if tc.fork {
				fork := s.Sim.AddRepo("mallory", "shop", "main")
				fork.Commit("evil", map[string]string{"x": "y"}, "evil")
				pr = s.Repo.OpenForkPR(fork, "evil", "main", "mallory", "Improve things")
			} else {
				pr, _ = s.openPR("feature/x", tc.user)
			}
			id := s.comment(pr, tc.user, tc.body)
			s.settle()
			if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
				t.Fatalf("%d deployments created", n)
			}
			replies := s.deploybotComments(pr)
			if len(replies) != 1 {
				t.Fatalf("deploybot wrote %d comments, want 1: %q", len(replies), replies)
			}
			contains(t, "reply", replies[0], tc.reply)
			contains(t, "reply", replies[0], "@"+tc.user)
			// Users below triage get no 👀 (no amplification).
			if r, want := s.Sim.Reactions(id), btoi(tc.role != ""); len(r) != want {
				t.Errorf("want %d 👀 reactions, got %+v", want, r)
			}
		})
	}
}

// Edited comments, other bots and plain comments are ignored entirely.
func TestIgnoredComments(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	s.comment(pr, "walt", "looks good, will /deploy later")
	id := s.comment(pr, "walt", "thanks")
	s.Sim.EditComment(id, "/deploy staging")
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
		t.Fatalf("%d deployments from ignored comments", n)
	}
	if c := s.deploybotComments(pr); len(c) != 0 {
		t.Fatalf("deploybot answered ignored comments: %q", c)
	}
}

// --dry-run runs the gates and reports; nothing is deployed.
func TestDryRunDeploysNothing(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/x", "walt")
	s.comment(pr, "walt", "/deploy staging --dry-run")
	if err := s.Sim.WaitFor(s.ctx, func() bool {
		c := s.deploybotComments(pr)
		return len(c) == 1 && strings.Contains(c[0], "Dry run")
	}); err != nil {
		t.Fatalf("no dry-run record: %q", s.deploybotComments(pr))
	}
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
		t.Fatalf("a dry run created %d deployments", n)
	}
	if calls, _ := s.Target.Calls(); len(calls) != 0 {
		t.Fatalf("a dry run called the executor")
	}
	cr := s.checkRun(sha, "deploy/staging")
	if cr.Output.Title != "overall_status=PASS" || cr.Conclusion != "success" {
		t.Errorf("dry-run check run = %s %q", cr.Conclusion, cr.Output.Title)
	}
	contains(t, "dry-run record", s.deploybotComments(pr)[0], "nothing was deployed")
}

// A redelivered webhook has exactly one effect.
func TestRedeliveredCommentDeploysOnce(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	s.comment(pr, "walt", "/deploy staging")
	s.deploymentsFinished(1)
	var id string
	for _, d := range s.Sim.Deliveries() {
		if d.Event == "issue_comment" {
			id = d.ID
		}
	}
	if err := s.Sim.Redeliver(id); err != nil {
		t.Fatal(err)
	}
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 1 {
		t.Fatalf("redelivery made %d deployments, want 1", n)
	}
	var statuses []int
	for _, d := range s.Sim.Deliveries() {
		if d.ID == id {
			statuses = append(statuses, d.Status)
		}
	}
	if len(statuses) != 2 || statuses[0] != 202 || statuses[1] != 202 {
		t.Errorf("delivery answers = %v, want 202 twice", statuses)
	}
}

// A 202 from the create-deployment endpoint (GitHub auto-merged instead of
// deploying) is an error, never a deployment.
func TestAutoMerge202IsAnError(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	s.Sim.Inject(githubsim.Fault{Method: "POST", PathPrefix: "/repos/acme/shop/deployments", N: 1, Status: 202,
		Body: `{"message":"Auto-merged main into feature/x on deployment."}`})
	s.comment(pr, "walt", "/deploy staging")
	if err := s.Sim.WaitFor(s.ctx, func() bool {
		c := s.deploybotComments(pr)
		return len(c) == 1 && strings.Contains(c[0], "failed")
	}); err != nil {
		t.Fatalf("no failure record: %q", s.deploybotComments(pr))
	}
	s.settle()
	contains(t, "record", s.deploybotComments(pr)[0], "202")
	if calls, _ := s.Target.Calls(); len(calls) != 0 {
		t.Fatalf("executor called after a 202")
	}
}

// On an issue (not a PR) /deploy deploys the default branch's head.
func TestDeployFromAnIssueUsesTheDefaultBranch(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	issue := s.Repo.OpenIssue("walt", "Release train")
	s.comment(issue, "walt", "/deploy")
	deps := s.deploymentsFinished(1)
	if deps[0].SHA != s.Repo.Head("main") || deps[0].Environment != "staging" || deps[0].LatestState() != "success" {
		t.Fatalf("deployment = %s %s %v, want main's head to staging", deps[0].SHA, deps[0].Environment, states(deps[0]))
	}
	if c := s.deploybotComments(issue); len(c) != 1 || !strings.Contains(c[0], "`main` at") {
		t.Fatalf("record on the issue = %q", c)
	}
}

// A deployment someone without the environment's permission created is
// adopted but blocked by the permission gate, visibly on that deployment,
// and nothing is deployed.
func TestForeignDeploymentByReaderIsBlocked(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Sim.CreateDeployment(SandboxRepoFull, "octocat", "main", "staging", "deploy", map[string]any{})
	deps := s.deploymentsFinished(1)
	if len(deps) != 1 || deps[0].LatestState() != "failure" {
		t.Fatalf("deployments = %+v", summarize(deps))
	}
	contains(t, "failure status", deps[0].Statuses[len(deps[0].Statuses)-1].Description, "permission")
	if calls, _ := s.Target.Calls(); len(calls) != 0 {
		t.Fatal("executor called for a deployment its creator may not make")
	}
}

// Config problems are the user's to fix: a reply naming the lines, never a
// failed delivery.
func TestConfigProblemsAreReplies(t *testing.T) {
	t.Parallel()
	t.Run("invalid config", func(t *testing.T) {
		s := newStory(t, "environments:\n  staging:\n    executor: { webhook: { url: TARGET/h } }\n    verify:\n      helth: []\n")
		s.Repo.SetPermission("walt", "write")
		pr, _ := s.openPR("feature/x", "walt")
		s.comment(pr, "walt", "/deploy staging")
		s.settle()
		replies := s.deploybotComments(pr)
		if len(replies) != 1 {
			t.Fatalf("replies = %q", replies)
		}
		contains(t, "reply", replies[0], "is invalid")
		contains(t, "reply", replies[0], "line 5")
		contains(t, "reply", replies[0], "helth")
		s.allDeliveriesAccepted()
	})
	t.Run("no config", func(t *testing.T) {
		s := newStory(t, "")
		bare := s.Sim.AddRepo(SandboxOwner, "bare", "main")
		bare.Commit("main", map[string]string{"README.md": "bare"}, "init")
		bare.SetPermission("walt", "write")
		bare.Commit("feature/x", map[string]string{"x": "y"}, "change")
		pr := bare.OpenPR("feature/x", "main", "walt", "x")
		s.Sim.Comment(bare.FullName(), pr, "walt", "/deploy staging")
		s.settle()
		var replies []string
		for _, c := range s.Sim.Comments(bare.FullName(), pr) {
			if c.User == s.Sim.BotLogin() {
				replies = append(replies, c.Body)
			}
		}
		if len(replies) != 1 {
			t.Fatalf("replies = %q", replies)
		}
		contains(t, "reply", replies[0], "there is no `.github/deploy.yml` on `main`")
		s.allDeliveriesAccepted()
	})
}

func (s *story) allDeliveriesAccepted() {
	s.t.Helper()
	for _, d := range s.Sim.Deliveries() {
		if d.Status != 202 {
			s.t.Errorf("delivery %s answered %d", d.Event, d.Status)
		}
	}
}

// The executor refuses (non-2xx): the deployment fails with its answer, and
// verification never runs.
func TestExecutorRefusalFailsTheDeployment(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr1, good := s.openPR("feature/good", "walt")
	s.comment(pr1, "walt", "/deploy staging")
	s.deploymentsFinished(1)
	pr2, bad := s.openPR("feature/bad", "walt")
	s.Target.Refuse(bad)
	s.comment(pr2, "walt", "/deploy staging")
	deps := s.deploymentsFinished(2)
	failed := deps[1]
	if failed.LatestState() != "failure" {
		t.Fatalf("states = %v", states(failed))
	}
	contains(t, "failure status", failed.Statuses[len(failed.Statuses)-1].Description, "executor answered HTTP 500")
	if got := strings.Join(states(failed), ","); got != "queued,in_progress,failure" {
		t.Errorf("statuses = %s, want queued,in_progress,failure", got)
	}
	if s.Target.Live("staging") != good {
		t.Errorf("live = %s, want %s unchanged", s.Target.Live("staging"), good)
	}
	record := s.deploybotComments(pr2)[0]
	contains(t, "record", record, "| verify | skipped |")
	contains(t, "record", record, "**Rollback** to `"+good[:7]+"`")
	if cr := s.checkRun(bad, "deploy/staging"); len(cr.Actions) != 1 {
		t.Errorf("no Rollback button after an executor failure")
	}
}
