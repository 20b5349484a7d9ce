package githubsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newActionsFixture is newFixture with a settable clock, starting at
// 2026-11-25T09:00:00Z.
func newActionsFixture(t *testing.T) (*fixture, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	sim := New(Options{AppID: 7, AppSlug: "deploybot", TB: t, Now: clk.now})
	sim.AddInstallation(instID, "acme")
	repo := sim.AddRepo("acme", "shop", "main")
	return &fixture{sim: sim, repo: repo, client: installationClient(t, sim, instID), ctx: context.Background()}, clk
}

// noExampleLeftovers fails when a payload still shows data of the
// workflow_run or gh-pages deployment examples it was built from.
func noExampleLeftovers(t *testing.T, payload []byte) {
	t.Helper()
	for _, s := range []string{"octo-org", "octo-repo", "Octocoders", "matfax", "Matthias", "pages build", "2823525", "289782451", "Codertocat", "api.github.com"} {
		if bytes.Contains(payload, []byte(s)) {
			t.Errorf("payload still contains example data %q", s)
		}
	}
}

func TestWorkflowDispatch(t *testing.T) {
	f, _ := newActionsFixture(t)
	r := f.repo
	wf := r.AddWorkflow("deploy.yml", "Deploy")
	main0 := r.Head("main")
	r.Tag("v1.0.0", main0)
	feature := r.Commit("feature", map[string]string{"a.txt": "a\n"}, "feature")
	many := map[string]string{}
	for i := range 26 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	tooMany, _ := json.Marshal(map[string]any{"ref": "main", "inputs": many})

	tests := []struct {
		name      string
		workflow  string // workflow_id path segment
		body      string
		want      int
		message   string // in the answer body
		violation string // "" when GitHub's description allows the request
		check     func(t *testing.T, run WorkflowRun)
	}{
		{"by file name, with inputs", "deploy.yml", `{"ref":"main","inputs":{"environment":"staging","version":"1.2.3"}}`, 204, "", "",
			func(t *testing.T, run WorkflowRun) {
				if run.Event != "workflow_dispatch" || run.Status != "queued" || run.Conclusion != "" || run.HeadBranch != "main" ||
					run.HeadSHA != main0 || run.RunNumber != 1 || run.RunAttempt != 1 || run.Actor != "deploybot[bot]" ||
					run.TriggeringActor != "deploybot[bot]" || run.WorkflowID != wf || run.Name != "Deploy" ||
					run.Path != ".github/workflows/deploy.yml" || run.CheckSuiteID == 0 || run.Repo != "acme/shop" ||
					len(run.Inputs) != 2 || run.Inputs["environment"] != "staging" || run.Inputs["version"] != "1.2.3" ||
					!run.CreatedAt.Equal(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)) {
					t.Fatalf("%+v", run)
				}
			}},
		{"by id, a branch", itoa(wf), `{"ref":"feature"}`, 204, "", "",
			func(t *testing.T, run WorkflowRun) {
				if run.HeadBranch != "feature" || run.HeadSHA != feature || run.RunNumber != 2 || len(run.Inputs) != 0 {
					t.Fatalf("%+v", run)
				}
			}},
		{"full branch ref", "deploy.yml", `{"ref":"refs/heads/feature"}`, 204, "", "",
			func(t *testing.T, run WorkflowRun) {
				if run.HeadBranch != "feature" || run.HeadSHA != feature || run.RunNumber != 3 {
					t.Fatalf("%+v", run)
				}
			}},
		{"a tag", "deploy.yml", `{"ref":"v1.0.0"}`, 204, "", "",
			func(t *testing.T, run WorkflowRun) {
				if run.HeadBranch != "v1.0.0" || run.HeadSHA != main0 {
					t.Fatalf("%+v", run)
				}
			}},
		{"unknown workflow file", "nope.yml", `{"ref":"main"}`, 404, "Not Found", "", nil},
		{"unknown workflow id", "12345", `{"ref":"main"}`, 404, "Not Found", "", nil},
		{"unknown ref", "deploy.yml", `{"ref":"nope"}`, 422, "No ref found for: nope", "", nil},
		{"a SHA is not a ref", "deploy.yml", `{"ref":"` + feature + `"}`, 422, "No ref found for: " + feature, "", nil},
		{"no ref", "deploy.yml", `{"inputs":{}}`, 422, "Invalid request.", `"ref" is required`, nil},
		{"input that is not a string", "deploy.yml", `{"ref":"main","inputs":{"dry_run":true}}`, 422,
			`For 'properties/dry_run', true is not a string.`, "is not a string", nil},
		{"26 inputs", "deploy.yml", string(tooMany), 422, "Invalid request.", "more than 25 properties", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sim.ResetViolations()
			before := len(f.sim.WorkflowRuns("acme/shop"))
			resp, body := f.raw(t, "POST", "/repos/acme/shop/actions/workflows/"+tt.workflow+"/dispatches", tt.body, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			var msg struct{ Message string }
			_ = json.Unmarshal(body, &msg)
			if tt.want == 204 && len(body) != 0 || !strings.Contains(msg.Message, tt.message) {
				t.Fatalf("body %s, want a message containing %q", body, tt.message)
			}
			v := f.sim.Violations()
			if (tt.violation == "") != (len(v) == 0) || len(v) > 0 && !strings.Contains(v[0].Error(), tt.violation) {
				t.Fatalf("violations %v, want %q", v, tt.violation)
			}
			runs := f.sim.WorkflowRuns("acme/shop")
			if tt.check == nil {
				if len(runs) != before {
					t.Fatalf("a rejected dispatch created a run")
				}
				return
			}
			if len(runs) != before+1 {
				t.Fatalf("%d runs, want %d", len(runs), before+1)
			}
			tt.check(t, runs[len(runs)-1])
		})
	}
	f.sim.ResetViolations()

	t.Run("go-github", func(t *testing.T) {
		if _, err := f.client.Actions.CreateWorkflowDispatchEventByFileName(f.ctx, "acme", "shop", "deploy.yml",
			github.CreateWorkflowDispatchEventRequest{Ref: "main", Inputs: map[string]any{"deployment_id": "42"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.Actions.CreateWorkflowDispatchEventByID(f.ctx, "acme", "shop", wf,
			github.CreateWorkflowDispatchEventRequest{Ref: "main"}); err != nil {
			t.Fatal(err)
		}
		runs := f.sim.WorkflowRuns("acme/shop")
		if got := runs[len(runs)-2]; got.Inputs["deployment_id"] != "42" || got.HeadSHA != main0 {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("return_run_details", func(t *testing.T) {
		resp, body := f.raw(t, "POST", "/repos/acme/shop/actions/workflows/deploy.yml/dispatches", `{"ref":"main","return_run_details":true}`, nil)
		var got struct {
			ID      int64  `json:"workflow_run_id"`
			RunURL  string `json:"run_url"`
			HTMLURL string `json:"html_url"`
		}
		if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		runs := f.sim.WorkflowRuns("acme/shop")
		id := runs[len(runs)-1].ID
		if got.ID != id || got.RunURL != f.sim.URL+"repos/acme/shop/actions/runs/"+itoa(id) ||
			got.HTMLURL != "https://github.com/acme/shop/actions/runs/"+itoa(id) {
			t.Fatalf("%s", body)
		}
	})
}

func TestWorkflowsAndRuns(t *testing.T) {
	f, clk := newActionsFixture(t)
	r := f.repo
	at := func(h, m int) { clk.set(time.Date(2026, 11, 25, h, m, 0, 0, time.UTC)) }
	deploy := r.AddWorkflow("deploy.yml", "Deploy")
	ci := r.AddWorkflow("ci.yml", "CI")
	dispatch := func(ref string) int64 {
		t.Helper()
		if _, err := f.client.Actions.CreateWorkflowDispatchEventByFileName(f.ctx, "acme", "shop", "deploy.yml",
			github.CreateWorkflowDispatchEventRequest{Ref: ref}); err != nil {
			t.Fatal(err)
		}
		runs := f.sim.WorkflowRuns("acme/shop")
		return runs[len(runs)-1].ID
	}
	at(9, 0)
	r1 := dispatch("main") // queued
	at(10, 0)
	r2 := r.AddWorkflowRun("ci.yml", "push", "main", "") // in_progress
	at(11, 0)
	feature := r.Commit("feature", map[string]string{"a.txt": "a\n"}, "Add a\n\nlonger text")
	pr := r.OpenPR("feature", "main", "alice", "Feature")
	r3 := r.AddWorkflowRun("ci.yml", "pull_request", "feature", feature)
	f.sim.CompleteWorkflowRun(r3, "failure")
	at(12, 0)
	r4 := dispatch("feature")
	f.sim.StartWorkflowRun(r4)
	f.sim.CompleteWorkflowRun(r4, "success")
	run2, _ := f.sim.WorkflowRun(r2)

	type page struct {
		TotalCount int `json:"total_count"`
		Runs       []struct {
			ID           int64 `json:"id"`
			PullRequests []any `json:"pull_requests"`
		} `json:"workflow_runs"`
	}
	all := []int64{r4, r3, r2, r1}
	tests := []struct {
		name      string
		path      string
		want      []int64
		total     int // -1: len(want)
		status    int
		violation string
	}{
		{"a workflow's runs", "workflows/deploy.yml/runs", []int64{r4, r1}, -1, 200, ""},
		{"by workflow id", "workflows/" + itoa(ci) + "/runs", []int64{r3, r2}, -1, 200, ""},
		{"the repository's runs", "runs", all, -1, 200, ""},
		{"actor", "runs?actor=deploybot%5Bbot%5D", []int64{r4, r1}, -1, 200, ""},
		{"actor of pushes", "runs?actor=octocat", []int64{r3, r2}, -1, 200, ""},
		{"branch", "runs?branch=feature", []int64{r4, r3}, -1, 200, ""},
		{"branch of a workflow", "workflows/deploy.yml/runs?branch=main", []int64{r1}, -1, 200, ""},
		{"event", "runs?event=push", []int64{r2}, -1, 200, ""},
		{"status queued", "runs?status=queued", []int64{r1}, -1, 200, ""},
		{"status in_progress", "runs?status=in_progress", []int64{r2}, -1, 200, ""},
		{"status completed", "runs?status=completed", []int64{r4, r3}, -1, 200, ""},
		{"status is a conclusion", "runs?status=failure", []int64{r3}, -1, 200, ""},
		{"created >=", "runs?created=" + url.QueryEscape(">=2026-11-25T10:00:00Z"), []int64{r4, r3, r2}, -1, 200, ""},
		{"created <", "runs?created=" + url.QueryEscape("<2026-11-25T10:00:00Z"), []int64{r1}, -1, 200, ""},
		{"created >", "runs?created=" + url.QueryEscape(">2026-11-25T10:00:00Z"), []int64{r4, r3}, -1, 200, ""},
		{"created <=", "runs?created=" + url.QueryEscape("<=2026-11-25T10:00:00Z"), []int64{r2, r1}, -1, 200, ""},
		{"created range", "runs?created=2026-11-25T10:00:00Z..2026-11-25T11:00:00Z", []int64{r3, r2}, -1, 200, ""},
		{"created open range", "runs?created=2026-11-25T10:30:00Z..*", []int64{r4, r3}, -1, 200, ""},
		{"created on a day", "runs?created=2026-11-25", all, -1, 200, ""},
		{"created on another day", "runs?created=2026-11-24", nil, -1, 200, ""},
		{"created with an offset", "runs?created=" + url.QueryEscape(">=2026-11-25T11:00:00+01:00"), []int64{r4, r3, r2}, -1, 200, ""},
		{"created with an unescaped +", "runs?created=%3E%3D2026-11-25T11:00:00+01:00", []int64{r4, r3, r2}, -1, 200, ""},
		{"head_sha", "runs?head_sha=" + feature, []int64{r4, r3}, -1, 200, ""},
		{"check_suite_id", "runs?check_suite_id=" + itoa(run2.CheckSuiteID), []int64{r2}, -1, 200, ""},
		{"filters combine", "workflows/deploy.yml/runs?branch=feature&status=success&event=workflow_dispatch", []int64{r4}, -1, 200, ""},
		{"per_page and page", "runs?per_page=1&page=2", []int64{r3}, 4, 200, ""},
		{"past the last page", "runs?per_page=3&page=3", nil, 4, 200, ""},
		{"unknown workflow", "workflows/nope.yml/runs", nil, 0, 404, ""},
		{"bad created", "runs?created=yesterday", nil, 0, 422, "created"},
		{"bad status", "runs?status=done", nil, 0, 422, "query parameter status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sim.ResetViolations()
			resp, body := f.raw(t, "GET", "/repos/acme/shop/actions/"+tt.path, "", nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			v := f.sim.Violations()
			if (tt.violation == "") != (len(v) == 0) || len(v) > 0 && !strings.Contains(v[0].Error(), tt.violation) {
				t.Fatalf("violations %v, want %q", v, tt.violation)
			}
			if tt.status != 200 {
				return
			}
			var p page
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, run := range p.Runs {
				got = append(got, run.ID)
			}
			total := tt.total
			if total < 0 {
				total = len(tt.want)
			}
			if !slices.Equal(got, tt.want) || p.TotalCount != total {
				t.Fatalf("runs %v (total %d), want %v (total %d)", got, p.TotalCount, tt.want, total)
			}
		})
	}
	f.sim.ResetViolations()

	t.Run("Link header", func(t *testing.T) {
		resp, _ := f.raw(t, "GET", "/repos/acme/shop/actions/runs?per_page=1&page=2", "", nil)
		link := resp.Header.Get("Link")
		for _, rel := range []string{`rel="next"`, `rel="last"`, `rel="first"`, `rel="prev"`} {
			if !strings.Contains(link, rel) {
				t.Fatalf("Link %q has no %s", link, rel)
			}
		}
		if !strings.Contains(link, "page=4") {
			t.Fatalf("Link %q", link)
		}
	})
	t.Run("pull requests", func(t *testing.T) {
		for _, tt := range []struct {
			query string
			want  int
		}{{"", 1}, {"?exclude_pull_requests=true", 0}, {"?exclude_pull_requests=false", 1}} {
			run, _, err := f.client.Actions.GetWorkflowRunByID(f.ctx, "acme", "shop", r3)
			if tt.query != "" {
				_, body := f.raw(t, "GET", "/repos/acme/shop/actions/runs/"+itoa(r3)+tt.query, "", nil)
				run = &github.WorkflowRun{}
				err = json.Unmarshal(body, run)
			}
			if err != nil || len(run.PullRequests) != tt.want {
				t.Fatalf("%q: %v %d pull requests, want %d", tt.query, err, len(run.PullRequests), tt.want)
			}
			if tt.want == 1 && (run.PullRequests[0].GetNumber() != pr || run.PullRequests[0].GetHead().GetSHA() != feature) {
				t.Fatalf("%+v", run.PullRequests[0])
			}
		}
		runs, _, err := f.client.Actions.ListRepositoryWorkflowRuns(f.ctx, "acme", "shop", &github.ListWorkflowRunsOptions{ExcludePullRequests: true, Branch: "feature"})
		if err != nil || runs.GetTotalCount() != 2 || len(runs.WorkflowRuns[0].PullRequests) != 0 {
			t.Fatalf("%v %+v", err, runs)
		}
	})
	t.Run("get a run", func(t *testing.T) {
		run, _, err := f.client.Actions.GetWorkflowRunByID(f.ctx, "acme", "shop", r3)
		if err != nil {
			t.Fatal(err)
		}
		sim, _ := f.sim.WorkflowRun(r3)
		html := "https://github.com/acme/shop/actions/runs/" + itoa(r3)
		if run.GetID() != r3 || run.GetName() != "CI" || run.GetHeadBranch() != "feature" || run.GetHeadSHA() != feature ||
			run.GetRunNumber() != 2 || run.GetRunAttempt() != 1 || run.GetEvent() != "pull_request" || run.GetStatus() != "completed" ||
			run.GetConclusion() != "failure" || run.GetWorkflowID() != ci || run.GetCheckSuiteID() != sim.CheckSuiteID ||
			run.GetHTMLURL() != html || run.GetURL() != f.sim.URL+"repos/acme/shop/actions/runs/"+itoa(r3) ||
			run.GetWorkflowURL() != f.sim.URL+"repos/acme/shop/actions/workflows/"+itoa(ci) ||
			!run.GetCreatedAt().Time.Equal(time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)) || run.GetActor().GetLogin() != "octocat" ||
			run.GetTriggeringActor().GetLogin() != "octocat" || run.GetRepository().GetFullName() != "acme/shop" ||
			run.GetHeadRepository().GetFullName() != "acme/shop" || run.GetHeadCommit().GetID() != feature ||
			run.GetHeadCommit().GetMessage() != "Add a\n\nlonger text" || run.GetDisplayTitle() != "Add a" {
			t.Fatalf("%+v", run)
		}
		d, _, err := f.client.Actions.GetWorkflowRunByID(f.ctx, "acme", "shop", r1)
		if err != nil || d.GetDisplayTitle() != "Deploy" || d.GetStatus() != "queued" || d.Conclusion != nil || d.GetActor().GetLogin() != "deploybot[bot]" {
			t.Fatalf("%v %+v", err, d)
		}
	})
	t.Run("get a run: 404", func(t *testing.T) {
		other := f.sim.AddRepo("acme", "other", "main")
		elsewhere := other.AddWorkflowRun("ci.yml", "push", "main", "")
		for _, id := range []int64{12345, elsewhere} {
			if _, resp, err := f.client.Actions.GetWorkflowRunByID(f.ctx, "acme", "shop", id); err == nil || resp.StatusCode != 404 {
				t.Fatalf("run %d: %v", id, err)
			}
		}
		if _, _, err := f.client.Actions.GetWorkflowRunByID(f.ctx, "acme", "other", elsewhere); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("workflows", func(t *testing.T) {
		lint := r.AddWorkflowRun("lint.yml", "push", "main", "") // adds the workflow
		ws, _, err := f.client.Actions.ListWorkflows(f.ctx, "acme", "shop", nil)
		if err != nil || ws.GetTotalCount() != 3 || ws.Workflows[0].GetID() != deploy || ws.Workflows[1].GetName() != "CI" ||
			ws.Workflows[2].GetName() != ".github/workflows/lint.yml" || ws.Workflows[0].GetState() != "active" {
			t.Fatalf("%v %+v", err, ws)
		}
		w, _, err := f.client.Actions.GetWorkflowByFileName(f.ctx, "acme", "shop", "deploy.yml")
		if err != nil || w.GetID() != deploy || w.GetPath() != ".github/workflows/deploy.yml" || w.GetName() != "Deploy" ||
			w.GetHTMLURL() != "https://github.com/acme/shop/blob/main/.github/workflows/deploy.yml" {
			t.Fatalf("%v %+v", err, w)
		}
		if w, _, err := f.client.Actions.GetWorkflowByID(f.ctx, "acme", "shop", ci); err != nil || w.GetName() != "CI" {
			t.Fatalf("%v %+v", err, w)
		}
		if _, resp, err := f.client.Actions.GetWorkflowByFileName(f.ctx, "acme", "shop", "nope.yml"); err == nil || resp.StatusCode != 404 {
			t.Fatalf("%v", err)
		}
		if run, _ := f.sim.WorkflowRun(lint); run.RunNumber != 1 || run.Status != "in_progress" {
			t.Fatalf("%+v", run)
		}
	})
}

func TestWorkflowRunWebhooks(t *testing.T) {
	f, _ := newActionsFixture(t)
	sink := newSink(t, f.sim)
	r := f.repo
	wf := r.AddWorkflow("deploy.yml", "Deploy")
	sha := r.Head("main")
	run := func(t *testing.T, action, status, conclusion string) *github.WorkflowRunEvent {
		t.Helper()
		rec, ev := sink.expect(t, "workflow_run", action)
		noExampleLeftovers(t, rec.payload)
		if p := schemaProblems(t, webhookSchema("workflow_run", action), rec.payload); len(p) > 0 {
			t.Fatalf("payload does not match its schema: %v", p)
		}
		e := ev.(*github.WorkflowRunEvent)
		wr := e.GetWorkflowRun()
		runs := f.sim.WorkflowRuns("acme/shop")
		want := runs[len(runs)-1]
		if wr.GetID() != want.ID || wr.GetHeadSHA() != sha || wr.GetHeadBranch() != "main" || wr.GetStatus() != status ||
			wr.GetConclusion() != conclusion || wr.GetHTMLURL() != "https://github.com/acme/shop/actions/runs/"+itoa(want.ID) ||
			wr.GetCheckSuiteID() != want.CheckSuiteID || wr.GetWorkflowID() != wf || wr.GetEvent() != "workflow_dispatch" ||
			wr.GetRunNumber() != 1 || wr.GetRepository().GetFullName() != "acme/shop" ||
			e.GetWorkflow().GetID() != wf || e.GetWorkflow().GetPath() != ".github/workflows/deploy.yml" || e.GetWorkflow().GetName() != "Deploy" ||
			e.GetSender().GetLogin() != "deploybot[bot]" || e.GetInstallation().GetID() != instID || e.GetRepo().GetFullName() != "acme/shop" ||
			e.GetOrg().GetLogin() != "acme" {
			t.Fatalf("%s", rec.payload)
		}
		return e
	}
	var id int64
	var job int64
	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"requested on dispatch", func(t *testing.T) {
			if _, err := f.client.Actions.CreateWorkflowDispatchEventByID(f.ctx, "acme", "shop", wf, github.CreateWorkflowDispatchEventRequest{Ref: "main"}); err != nil {
				t.Fatal(err)
			}
			id = run(t, "requested", "queued", "").GetWorkflowRun().GetID()
		}},
		{"in_progress", func(t *testing.T) {
			f.sim.StartWorkflowRun(id)
			run(t, "in_progress", "in_progress", "")
		}},
		{"jobs are check runs of the run's suite", func(t *testing.T) {
			wr, _ := f.sim.WorkflowRun(id)
			job = f.sim.AddWorkflowJob(id, "deploy", "in_progress", "")
			_, ev := sink.expect(t, "check_run", "created")
			cr := ev.(*github.CheckRunEvent).GetCheckRun()
			if cr.GetID() != job || cr.GetCheckSuite().GetID() != wr.CheckSuiteID || cr.GetApp().GetSlug() != "github-actions" ||
				cr.GetApp().GetID() != 15368 || cr.GetApp().GetName() != "GitHub Actions" ||
				cr.GetDetailsURL() != "https://github.com/acme/shop/actions/runs/"+itoa(id)+"/job/"+itoa(job) {
				t.Fatalf("%+v", cr)
			}
			other := r.AddCheckRun(sha, "test", "queued", "") // GitHub Actions adds it: the run's job too
			sink.expect(t, "check_run", "created")
			runs, _, err := f.client.Checks.ListCheckRunsForRef(f.ctx, "acme", "shop", sha, &github.ListCheckRunsOptions{AppID: github.Int64(15368)})
			if err != nil || runs.GetTotal() != 2 {
				t.Fatalf("%v %+v", err, runs)
			}
			for _, cr := range runs.CheckRuns {
				if cr.GetCheckSuite().GetID() != wr.CheckSuiteID || (cr.GetID() != job && cr.GetID() != other) {
					t.Fatalf("%+v", cr)
				}
			}
		}},
		{"completed, after its jobs and suite", func(t *testing.T) {
			f.sim.CompleteWorkflowRun(id, "success")
			wr, _ := f.sim.WorkflowRun(id)
			for range 2 {
				_, ev := sink.expect(t, "check_run", "completed")
				if cr := ev.(*github.CheckRunEvent).GetCheckRun(); cr.GetConclusion() != "success" || cr.GetCheckSuite().GetID() != wr.CheckSuiteID {
					t.Fatalf("%+v", cr)
				}
			}
			_, ev := sink.expect(t, "check_suite", "completed")
			if cs := ev.(*github.CheckSuiteEvent).GetCheckSuite(); cs.GetID() != wr.CheckSuiteID || cs.GetConclusion() != "success" {
				t.Fatalf("%+v", cs)
			}
			e := run(t, "completed", "completed", "success")
			if !e.GetWorkflowRun().GetUpdatedAt().Time.Equal(wr.UpdatedAt) {
				t.Fatalf("updated_at %v", e.GetWorkflowRun().GetUpdatedAt())
			}
		}},
		{"a new run has a new suite", func(t *testing.T) {
			wr, _ := f.sim.WorkflowRun(id)
			next := r.AddWorkflowRun("deploy.yml", "push", "main", "")
			sink.expect(t, "workflow_run", "requested")
			sink.expect(t, "workflow_run", "in_progress")
			nr, _ := f.sim.WorkflowRun(next)
			if nr.CheckSuiteID == wr.CheckSuiteID || nr.RunNumber != 2 || nr.Actor != "octocat" {
				t.Fatalf("%+v", nr)
			}
			cr, _ := f.sim.CheckRun(r.AddCheckRun(sha, "test", "queued", ""))
			sink.expect(t, "check_run", "created")
			if cr.SuiteID != nr.CheckSuiteID {
				t.Fatalf("suite %d, want %d", cr.SuiteID, nr.CheckSuiteID)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, st.do)
	}
	t.Run("unknown conclusion", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		f.sim.CompleteWorkflowRun(id, "done")
	})
}

// protectionFixture is a run of deploy.yml on feature (an open pull request
// from feature to main) waiting for the protection rule of production.
type protectionFixture struct {
	*fixture
	sink       *hookSink
	sha        string
	pr         int
	run, depID int64
}

func newProtectionFixture(t *testing.T) *protectionFixture {
	t.Helper()
	f, _ := newActionsFixture(t)
	sink := newSink(t, f.sim)
	r := f.repo
	sha := r.Commit("feature", map[string]string{"app.go": "package app\n"}, "feature")
	pr := r.OpenPR("feature", "main", "alice", "Feature")
	sink.expect(t, "push", "")
	sink.expect(t, "pull_request", "opened")
	r.AddWorkflow("deploy.yml", "Deploy")
	run := r.AddWorkflowRun("deploy.yml", "push", "feature", "")
	sink.expect(t, "workflow_run", "requested")
	sink.expect(t, "workflow_run", "in_progress")
	f.sim.AddWorkflowJob(run, "deploy / production", "queued", "")
	sink.expect(t, "check_run", "created")
	dep := f.sim.RequestDeploymentProtection("acme/shop", "production", "", run)
	return &protectionFixture{fixture: f, sink: sink, sha: sha, pr: pr, run: run, depID: dep}
}

func TestDeploymentProtectionRule(t *testing.T) {
	p := newProtectionFixture(t)
	f := p.fixture
	callback := f.sim.URL + "repos/acme/shop/actions/runs/" + itoa(p.run) + "/deployment_protection_rule"
	var depEvent, ruleEvent received

	t.Run("deployment created by GitHub Actions", func(t *testing.T) {
		rec, ev := p.sink.expect(t, "deployment", "created")
		depEvent = rec
		noExampleLeftovers(t, rec.payload)
		e := ev.(*github.DeploymentEvent)
		d := e.GetDeployment()
		run, _ := f.sim.WorkflowRun(p.run)
		if d.GetID() != p.depID || d.GetSHA() != p.sha || d.GetRef() != "feature" || d.GetEnvironment() != "production" ||
			d.GetTask() != "deploy" || d.GetCreator().GetLogin() != "github-actions[bot]" || d.GetCreator().GetType() != "Bot" ||
			e.GetWorkflowRun().GetID() != p.run || e.GetWorkflowRun().GetCheckSuiteID() != run.CheckSuiteID ||
			e.GetWorkflowRun().GetHeadSHA() != p.sha || e.GetWorkflowRun().GetStatus() != "waiting" || run.Status != "waiting" ||
			e.GetWorkflow().GetID() != run.WorkflowID || e.GetWorkflow().GetPath() != ".github/workflows/deploy.yml" ||
			e.GetSender().GetLogin() != "octocat" || e.GetInstallation().GetID() != instID {
			t.Fatalf("%s", rec.payload)
		}
		var via struct {
			Deployment struct {
				App struct {
					ID   int64  `json:"id"`
					Slug string `json:"slug"`
				} `json:"performed_via_github_app"`
			} `json:"deployment"`
		}
		if err := json.Unmarshal(rec.payload, &via); err != nil || via.Deployment.App.ID != 15368 || via.Deployment.App.Slug != "github-actions" {
			t.Fatalf("performed_via_github_app %+v", via)
		}
		ds := f.sim.Deployments("acme/shop")
		if len(ds) != 1 || !ds[0].ViaApp || ds[0].App != "github-actions" || ds[0].WorkflowRunID != p.run || ds[0].Creator != "github-actions[bot]" {
			t.Fatalf("%+v", ds)
		}
	})
	t.Run("deployment_protection_rule requested", func(t *testing.T) {
		rec, ev := p.sink.expect(t, "deployment_protection_rule", "requested")
		ruleEvent = rec
		noExampleLeftovers(t, rec.payload)
		e := ev.(*github.DeploymentProtectionRuleEvent)
		d := e.GetDeployment()
		if e.GetEnvironment() != "production" || e.GetEvent() != "push" || e.GetDeploymentCallbackURL() != callback ||
			d.GetID() != p.depID || d.GetSHA() != p.sha || d.GetRef() != "feature" || d.GetCreator().GetLogin() != "github-actions[bot]" ||
			len(e.PullRequests) != 1 || e.PullRequests[0].GetNumber() != p.pr || e.PullRequests[0].GetHead().GetSHA() != p.sha ||
			e.GetSender().GetLogin() != "octocat" || e.GetInstallation().GetID() != instID || e.GetRepo().GetFullName() != "acme/shop" ||
			e.GetOrganization().GetLogin() != "acme" {
			t.Fatalf("%s", rec.payload)
		}
		if rec.header.Get("X-GitHub-Event") != "deployment_protection_rule" {
			t.Fatalf("%v", rec.header)
		}
	})
	if depEvent.payload == nil || ruleEvent.payload == nil {
		t.FailNow()
	}

	// The app answers through deployment_callback_url.
	cb := strings.TrimPrefix(callback, strings.TrimSuffix(f.sim.URL, "/"))
	other := f.sim.AddRepo("globex", "site", "main") // not installed
	elsewhere := other.AddWorkflowRun("deploy.yml", "push", "main", "")
	f.sim.RequestDeploymentProtection("globex/site", "production", "", elsewhere)
	status := func() string { run, _ := f.sim.WorkflowRun(p.run); return run.Status }
	tests := []struct {
		name, path, body string
		want             int
		message          string
		violation        string
		answers          int    // ProtectionAnswers after the request
		status           string // of the run after the request
	}{
		{"a comment is a status report", cb, `{"environment_name":"production","comment":"Checking gates"}`, 204, "", "", 1, "waiting"},
		{"an environment without a request", cb, `{"environment_name":"staging","state":"approved"}`, 422, "No pending deployment protection rule", "", 1, "waiting"},
		{"unknown run", "/repos/acme/shop/actions/runs/12345/deployment_protection_rule", `{"environment_name":"production","state":"approved"}`, 404, "Not Found", "", 1, "waiting"},
		{"a repository the app is not installed on", "/repos/globex/site/actions/runs/" + itoa(elsewhere) + "/deployment_protection_rule",
			`{"environment_name":"production","state":"approved"}`, 404, "Not Found", "", 1, "waiting"},
		{"bad state", cb, `{"environment_name":"production","state":"ok"}`, 422, "Invalid request.", "anyOf", 1, "waiting"},
		{"neither state nor comment", cb, `{"environment_name":"production"}`, 422, "Invalid request.", "anyOf", 1, "waiting"},
		{"no environment", cb, `{"state":"approved"}`, 422, "Invalid request.", "anyOf", 1, "waiting"},
		{"approve (environment names ignore case)", cb, `{"environment_name":"Production","state":"approved","comment":"All gates passed"}`, 204, "", "", 2, "in_progress"},
		{"answer twice", cb, `{"environment_name":"production","state":"rejected"}`, 422, "No pending deployment protection rule", "", 2, "in_progress"},
		{"comment after the answer", cb, `{"environment_name":"production","comment":"late"}`, 422, "No pending deployment protection rule", "", 2, "in_progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sim.ResetViolations()
			resp, body := f.raw(t, "POST", tt.path, tt.body, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want == 204 && len(body) != 0 || !strings.Contains(string(body), tt.message) {
				t.Fatalf("body %s, want %q", body, tt.message)
			}
			v := f.sim.Violations()
			if (tt.violation == "") != (len(v) == 0) || len(v) > 0 && !strings.Contains(v[0].Error(), tt.violation) {
				t.Fatalf("violations %v, want %q", v, tt.violation)
			}
			if got := f.sim.ProtectionAnswers(p.run); len(got) != tt.answers {
				t.Fatalf("answers %+v, want %d", got, tt.answers)
			}
			if got := status(); got != tt.status {
				t.Fatalf("run status %s, want %s", got, tt.status)
			}
		})
	}
	f.sim.ResetViolations()
	got := f.sim.ProtectionAnswers(p.run)
	want := []ProtectionAnswer{
		{RunID: p.run, Environment: "production", Comment: "Checking gates", App: "deploybot"},
		{RunID: p.run, Environment: "production", State: "approved", Comment: "All gates passed", App: "deploybot"},
	}
	for i := range want {
		got[i].Time = time.Time{}
		if got[i] != want[i] {
			t.Fatalf("answer %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	t.Run("several environments of one run", func(t *testing.T) {
		staging := f.sim.RequestDeploymentProtection("acme/shop", "staging", "refs/heads/feature", p.run)
		_, ev := p.sink.expect(t, "deployment", "created")
		if d := ev.(*github.DeploymentEvent).GetDeployment(); d.GetID() != staging || d.GetRef() != "refs/heads/feature" || d.GetEnvironment() != "staging" {
			t.Fatalf("%+v", d)
		}
		_, ev = p.sink.expect(t, "deployment_protection_rule", "requested")
		if e := ev.(*github.DeploymentProtectionRuleEvent); e.GetEnvironment() != "staging" || e.GetDeployment().GetID() != staging {
			t.Fatalf("%+v", e)
		}
		if status() != "waiting" {
			t.Fatalf("run status %s", status())
		}
		if resp, body := f.raw(t, "POST", cb, `{"environment_name":"staging","state":"rejected","comment":"CI failed"}`, nil); resp.StatusCode != 204 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if a := f.sim.ProtectionAnswers(p.run); len(a) != 3 || a[2].Environment != "staging" || a[2].State != "rejected" {
			t.Fatalf("%+v", a)
		}
		if a := f.sim.ProtectionAnswers(elsewhere); len(a) != 0 {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("deployment statuses of an Actions deployment carry the run", func(t *testing.T) {
		f.sim.AddDeploymentStatus(p.depID, "github-actions[bot]", "in_progress", "")
		rec, ev := p.sink.expect(t, "deployment_status", "created")
		noExampleLeftovers(t, rec.payload)
		e := ev.(*github.DeploymentStatusEvent)
		var m struct {
			WorkflowRun struct {
				ID int64 `json:"id"`
			} `json:"workflow_run"`
		}
		_ = json.Unmarshal(rec.payload, &m)
		if e.GetDeployment().GetID() != p.depID || m.WorkflowRun.ID != p.run || e.GetDeploymentStatus().GetCreator().GetLogin() != "github-actions[bot]" {
			t.Fatalf("%s", rec.payload)
		}
	})
}

// octokitSchema loads an octokit/webhooks JSON schema (testdata/webhook-schemas)
// with the schemas it references into a spec for the emulator's validator,
// and returns the spec and a reference to the schema.
func octokitSchema(t *testing.T, file string) (*spec, any) {
	t.Helper()
	const dir = "testdata/webhook-schemas"
	files := map[string]any{}
	var load func(p string) string
	load = func(p string) string {
		key := strings.ReplaceAll(p, "/", ":")
		if _, ok := files[key]; ok {
			return key
		}
		files[key] = nil
		raw, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var rewrite func(v any)
		rewrite = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if ref, ok := x["$ref"].(string); ok && !strings.HasPrefix(ref, "#") {
					// References are relative to the referring file or,
					// in the event schemas, to the schemas folder.
					target := path.Join(path.Dir(p), ref)
					if _, err := os.Stat(filepath.Join(dir, target)); err != nil {
						target = path.Clean(ref)
					}
					x["$ref"] = "#/files/" + load(target)
				}
				for _, e := range x {
					rewrite(e)
				}
			case []any:
				for _, e := range x {
					rewrite(e)
				}
			}
		}
		rewrite(v)
		files[key] = v
		return key
	}
	root := load(file)
	return &spec{root: map[string]any{"files": files}, rx: map[string]*regexp.Regexp{}}, map[string]any{"$ref": "#/files/" + root}
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDeploymentProtectionRuleSchemas checks the hand-written example of the
// deployment_protection_rule event and the payloads the emulator sends
// against octokit/webhooks' schema of the event and against the
// webhook-deployment-protection-rule-requested schema of GitHub's
// description.
func TestDeploymentProtectionRuleSchemas(t *testing.T) {
	example, err := os.ReadFile("testdata/webhooks/deployment_protection_rule/requested.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	octokit, ref := octokitSchema(t, "deployment_protection_rule/requested.schema.json")
	withPR := newProtectionFixture(t)
	// A run of a user's repository, with no pull request.
	userOwned := New(Options{AppID: 7, TB: t})
	userOwned.AddInstallation(1, "mona")
	userOwned.mu.Lock()
	userOwned.userLocked("mona") // a user, not an organization
	userOwned.mu.Unlock()
	site := userOwned.AddRepo("mona", "site", "main")
	userOwned.RequestDeploymentProtection("mona/site", "staging", "", site.AddWorkflowRun("ci.yml", "workflow_dispatch", "main", ""))

	payloads := map[string][]byte{"the example": example}
	for name, sim := range map[string]*Sim{"a run with a pull request": withPR.sim, "a user's repository": userOwned} {
		for _, d := range sim.Deliveries() {
			if d.Event == "deployment_protection_rule" {
				payloads[name] = d.Body
			}
		}
		if payloads[name] == nil {
			t.Fatalf("%s: no deployment_protection_rule delivery", name)
		}
	}
	// octokit's schemas forbid properties they do not list, and predate a
	// few that GitHub's description documents (and the emulator sends):
	// those are tolerated, and only those.
	newer := map[string]string{
		"user_view_type": "simple-user", "client_id": "nullable-integration", "installations_count": "nullable-integration",
		"network_count": "repository-webhooks", "subscribers_count": "repository-webhooks",
	}
	schemas := getSpec().root["components"].(map[string]any)["schemas"].(map[string]any)
	for prop, schema := range newer {
		if _, ok := schemas[schema].(map[string]any)["properties"].(map[string]any)[prop]; !ok {
			t.Fatalf("the description does not document %s.%s", schema, prop)
		}
	}
	var drop func(v any)
	drop = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if _, ok := newer[k]; ok {
					delete(x, k)
					continue
				}
				drop(e)
			}
		case []any:
			for _, e := range x {
				drop(e)
			}
		}
	}
	for name, payload := range payloads {
		t.Run(name, func(t *testing.T) {
			v := decodeJSON(t, payload)
			drop(v)
			var problems []string
			octokit.validate(ref, v, "payload", &problems)
			if len(problems) > 0 {
				t.Errorf("octokit schema: %v", problems)
			}
			if p := schemaProblems(t, "webhook-deployment-protection-rule-requested", payload); len(p) > 0 {
				t.Errorf("description schema: %v", p)
			}
		})
	}
	t.Run("the octokit schema is enforced", func(t *testing.T) {
		var m map[string]any
		_ = json.Unmarshal(example, &m)
		m["sha"] = "abc" // in the description, not in octokit's schema
		delete(m, "sender")
		b, _ := json.Marshal(m)
		var problems []string
		octokit.validate(ref, decodeJSON(t, b), "payload", &problems)
		if len(problems) != 2 {
			t.Fatalf("%v", problems)
		}
	})
}

func TestAdoptedDeployments(t *testing.T) {
	f, _ := newActionsFixture(t)
	sink := newSink(t, f.sim)
	id := f.sim.CreateDeployment("acme/shop", "octocat", "main", "staging", "deploy", map[string]any{"version": "1.2.3"})
	var raw struct {
		Deployment struct {
			App any `json:"performed_via_github_app"`
		} `json:"deployment"`
		WorkflowRun any `json:"workflow_run"`
		Workflow    any `json:"workflow"`
		Status      struct {
			App any `json:"performed_via_github_app"`
		} `json:"deployment_status"`
	}
	t.Run("deployment", func(t *testing.T) {
		rec, ev := sink.expect(t, "deployment", "created")
		d := ev.(*github.DeploymentEvent).GetDeployment()
		if d.GetID() != id || d.GetCreator().GetLogin() != "octocat" || d.GetCreator().GetType() != "User" || d.GetEnvironment() != "staging" ||
			d.GetRef() != "main" || d.GetSHA() != f.repo.Head("main") || ev.(*github.DeploymentEvent).GetSender().GetLogin() != "octocat" {
			t.Fatalf("%s", rec.payload)
		}
		if err := json.Unmarshal(rec.payload, &raw); err != nil || raw.Deployment.App != nil || raw.WorkflowRun != nil || raw.Workflow != nil ||
			!bytes.Contains(rec.payload, []byte(`"performed_via_github_app":null`)) {
			t.Fatalf("%s", rec.payload)
		}
		if ds := f.sim.Deployments("acme/shop"); ds[0].ViaApp || ds[0].App != "" || ds[0].WorkflowRunID != 0 {
			t.Fatalf("%+v", ds[0])
		}
	})
	for _, tt := range []struct {
		name                   string
		add                    func()
		state, desc, env, logs string
	}{
		{"deployment_status", func() { f.sim.AddDeploymentStatus(id, "external-ci", "in_progress", "rolling out") }, "in_progress", "rolling out", "", ""},
		{"deployment_status with URLs", func() {
			f.sim.AddDeploymentStatusWithURLs(id, "external-ci", "success", "done", "https://staging.example.com", "https://ci.example.com/runs/1")
		}, "success", "done", "https://staging.example.com", "https://ci.example.com/runs/1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.add()
			rec, ev := sink.expect(t, "deployment_status", "created")
			e := ev.(*github.DeploymentStatusEvent)
			st := e.GetDeploymentStatus()
			if st.GetCreator().GetLogin() != "external-ci" || e.GetSender().GetLogin() != "external-ci" || st.GetState() != tt.state ||
				st.GetDescription() != tt.desc || st.GetEnvironmentURL() != tt.env || st.GetLogURL() != tt.logs || st.GetTargetURL() != tt.logs ||
				e.GetDeployment().GetID() != id || e.GetDeployment().GetCreator().GetLogin() != "octocat" {
				t.Fatalf("%s", rec.payload)
			}
			raw.Status.App = "unset"
			if err := json.Unmarshal(rec.payload, &raw); err != nil || raw.Status.App != nil {
				t.Fatalf("%s", rec.payload)
			}
		})
	}
	t.Run("the app reads them back", func(t *testing.T) {
		sts, _, err := f.client.Repositories.ListDeploymentStatuses(f.ctx, "acme", "shop", id, nil)
		if err != nil || len(sts) != 2 || sts[0].GetState() != "success" || sts[0].GetCreator().GetLogin() != "external-ci" ||
			sts[0].GetEnvironmentURL() != "https://staging.example.com" {
			t.Fatalf("%v %+v", err, sts)
		}
	})
}

func TestReleaseBodyEdit(t *testing.T) {
	f, _ := newActionsFixture(t)
	sink := newSink(t, f.sim)
	id := f.repo.CreateRelease("v1.0.0", "", "v1.0.0", "Notes", false, false)
	sink.expect(t, "release", "created")
	sink.expect(t, "push", "") // the tag
	sink.expect(t, "release", "published")
	sink.expect(t, "release", "released")
	section := "Notes\n\n## Deployments\n\n- staging: success\n"
	tests := []struct {
		name      string
		id        int64
		body      string
		want      int
		violation string
	}{
		{"append a section", id, `{"body":` + string(must(json.Marshal(section))) + `}`, 200, ""},
		{"unknown release", 12345, `{"body":"x"}`, 404, ""},
		{"body of the wrong type", id, `{"body":5}`, 422, "want string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sim.ResetViolations()
			resp, body := f.raw(t, "PATCH", "/repos/acme/shop/releases/"+itoa(tt.id), tt.body, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			v := f.sim.Violations()
			if (tt.violation == "") != (len(v) == 0) || len(v) > 0 && !strings.Contains(v[0].Error(), tt.violation) {
				t.Fatalf("violations %v, want %q", v, tt.violation)
			}
		})
	}
	f.sim.ResetViolations()
	if rel, ok := f.sim.Release("acme/shop", id); !ok || rel.Body != section {
		t.Fatalf("%+v", rel)
	}
	t.Run("go-github", func(t *testing.T) {
		rel, _, err := f.client.Repositories.EditRelease(f.ctx, "acme", "shop", id, &github.RepositoryRelease{Body: github.String(section + "- production: success\n")})
		if err != nil || rel.GetBody() != section+"- production: success\n" {
			t.Fatalf("%v %+v", err, rel)
		}
		if got, _ := f.sim.Release("acme/shop", id); got.Body != rel.GetBody() {
			t.Fatalf("%q", got.Body)
		}
		for {
			rec, ev := sink.next(t)
			e, ok := ev.(*github.ReleaseEvent)
			var m struct {
				Changes struct {
					Body struct{ From string } `json:"body"`
				} `json:"changes"`
			}
			_ = json.Unmarshal(rec.payload, &m)
			if !ok || e.GetAction() != "edited" || m.Changes.Body.From != section {
				continue
			}
			if e.GetSender().GetLogin() != "deploybot[bot]" || e.GetRelease().GetBody() != rel.GetBody() {
				t.Fatalf("%s", rec.payload)
			}
			break
		}
	})
}
