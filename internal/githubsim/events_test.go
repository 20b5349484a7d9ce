package githubsim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

// expect reads the next webhook and checks its event and action.
func (h *hookSink) expect(t *testing.T, event, action string) (received, any) {
	t.Helper()
	r, ev := h.next(t)
	var head struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(r.payload, &head)
	if r.event != event || head.Action != action {
		t.Fatalf("got %s %q, want %s %q", r.event, head.Action, event, action)
	}
	return r, ev
}

// quiet checks that no webhook arrives for a moment.
func (h *hookSink) quiet(t *testing.T) {
	t.Helper()
	select {
	case r := <-h.events:
		t.Fatalf("unexpected %s webhook: %.300s", r.event, r.payload)
	case <-time.After(100 * time.Millisecond):
	}
}

// schemaProblems validates a payload against a component schema of the
// embedded description with the emulator's own validator.
func schemaProblems(t *testing.T, schema string, payload []byte) []string {
	t.Helper()
	sp := getSpec()
	if _, ok := sp.root["components"].(map[string]any)["schemas"].(map[string]any)[schema]; !ok {
		t.Fatalf("schema %s is not in testdata/openapi.json (see cmd/trimspec)", schema)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var problems []string
	sp.validate(map[string]any{"$ref": "#/components/schemas/" + schema}, v, "payload", &problems)
	return problems
}

func TestPushWebhook(t *testing.T) {
	f := newFixture(t)
	sink := newSink(t, f.sim)
	r := f.repo
	main0 := r.Head("main")
	var feature string
	tests := []struct {
		name   string
		do     func() string // returns the expected after SHA
		check  func(t *testing.T, e *github.PushEvent)
		sender string
	}{
		{"new branch", func() string {
			feature = r.Commit("feature", map[string]string{"a.txt": "a\n"}, "add a")
			return feature
		}, func(t *testing.T, e *github.PushEvent) {
			if e.GetRef() != "refs/heads/feature" || !e.GetCreated() || e.GetBefore() != zeroSHA || e.GetForced() ||
				len(e.Commits) != 1 || e.Commits[0].GetID() != feature || e.Commits[0].GetMessage() != "add a" ||
				strings.Join(e.Commits[0].Added, ",") != "a.txt" || len(e.Commits[0].Modified) != 0 {
				t.Fatalf("%+v", e)
			}
		}, "octocat"},
		{"commit on a branch", func() string {
			return r.Commit("main", map[string]string{"README.md": "changed\n", "b.txt": "b\n"}, "main change")
		}, func(t *testing.T, e *github.PushEvent) {
			if e.GetRef() != "refs/heads/main" || e.GetCreated() || e.GetBefore() != main0 || e.GetForced() || e.GetDeleted() ||
				len(e.Commits) != 1 || strings.Join(e.Commits[0].Added, ",") != "b.txt" || strings.Join(e.Commits[0].Modified, ",") != "README.md" ||
				e.GetHeadCommit().GetID() != e.GetAfter() || e.GetPusher().GetName() != "octocat" || e.BaseRef != nil ||
				!strings.HasSuffix(e.GetCompare(), "/acme/shop/compare/"+main0[:12]+"..."+e.GetAfter()[:12]) {
				t.Fatalf("%+v", e)
			}
		}, "octocat"},
		{"force push", func() string {
			r.Branch("feature", main0)
			return main0
		}, func(t *testing.T, e *github.PushEvent) {
			if e.GetBefore() != feature || !e.GetForced() || len(e.Commits) != 0 {
				t.Fatalf("%+v", e)
			}
		}, "octocat"},
		{"tag", func() string {
			r.Tag("v1.0.0", main0)
			return main0
		}, func(t *testing.T, e *github.PushEvent) {
			if e.GetRef() != "refs/tags/v1.0.0" || !e.GetCreated() || len(e.Commits) != 0 || e.GetHeadCommit().GetID() != main0 {
				t.Fatalf("%+v", e)
			}
		}, "octocat"},
		{"ref created through the API", func() string {
			if _, _, err := f.client.Git.CreateRef(f.ctx, "acme", "shop", &github.Reference{Ref: github.String("refs/tags/deploy-backup/production/1"),
				Object: &github.GitObject{SHA: github.String(main0)}}); err != nil {
				t.Fatal(err)
			}
			return main0
		}, func(t *testing.T, e *github.PushEvent) {
			if e.GetRef() != "refs/tags/deploy-backup/production/1" || !e.GetCreated() {
				t.Fatalf("%+v", e)
			}
		}, "deploybot[bot]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := tt.do()
			rec, ev := sink.expect(t, "push", "")
			e := ev.(*github.PushEvent)
			if e.GetAfter() != after || e.GetRepo().GetFullName() != "acme/shop" || e.GetInstallation().GetID() != instID || e.GetSender().GetLogin() != tt.sender {
				t.Fatalf("after %s repo %s sender %s", e.GetAfter(), e.GetRepo().GetFullName(), e.GetSender().GetLogin())
			}
			tt.check(t, e)
			if p := schemaProblems(t, "webhook-push", rec.payload); len(p) > 0 {
				t.Fatalf("payload does not match webhook-push: %v", p)
			}
		})
	}
	t.Run("moving a ref to where it is sends nothing", func(t *testing.T) {
		r.Branch("main", r.Head("main"))
		sink.quiet(t)
	})
}

