package githubsim

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

func TestWebhooks(t *testing.T) {
	f := newFixture(t)
	sink := newSink(t, f.sim)
	f.repo.Commit("feature", map[string]string{"x": "y"}, "feature")
	n := f.repo.OpenPR("feature", "main", "alice", "Feature")

	_, ev := sink.next(t)
	if pe, ok := ev.(*github.PushEvent); !ok || pe.GetRef() != "refs/heads/feature" || !pe.GetCreated() {
		t.Fatalf("push: %T %+v", ev, ev)
	}
	r, ev := sink.next(t)
	pre, ok := ev.(*github.PullRequestEvent)
	if !ok || pre.GetAction() != "opened" || pre.GetPullRequest().GetHead().GetSHA() != f.repo.Head("feature") {
		t.Fatalf("pull_request: %T %+v", ev, pre)
	}
	if r.header.Get("X-GitHub-Hook-Installation-Target-ID") != "7" || r.header.Get("X-GitHub-Hook-Installation-Target-Type") != "integration" || r.header.Get("X-Hub-Signature") == "" {
		t.Fatalf("headers %v", r.header)
	}

	cid := f.sim.Comment("acme/shop", n, "alice", "/deploy staging")
	r, ev = sink.next(t)
	ice, ok := ev.(*github.IssueCommentEvent)
	if !ok || ice.GetAction() != "created" || ice.GetComment().GetBody() != "/deploy staging" || ice.GetComment().GetID() != cid ||
		ice.GetIssue().GetNumber() != n || !ice.GetIssue().IsPullRequest() || ice.GetRepo().GetFullName() != "acme/shop" ||
		ice.GetInstallation().GetID() != instID || ice.GetSender().GetLogin() != "alice" {
		t.Fatalf("issue_comment: %s", r.payload)
	}
	first := r.delivery

	f.sim.EditComment(cid, "/deploy production")
	_, ev = sink.next(t)
	if e := ev.(*github.IssueCommentEvent); e.GetAction() != "edited" || e.GetChanges().GetBody().GetFrom() != "/deploy staging" {
		t.Fatalf("edited: %+v", e)
	}

	if _, _, err := f.client.Reactions.CreateIssueCommentReaction(f.ctx, "acme", "shop", cid, "eyes"); err != nil {
		t.Fatal(err)
	}
	if rs := f.sim.Reactions(cid); len(rs) != 1 || rs[0].Content != "eyes" || rs[0].User != "deploybot[bot]" {
		t.Fatalf("reactions %+v", rs)
	}

	// The app's own comment comes back as a webhook, as on GitHub.
	c, _, err := f.client.Issues.CreateComment(f.ctx, "acme", "shop", n, &github.IssueComment{Body: github.String("Deploying...")})
	if err != nil {
		t.Fatal(err)
	}
	_, ev = sink.next(t)
	if e := ev.(*github.IssueCommentEvent); e.GetSender().GetLogin() != "deploybot[bot]" || e.GetSender().GetType() != "Bot" || e.GetComment().GetID() != c.GetID() {
		t.Fatalf("own comment: %+v", e.GetSender())
	}
	if _, _, err := f.client.Issues.EditComment(f.ctx, "acme", "shop", c.GetID(), &github.IssueComment{Body: github.String("Deployed")}); err != nil {
		t.Fatal(err)
	}
	sink.next(t)
	if _, resp, err := f.client.Issues.EditComment(f.ctx, "acme", "shop", cid, &github.IssueComment{Body: github.String("hijack")}); err == nil || resp.StatusCode != 403 {
		t.Fatalf("editing someone else's comment: %v", err)
	}

	sha := f.repo.PRHead(n)
	d, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", &github.DeploymentRequest{
		Ref: github.String(sha), Environment: github.String("staging"), RequiredContexts: &[]string{},
		Payload: map[string]any{"deploybot": map[string]any{"trigger": "comment"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, ev = sink.next(t)
	de := ev.(*github.DeploymentEvent)
	if de.GetDeployment().GetID() != d.GetID() || de.GetDeployment().GetCreator().GetLogin() != "deploybot[bot]" || de.GetDeployment().GetEnvironment() != "staging" {
		t.Fatalf("deployment event %+v", de.GetDeployment())
	}
	var payload map[string]map[string]string
	if err := json.Unmarshal(de.GetDeployment().Payload, &payload); err != nil || payload["deploybot"]["trigger"] != "comment" {
		t.Fatalf("payload %s", de.GetDeployment().Payload)
	}
	if _, _, err := f.client.Repositories.CreateDeploymentStatus(f.ctx, "acme", "shop", d.GetID(), &github.DeploymentStatusRequest{State: github.String("in_progress"), Description: github.String("gates")}); err != nil {
		t.Fatal(err)
	}
	_, ev = sink.next(t)
	if dse := ev.(*github.DeploymentStatusEvent); dse.GetDeploymentStatus().GetState() != "in_progress" || dse.GetDeployment().GetID() != d.GetID() {
		t.Fatalf("deployment_status %+v", dse)
	}

	cr, _, err := f.client.Checks.CreateCheckRun(f.ctx, "acme", "shop", github.CreateCheckRunOptions{
		Name: "deploy/staging", HeadSHA: sha, Status: github.String("completed"), Conclusion: github.String("failure"),
		Output:  &github.CheckRunOutput{Title: github.String("overall_status=BLOCK"), Summary: github.String("blocked")},
		Actions: []*github.CheckRunAction{{Label: "Rollback", Description: "Redeploy the previous good version", Identifier: "rollback"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"created", "completed"} {
		_, ev = sink.next(t)
		if e := ev.(*github.CheckRunEvent); e.GetAction() != want || e.GetCheckRun().GetID() != cr.GetID() || e.GetCheckRun().GetApp().GetID() != 7 {
			t.Fatalf("check_run %s: %+v", want, e)
		}
	}
	_, ev = sink.next(t)
	if e := ev.(*github.CheckSuiteEvent); e.GetAction() != "completed" || e.GetCheckSuite().GetConclusion() != "failure" || e.GetCheckSuite().GetApp().GetID() != 7 {
		t.Fatalf("check_suite: %+v", e)
	}
	if run, _ := f.sim.CheckRun(cr.GetID()); len(run.Actions) != 1 || run.Actions[0].Identifier != "rollback" {
		t.Fatalf("actions %+v", run.Actions)
	}
	f.sim.PressRequestedAction("acme/shop", cr.GetID(), "alice", "rollback")
	_, ev = sink.next(t)
	if e := ev.(*github.CheckRunEvent); e.GetAction() != "requested_action" || e.GetRequestedAction().Identifier != "rollback" ||
		e.GetSender().GetLogin() != "alice" || e.GetCheckRun().GetCheckSuite().GetHeadBranch() != "feature" ||
		len(e.GetCheckRun().PullRequests) != 1 || e.GetCheckRun().PullRequests[0].GetNumber() != n {
		t.Fatalf("requested_action %+v", e)
	}

	// Redelivery keeps the GUID and body.
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := f.sim.Redeliver(first); err != nil {
		t.Fatal(err)
	}
	r2, _ := sink.next(t)
	if r2.delivery != first {
		t.Fatalf("redelivery id %s, want %s", r2.delivery, first)
	}
	if err := f.sim.WaitForDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	ds := f.sim.Deliveries()
	// push, pull_request, then the first comment.
	if ds[2].ID != first || string(ds[len(ds)-1].Body) != string(ds[2].Body) || !ds[len(ds)-1].Redelivery || ds[2].Status != 202 {
		t.Fatalf("deliveries: %s %s redelivery=%v", ds[2].Event, ds[len(ds)-1].Event, ds[len(ds)-1].Redelivery)
	}
}

func TestDeploymentRules(t *testing.T) {
	f := newFixture(t)
	req := func(ref, env string, ctxs *[]string) *github.DeploymentRequest {
		return &github.DeploymentRequest{Ref: github.String(ref), Environment: github.String(env), RequiredContexts: ctxs}
	}
	t.Run("auto_merge behind default branch", func(t *testing.T) {
		f.repo.Commit("topic", map[string]string{"t": "1"}, "topic")
		f.repo.Commit("main", map[string]string{"m": "1"}, "main moves on")
		before := f.repo.Head("topic")
		_, resp, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", req("topic", "staging", &[]string{}))
		var acc *github.AcceptedError
		if !errors.As(err, &acc) || resp.StatusCode != 202 || len(f.sim.Deployments("acme/shop")) != 0 {
			t.Fatalf("want 202, got %v", err)
		}
		if string(acc.Raw) == "" || f.repo.Head("topic") == before {
			t.Fatalf("no merge: %s", acc.Raw)
		}
		if _, ok := f.repo.File("topic", "m"); !ok {
			t.Fatal("merge commit lacks main's change")
		}
		// Now up to date: the deployment is created.
		if _, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", req("topic", "staging", &[]string{})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("auto_merge false", func(t *testing.T) {
		f.repo.Commit("main", map[string]string{"m": "2"}, "main moves on")
		r := req("topic", "staging", &[]string{})
		r.AutoMerge = github.Bool(false)
		if _, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", r); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("required contexts", func(t *testing.T) {
		sha := f.repo.Head("main")
		f.repo.SetCommitStatus(sha, "ci/test", "failure", "tests failed")
		_, resp, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", req("main", "staging", nil))
		if err == nil || resp.StatusCode != 409 {
			t.Fatalf("want 409, got %v", err)
		}
		d, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", req("main", "staging", &[]string{}))
		if err != nil || d.GetSHA() != sha || d.GetTask() != "deploy" {
			t.Fatalf("empty required_contexts: %v", err)
		}
		f.repo.SetCommitStatus(sha, "ci/test", "success", "ok")
		f.repo.AddCheckRun(sha, "build", "in_progress", "")
		if _, resp, _ := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", req("main", "staging", nil)); resp.StatusCode != 409 {
			t.Fatalf("pending check run: %d", resp.StatusCode)
		}
		if _, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", req("main", "staging", &[]string{"ci/test"})); err != nil {
			t.Fatalf("explicit contexts: %v", err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		d, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", &github.DeploymentRequest{Ref: github.String("main"), RequiredContexts: &[]string{}})
		if err != nil || d.GetEnvironment() != "production" || d.GetTask() != "deploy" {
			t.Fatalf("%v %v", d, err)
		}
		all := f.sim.Deployments("acme/shop")
		last := all[len(all)-1]
		if !last.ProductionEnvironment || last.Creator != "deploybot[bot]" || !last.ViaApp {
			t.Fatalf("%+v", last)
		}
	})
}

func TestAutoInactive(t *testing.T) {
	f := newFixture(t)
	sink := newSink(t, f.sim)
	deploy := func(env string, prod bool) int64 {
		d, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", &github.DeploymentRequest{
			Ref: github.String("main"), Environment: github.String(env), RequiredContexts: &[]string{}, ProductionEnvironment: github.Bool(prod)})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.client.Repositories.CreateDeploymentStatus(f.ctx, "acme", "shop", d.GetID(), &github.DeploymentStatusRequest{State: github.String("success")}); err != nil {
			t.Fatal(err)
		}
		return d.GetID()
	}
	s1, s2 := deploy("staging", false), deploy("staging", false)
	p1, p2 := deploy("production", true), deploy("production", true)
	states := map[int64]string{}
	for _, d := range f.sim.Deployments("acme/shop") {
		states[d.ID] = d.LatestState()
	}
	want := map[int64]string{s1: "inactive", s2: "success", p1: "success", p2: "success"}
	for id, st := range want {
		if states[id] != st {
			t.Errorf("deployment %d: %s, want %s", id, states[id], st)
		}
	}
	list, _, err := f.client.Repositories.ListDeploymentStatuses(f.ctx, "acme", "shop", s1, nil)
	if err != nil || len(list) != 2 || list[0].GetState() != "inactive" {
		t.Fatalf("statuses of s1 (newest first): %v %v", list, err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := f.sim.WaitForDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range f.sim.Deliveries() {
		if d.Event == "deployment_status" {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("deployment_status deliveries: %d, want 4 (none for automatic inactive)", n)
	}
	_ = sink
	ds, _, err := f.client.Repositories.ListDeployments(f.ctx, "acme", "shop", &github.DeploymentsListOptions{Environment: "staging"})
	if err != nil || len(ds) != 2 || ds[0].GetID() != s2 {
		t.Fatalf("list newest first: %v", err)
	}
}
