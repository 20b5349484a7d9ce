package app

import (
	"fmt"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// intakePayload builds a delivery of the sandbox repository; fields is the
// rest of the JSON object.
func intakePayload(fields string) []byte {
	return []byte(fmt.Sprintf(`{"repository":{"full_name":%q,"name":"shop","owner":{"login":"acme"}},%s}`, SandboxRepoFull, fields))
}

// counterValue reads deploybot_webhooks_total{event, outcome}.
func counterValue(t *testing.T, a *App, event, outcome string) float64 {
	t.Helper()
	var m dto.Metric
	if err := a.metrics.webhooks.WithLabelValues(event, outcome).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// Deliveries that concern nothing deploybot is doing — its own echoes, and
// checks on commits no deployment is on — are answered 202 without a write
// and counted as skipped; those a handler acts on are stored.
func TestIntakeSkipsWhatConcernsNothing(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.settle()
	bot := s.Sim.BotLogin()
	app := s.Sim.AppID()
	const sha = "0123456789abcdef0123456789abcdef01234567" // no deployment is on it
	for _, tc := range []struct {
		name, event, fields string
		stored              bool
	}{
		{"deploybot's deployment status", "deployment_status",
			`"action":"created","deployment":{"id":9},"deployment_status":{"state":"success","creator":{"login":"` + bot + `","type":"Bot"}}`, false},
		{"an executor's status on deploybot's deployment", "deployment_status",
			`"action":"created","deployment":{"id":9,"creator":{"login":"` + bot + `"}},"deployment_status":{"state":"success","creator":{"login":"ci-runner","type":"User"}}`, true},
		{"deploybot's deployment (its app)", "deployment",
			fmt.Sprintf(`"action":"created","deployment":{"id":9,"creator":{"login":"walt"},"performed_via_github_app":{"id":%d}}`, app), false},
		{"deploybot's deployment (its bot user)", "deployment",
			`"action":"created","deployment":{"id":9,"creator":{"login":"` + bot + `"}}`, false},
		{"someone else's deployment", "deployment",
			`"action":"created","deployment":{"id":9,"creator":{"login":"walt"},"performed_via_github_app":{"id":77}}`, true},
		{"deploybot's comment", "issue_comment",
			`"action":"created","issue":{"number":1},"comment":{"id":5,"body":"deployed","user":{"login":"` + bot + `","type":"Bot"}},"sender":{"login":"` + bot + `","type":"Bot"}`, false},
		{"an edited comment", "issue_comment",
			`"action":"edited","issue":{"number":1},"comment":{"id":5,"body":"/deploy staging","user":{"login":"walt","type":"User"}},"sender":{"login":"walt","type":"User"}`, false},
		{"a person's comment", "issue_comment",
			`"action":"created","issue":{"number":1},"comment":{"id":5,"body":"looks good","user":{"login":"walt","type":"User"}},"sender":{"login":"walt","type":"User"}`, true},
		{"deploybot's check run completed", "check_run",
			fmt.Sprintf(`"action":"completed","check_run":{"id":3,"head_sha":%q,"app":{"id":%d}}`, sha, app), false},
		{"deploybot's check run created", "check_run",
			fmt.Sprintf(`"action":"created","check_run":{"id":3,"head_sha":%q,"app":{"id":%d}}`, sha, app), false},
		{"the Rollback button pressed", "check_run",
			fmt.Sprintf(`"action":"requested_action","requested_action":{"identifier":"rollback"},"check_run":{"id":3,"head_sha":%q,"app":{"id":%d}},"sender":{"login":"walt","type":"User"}`, sha, app), true},
		{"deploybot's check suite", "check_suite",
			fmt.Sprintf(`"action":"completed","check_suite":{"id":3,"head_sha":%q,"app":{"id":%d}}`, sha, app), false},
		{"CI's check suite on a commit nobody deploys", "check_suite",
			fmt.Sprintf(`"action":"completed","check_suite":{"id":3,"head_sha":%q,"app":{"id":77}}`, sha), false},
		{"CI's check run on a commit nobody deploys", "check_run",
			fmt.Sprintf(`"action":"completed","check_run":{"id":3,"head_sha":%q,"app":{"id":77}}`, sha), false},
		{"a status on a commit nobody deploys", "status",
			fmt.Sprintf(`"state":"success","sha":%q,"context":"ci"`, sha), false},
		{"a pull request opened", "pull_request", `"action":"opened","number":7,"pull_request":{"number":7,"head":{"sha":"abc"}}`, false},
		{"a pull request's head moved", "pull_request",
			`"action":"synchronize","installation":{"id":4242},"number":7,"pull_request":{"number":7,"head":{"sha":"abc"}}`, true},
		{"a push to another branch", "push", `"ref":"refs/heads/feature","after":"abc"`, false},
		{"a workflow run that started", "workflow_run", `"action":"requested","workflow_run":{"id":1,"event":"workflow_dispatch"}`, false},
		{"a dispatched workflow run that completed", "workflow_run", `"action":"completed","workflow_run":{"id":1,"event":"workflow_dispatch"}`, true},
		{"a check run without a SHA", "check_run",
			`"action":"completed","check_run":{"id":3,"app":{"id":77}}`, true},
		{"a check run whose action does not decode", "check_run", `"action":5`, true},
		{"deploybot's check run with an app go-github cannot decode", "check_run",
			fmt.Sprintf(`"action":"completed","check_run":{"id":3,"head_sha":%q,"app":{"id":"%d"}}`, sha, app), true},
		{"a check suite that is not an object", "check_suite", `"action":"completed","check_suite":"x"`, true},
		{"deploybot's comment with a numeric user type", "issue_comment",
			`"action":"created","issue":{"number":1},"comment":{"id":5,"body":"x","user":{"login":"` + bot + `","type":1}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := intakePayload(tc.fields)
			before, err := s.App.Store.CountDeliveries(s.ctx)
			if err != nil {
				t.Fatal(err)
			}
			skipped := counterValue(t, s.App, tc.event, "skipped")
			delivery := "skip-" + strings.ReplaceAll(tc.name, " ", "-")
			if code, msg := postHook(t, s.Server.URL, tc.event, delivery, sign(sandboxWebhookSecret, body), body); code != 202 {
				t.Fatalf("answered %d %s, want 202", code, msg)
			}
			after, err := s.App.Store.CountDeliveries(s.ctx)
			if err != nil {
				t.Fatal(err)
			}
			counted := counterValue(t, s.App, tc.event, "skipped") - skipped
			if stored := after - before; tc.stored && (stored != 1 || counted != 0) {
				t.Errorf("stored %d deliveries and counted %v skipped, want it stored", stored, counted)
			} else if !tc.stored && (stored != 0 || counted != 1) {
				t.Errorf("stored %d deliveries and counted %v skipped, want it skipped without a write", stored, counted)
			}
		})
	}
	s.settle() // what was stored is handled (or cancelled as unhandleable)
}

// A check suite on the commit a deployment waits on is stored and wakes the
// deployment (which re-reads its checks); one on another commit is not
// stored. The emulator's own check_run/check_suite completing the CI then
// finishes the deploy.
func TestIntakeStoresChecksOnlyForWatchedCommits(t *testing.T) {
	t.Parallel()
	s := newStory(t, gatedConfig)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/cart", "walt")
	ci := s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	s.comment(pr, "walt", "/deploy staging")
	s.waitForDeployment("queued", "Waiting for ci/test")
	s.settle()
	waiting, err := s.App.Store.Unfinished(s.ctx, SandboxRepoFull)
	if err != nil || len(waiting) != 1 {
		t.Fatalf("unfinished deployments = %d (%v), want 1", len(waiting), err)
	}
	wakes := waiting[0].Wakes

	post := func(delivery, headSHA string) (stored int) {
		t.Helper()
		body := intakePayload(fmt.Sprintf(`"action":"completed","installation":{"id":4242},"check_suite":{"id":31,"head_sha":%q,"app":{"id":77}}`, headSHA))
		before, _ := s.App.Store.CountDeliveries(s.ctx)
		if code, msg := postHook(t, s.Server.URL, "check_suite", delivery, sign(sandboxWebhookSecret, body), body); code != 202 {
			t.Fatalf("answered %d %s, want 202", code, msg)
		}
		after, _ := s.App.Store.CountDeliveries(s.ctx)
		return after - before
	}
	if n := post("suite-other", "fedcba9876543210fedcba9876543210fedcba98"); n != 0 {
		t.Errorf("a check suite on a commit nobody deploys stored %d deliveries, want 0", n)
	}
	s.Sim.ResetRequests()
	if n := post("suite-watched", sha); n != 1 {
		t.Fatalf("a check suite on the waiting deployment's commit stored %d deliveries, want 1", n)
	}
	s.settle()
	woken, err := s.App.Store.Deployment(s.ctx, waiting[0].ID)
	if err != nil || woken.Wakes <= wakes {
		t.Errorf("wakes = %d (%v), want more than %d: the stored check suite did not wake the deployment", woken.Wakes, err, wakes)
	}
	reread := 0
	for _, r := range s.Sim.Requests() {
		if strings.Contains(r.Path, "/commits/"+sha+"/check-runs") {
			reread++
		}
	}
	if reread == 0 {
		t.Errorf("the woken deployment did not re-read its checks: %v", s.Sim.Requests())
	}

	s.Sim.CompleteCheckRun(ci, "success") // the emulator's check_run and check_suite
	if deps := s.deploymentsFinished(1); deps[0].LatestState() != "success" {
		t.Fatalf("deployment = %v, want success", states(deps[0]))
	}

	// Once the deployment has finished its commit is dropped at the next
	// lookup (which a check on an unknown commit makes).
	if n := post("suite-other-2", "00000000000000000000000000000000000000aa"); n != 0 {
		t.Errorf("a check suite on a commit nobody deploys stored %d deliveries, want 0", n)
	}
	if n := post("suite-finished", sha); n != 0 {
		t.Errorf("a check suite on a finished deployment's commit stored %d deliveries, want 0", n)
	}
}