func TestPullRequestSynchronize(t *testing.T) {
	f := newFixture(t)
	sink := newSink(t, f.sim)
	r := f.repo
	first := r.Commit("feature", map[string]string{"x": "1"}, "one")
	n := r.OpenPR("feature", "main", "alice", "Feature")
	sink.expect(t, "push", "")
	sink.expect(t, "pull_request", "opened")
	for _, tt := range []struct {
		name   string
		move   func() string
		before string
	}{
		{"push to the head branch", func() string { return r.Commit("feature", map[string]string{"x": "2"}, "two") }, first},
		{"force push to the head branch", func() string { r.Branch("feature", first); return first }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prev := r.PRHead(n)
			after := tt.move()
			sink.expect(t, "push", "")
			rec, ev := sink.expect(t, "pull_request", "synchronize")
			e := ev.(*github.PullRequestEvent)
			if e.GetBefore() != prev || e.GetAfter() != after || e.GetPullRequest().GetHead().GetSHA() != after || e.GetNumber() != n || e.GetSender().GetLogin() != "octocat" {
				t.Fatalf("before %s (want %s) after %s (want %s) head %s", e.GetBefore(), prev, e.GetAfter(), after, e.GetPullRequest().GetHead().GetSHA())
			}
			if p := schemaProblems(t, "webhook-pull-request-synchronize", rec.payload); len(p) > 0 {
				t.Fatalf("payload does not match webhook-pull-request-synchronize: %v", p)
			}
		})
	}
	t.Run("auto_merge moves the head branch", func(t *testing.T) {
		r.Commit("main", map[string]string{"m": "1"}, "main moves")
		sink.expect(t, "push", "")
		_, resp, _ := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", &github.DeploymentRequest{Ref: github.String("feature")})
		if resp.StatusCode != 202 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		_, ev := sink.expect(t, "push", "")
		// The push brings main's commit and the merge commit.
		if e := ev.(*github.PushEvent); e.GetSender().GetLogin() != "deploybot[bot]" || len(e.Commits) != 2 || e.Commits[0].GetMessage() != "main moves" ||
			!strings.HasPrefix(e.Commits[1].GetMessage(), "Merge branch 'main'") {
			t.Fatalf("%+v", e)
		}
		sink.expect(t, "pull_request", "synchronize")
	})
}

func TestStatusWebhook(t *testing.T) {
	f := newFixture(t)
	sink := newSink(t, f.sim)
	sha := f.repo.Commit("feature", map[string]string{"x": "y"}, "feature")
	sink.expect(t, "push", "")
	for _, tt := range []struct {
		name, context, state, sender string
		post                         func()
	}{
		{"SetCommitStatus", "ci/build", "failure", "ci-bot", func() { f.repo.SetCommitStatus(sha, "ci/build", "failure", "tests failed") }},
		{"POST statuses", "deploy/staging", "success", "deploybot[bot]", func() {
			if _, _, err := f.client.Repositories.CreateStatus(f.ctx, "acme", "shop", sha, &github.RepoStatus{
				State: github.String("success"), Context: github.String("deploy/staging"), Description: github.String("deployed"),
				TargetURL: github.String("https://deploy.example/1")}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.post()
			rec, ev := sink.expect(t, "status", "")
			e := ev.(*github.StatusEvent)
			if e.GetSHA() != sha || e.GetContext() != tt.context || e.GetState() != tt.state || e.GetName() != "acme/shop" ||
				e.GetSender().GetLogin() != tt.sender || e.GetCommit().GetSHA() != sha || e.GetCommit().GetCommit().GetMessage() != "feature" ||
				len(e.Branches) != 1 || e.Branches[0].GetName() != "feature" || e.GetID() == 0 || e.GetInstallation().GetID() != instID {
				t.Fatalf("%s", rec.payload)
			}
			// What keeps the status payload honest: GitHub's schema of it.
			if p := schemaProblems(t, "webhook-status", rec.payload); len(p) > 0 {
				t.Fatalf("payload does not match webhook-status: %v", p)
			}
			var m map[string]any
			_ = json.Unmarshal(rec.payload, &m)
			m["state"] = "done"
			delete(m, "branches")
			bad, _ := json.Marshal(m)
			if p := schemaProblems(t, "webhook-status", bad); len(p) != 2 {
				t.Fatalf("the validator misses broken payloads: %v", p)
			}
		})
	}
}

func TestCheckSuiteWebhook(t *testing.T) {
	f := newFixture(t)
	sink := newSink(t, f.sim)
	r := f.repo
	sha := r.Commit("feature", map[string]string{"x": "y"}, "feature")
	n := r.OpenPR("feature", "main", "alice", "Feature")
	sink.expect(t, "push", "")
	sink.expect(t, "pull_request", "opened")

	suite := func(t *testing.T, app, conclusion string, runs int) {
		t.Helper()
		rec, ev := sink.expect(t, "check_suite", "completed")
		e := ev.(*github.CheckSuiteEvent)
		cs := e.GetCheckSuite()
		if cs.GetHeadSHA() != sha || cs.GetHeadBranch() != "feature" || cs.GetStatus() != "completed" || cs.GetConclusion() != conclusion ||
			cs.GetApp().GetSlug() != app || len(cs.PullRequests) != 1 || cs.PullRequests[0].GetNumber() != n ||
			cs.GetHeadCommit().GetMessage() != "feature" || e.GetSender().GetLogin() != app+"[bot]" {
			t.Fatalf("%s", rec.payload)
		}
		var m struct {
			CheckSuite struct {
				Count int `json:"latest_check_runs_count"`
			} `json:"check_suite"`
		}
		_ = json.Unmarshal(rec.payload, &m)
		if m.CheckSuite.Count != runs {
			t.Fatalf("latest_check_runs_count %d, want %d", m.CheckSuite.Count, runs)
		}
		if p := schemaProblems(t, "webhook-check-suite-completed", rec.payload); len(p) > 0 {
			t.Fatalf("payload does not match webhook-check-suite-completed: %v", p)
		}
	}
	t.Run("CI suite completes with its last run", func(t *testing.T) {
		a := r.AddCheckRun(sha, "test", "in_progress", "")
		b := r.AddCheckRun(sha, "lint", "queued", "")
		sink.expect(t, "check_run", "created")
		sink.expect(t, "check_run", "created")
		f.sim.CompleteCheckRun(a, "success")
		sink.expect(t, "check_run", "completed")
		sink.quiet(t) // lint is still queued
		f.sim.CompleteCheckRun(b, "failure")
		sink.expect(t, "check_run", "completed")
		suite(t, "github-actions", "failure", 2)
	})
	t.Run("another app's suite", func(t *testing.T) {
		r.AddCheckRunByApp("circleci", sha, "build", "completed", "success")
		_, ev := sink.expect(t, "check_run", "created")
		if e := ev.(*github.CheckRunEvent); e.GetCheckRun().GetApp().GetSlug() != "circleci" || e.GetSender().GetLogin() != "circleci[bot]" {
			t.Fatalf("%+v", e.GetCheckRun().GetApp())
		}
		sink.expect(t, "check_run", "completed")
		suite(t, "circleci", "success", 1)
	})
	t.Run("the app's own suite through the API", func(t *testing.T) {
		cr, _, err := f.client.Checks.CreateCheckRun(f.ctx, "acme", "shop", github.CreateCheckRunOptions{Name: "deploy/staging", HeadSHA: sha})
		if err != nil {
			t.Fatal(err)
		}
		sink.expect(t, "check_run", "created")
		if _, _, err := f.client.Checks.UpdateCheckRun(f.ctx, "acme", "shop", cr.GetID(), github.UpdateCheckRunOptions{
			Name: "deploy/staging", Conclusion: github.String("neutral")}); err != nil {
			t.Fatal(err)
		}
		sink.expect(t, "check_run", "completed")
		suite(t, "deploybot", "neutral", 1)
	})
	t.Run("conclusions", func(t *testing.T) {
		for _, tt := range []struct {
			runs []string
			want string
		}{
			{[]string{"success", "skipped"}, "success"},
			{[]string{"success", "neutral"}, "success"},
			{[]string{"skipped"}, "skipped"},
			{[]string{"success", "failure", "cancelled"}, "cancelled"},
			{[]string{"timed_out", "success"}, "timed_out"},
			{[]string{"action_required", "failure"}, "action_required"},
		} {
			var runs []*CheckRun
			for _, c := range tt.runs {
				runs = append(runs, &CheckRun{Conclusion: c})
			}
			if got := suiteConclusion(runs); got != tt.want {
				t.Errorf("%v: %s, want %s", tt.runs, got, tt.want)
			}
		}
	})
}

func TestReleaseWebhooks(t *testing.T) {
	f := newFixture(t)
	sink := newSink(t, f.sim)
	r := f.repo
	var draft int64
	for _, tt := range []struct {
		name   string
		do     func() int64
		events []string // push or release actions, in order
	}{
		{"release", func() int64 { return r.CreateRelease("v1.0.0", "main", "One", "notes", false, false) },
			[]string{"created", "push", "published", "released"}},
		{"pre-release", func() int64 { return r.CreateRelease("v2.0.0-rc1", "main", "RC", "", false, true) },
			[]string{"created", "push", "published", "prereleased"}},
		{"draft", func() int64 { draft = r.CreateRelease("v2.0.0", "main", "Two", "", true, false); return draft },
			[]string{"created"}},
		{"publish the draft", func() int64 { r.PublishRelease(draft); return draft },
			[]string{"push", "published", "released"}},
		{"deploybot edits the body", func() int64 {
			body := "\n- production: deployed"
			if _, _, err := f.client.Repositories.EditRelease(f.ctx, "acme", "shop", draft, &github.RepositoryRelease{Body: &body}); err != nil {
				t.Fatal(err)
			}
			return draft
		}, []string{"edited"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.do()
			for _, want := range tt.events {
				if want == "push" {
					sink.expect(t, "push", "")
					continue
				}
				rec, ev := sink.expect(t, "release", want)
				e := ev.(*github.ReleaseEvent)
				rel, _ := f.sim.Release("acme/shop", id)
				if e.GetRelease().GetID() != id || e.GetRelease().GetTagName() != rel.TagName || e.GetRelease().GetDraft() != rel.Draft ||
					e.GetRelease().GetPrerelease() != rel.Prerelease || e.GetRelease().GetBody() != rel.Body || e.GetRepo().GetFullName() != "acme/shop" {
					t.Fatalf("%s: %s", want, rec.payload)
				}
				if want == "edited" {
					var m struct {
						Changes struct {
							Body struct{ From string } `json:"body"`
						} `json:"changes"`
					}
					_ = json.Unmarshal(rec.payload, &m)
					if m.Changes.Body.From != "" || e.GetSender().GetLogin() != "deploybot[bot]" {
						t.Fatalf("changes %s", rec.payload)
					}
				}
				if p := schemaProblems(t, webhookSchema("release", want), rec.payload); len(p) > 0 {
					t.Fatalf("payload does not match %s: %v", webhookSchema("release", want), p)
				}
			}
			sink.quiet(t)
		})
	}
}

func TestEventsOption(t *testing.T) {
	sim := New(Options{AppID: 7, TB: t, Events: []string{"issue_comment"}})
	sim.AddInstallation(instID, "acme")
	repo := sim.AddRepo("acme", "shop", "main")
	sha := repo.Commit("feature", map[string]string{"a": "b"}, "x")
	repo.SetCommitStatus(sha, "ci", "success", "")
	repo.AddCheckRun(sha, "test", "completed", "success")
	repo.CreateRelease("v1", "main", "", "", false, false)
	sim.Comment("acme/shop", repo.OpenIssue("alice", "x"), "alice", "hi")
	if ds := sim.Deliveries(); len(ds) != 1 || ds[0].Event != "issue_comment" {
		t.Fatalf("deliveries %+v", ds)
	}
}

func TestWebhookDriftIsAViolation(t *testing.T) {
	sim := New(Options{AppID: 7})
	defer sim.Close()
	sim.AddInstallation(instID, "acme")
	repo := sim.AddRepo("acme", "shop", "main")
	sim.mu.Lock()
	ex := example("status", "status.payload.json")
	ex["state"] = "done"
	sim.enqueueLocked("status", repo, ex, "alice")
	sim.mu.Unlock()
	if v := sim.Violations(); len(v) != 1 || !strings.Contains(v[0].Error(), "webhook-status") || !strings.Contains(v[0].Error(), "done") {
		t.Fatalf("violations %v", v)
	}
}
