package checks

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

func TestChecksGate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    *config.ChecksGate
		seed   func(t *testing.T, f *simFixture, sha string)
		adjust func(in *Input, f *simFixture)
		want   Verdict
		reason string   // exact reason; "%s" is replaced by the short SHA
		detail []string // substrings of the detail
	}{
		{
			name:   "no checks at all",
			want:   Pass,
			reason: "no checks on %s",
			detail: []string{"does not seem to have CI configured"},
		},
		{
			name: "all passed",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "ci/test", "completed", "success")
				f.repo.AddCheckRun(sha, "lint", "completed", "neutral")
				f.repo.AddCheckRun(sha, "docs", "completed", "skipped")
				f.repo.SetCommitStatus(sha, "coverage", "success", "92%")
			},
			want:   Pass,
			reason: "4 checks passed",
			detail: []string{"| check | kind | state | link |", "| `coverage` | status | ✅ success |", "| `lint` | check run | ✅ neutral | [details]("},
		},
		{
			name: "failed check runs block with links",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "ci/test", "completed", "failure")
				f.repo.AddCheckRun(sha, "lint", "completed", "cancelled")
				f.repo.AddCheckRun(sha, "build", "completed", "success")
			},
			want:   Block,
			reason: "2 checks failed: ci/test (failure), lint (cancelled)",
			detail: []string{"[ci/test](http", "Fix them", "gates.checks.ignore", "| `ci/test` | check run | ⛔ failure |"},
		},
		{
			name: "every failing conclusion blocks",
			seed: func(t *testing.T, f *simFixture, sha string) {
				for _, c := range []string{"timed_out", "action_required", "cancelled"} {
					f.repo.AddCheckRun(sha, "job-"+c, "completed", c)
				}
			},
			want:   Block,
			reason: "3 checks failed: job-action_required (action_required), job-cancelled (cancelled), job-timed_out (timed_out)",
		},
		{
			name: "failed and errored statuses block",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.SetCommitStatus(sha, "ci/jenkins", "error", "agent lost")
				f.repo.SetCommitStatus(sha, "ci/circle", "failure", "tests failed")
			},
			want:   Block,
			reason: "2 checks failed: ci/circle (failure), ci/jenkins (failure)",
		},
		{
			name: "a failure beats pending checks",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "ci/test", "in_progress", "")
				f.repo.AddCheckRun(sha, "lint", "completed", "failure")
			},
			want:   Block,
			reason: "1 check failed: lint (failure)",
		},
		{
			name: "pending checks wait",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "ci/test", "in_progress", "")
				f.repo.AddCheckRun(sha, "lint", "queued", "")
				f.repo.AddCheckRun(sha, "build", "completed", "success")
			},
			want:   Wait,
			reason: "waiting for ci/test, lint (2 pending)",
			detail: []string{"is refused if any is still pending at", "(wait: 30m)", "| `ci/test` | check run | ⏳ in_progress |"},
		},
		{
			name: "pending status waits",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.SetCommitStatus(sha, "ci/jenkins", "pending", "running")
			},
			want:   Wait,
			reason: "waiting for ci/jenkins (1 pending)",
		},
		{
			name: "pending past the configured wait times out",
			cfg:  &config.ChecksGate{Wait: config.D(20 * time.Minute)},
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "ci/test", "in_progress", "")
			},
			adjust: func(in *Input, f *simFixture) { in.WaitingSince = in.Now.Add(-20 * time.Minute) },
			want:   Block,
			reason: "timed out after 20m waiting for ci/test",
			detail: []string{"Still pending on `", "raise `gates.checks.wait`"},
		},
		{
			name: "pending past the default wait times out",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "ci/test", "queued", "")
			},
			adjust: func(in *Input, f *simFixture) { in.WaitingSince = in.Now.Add(-31 * time.Minute) },
			want:   Block,
			reason: "timed out after 30m waiting for ci/test",
		},
		{
			name: "ignored checks by name and glob",
			cfg:  &config.ChecksGate{Ignore: []string{"lint", "optional/*"}},
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "lint", "completed", "failure")
				f.repo.AddCheckRun(sha, "optional/e2e", "in_progress", "")
				f.repo.SetCommitStatus(sha, "optional/perf", "failure", "slow")
				f.repo.AddCheckRun(sha, "ci/test", "completed", "success")
			},
			want:   Pass,
			reason: "1 check passed",
			detail: []string{"Not gated on:", "`lint` (ignored)", "`optional/e2e` (ignored by `optional/*`)", "`optional/perf` (ignored by `optional/*`)"},
		},
		{
			name: "only ignored checks",
			cfg:  &config.ChecksGate{Ignore: []string{"*"}},
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "lint", "completed", "failure")
			},
			want:   Pass,
			reason: "no checks to wait for on %s (1 ignored)",
		},
		{
			name: "deploybot's own check runs are left out",
			seed: func(t *testing.T, f *simFixture, sha string) {
				// Made by the app itself (app deploybot, id 7), pending.
				for _, name := range []string{"summary", "deploy/staging: checks"} {
					if _, _, err := f.gh.Checks.CreateCheckRun(context.Background(), "acme", "shop", github.CreateCheckRunOptions{
						Name: name, HeadSHA: sha, Status: github.String("in_progress"),
					}); err != nil {
						t.Fatal(err)
					}
				}
				f.repo.AddCheckRun(sha, "ci/test", "completed", "success")
			},
			want:   Pass,
			reason: "1 check passed",
			detail: []string{"`summary` (deploybot's own)", "`deploy/staging: checks` (deploybot's own)"},
		},
		{
			name: "deploybot's own check runs are known by app id alone",
			seed: func(t *testing.T, f *simFixture, sha string) {
				if _, _, err := f.gh.Checks.CreateCheckRun(context.Background(), "acme", "shop", github.CreateCheckRunOptions{
					Name: "deploy/staging", HeadSHA: sha, Status: github.String("in_progress"),
				}); err != nil {
					t.Fatal(err)
				}
			},
			adjust: func(in *Input, f *simFixture) { in.AppSlug, in.AppID = "", 7 },
			want:   Pass,
			reason: "no checks to wait for on %s (1 ignored)",
		},
		{
			name: "another app's check run named like deploybot's is gated on",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRunByApp("evil-app", sha, "deploy/staging: evil", "completed", "failure")
				f.repo.AddCheckRun(sha, "deploy/production", "completed", "failure")
			},
			want:   Block,
			reason: "2 checks failed: deploy/production (failure), deploy/staging: evil (failure)",
		},
		{
			name: "a commit status named like deploybot's is gated on",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.SetCommitStatus(sha, "deploy/x", "failure", "")
			},
			want:   Block,
			reason: "1 check failed: deploy/x (failure)",
		},
		{
			name: "the workflow run asking a protection rule is not waited for",
			seed: func(t *testing.T, f *simFixture, sha string) {
				f.repo.AddCheckRun(sha, "deploy-job", "in_progress", "")
				f.repo.SetCommitStatus(sha, "ci/legacy", "success", "")
			},
			adjust: func(in *Input, f *simFixture) {
				in.IgnoreCheckSuiteID = f.sim.CheckRuns("acme/shop", in.SHA)[0].SuiteID
			},
			want:   Pass,
			reason: "1 check passed",
			detail: []string{"`deploy-job` (part of the workflow run waiting on this deployment)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			if tc.seed != nil {
				tc.seed(t, f, f.sha)
			}
			in := f.input(&config.Environment{}, f.sha)
			if tc.adjust != nil {
				tc.adjust(&in, f)
			}
			r := eval(t, Checks{Config: tc.cfg}, in)
			want := strings.ReplaceAll(tc.reason, "%s", short(f.sha))
			wantResult(t, r, tc.want, want, tc.detail...)
		})
	}
}

// TestChecksGateStale covers conclusions GitHub's description does not let
// the emulator serve on check runs ("stale" is set by GitHub itself).
func TestChecksGateStale(t *testing.T) {
	sh := &shared{}
	sh.once.Do(func() {
		sh.states = []CheckState{
			{Name: "ci/test", Kind: "check_run", Status: "completed", Conclusion: "stale", URL: "https://ci.example/1"},
			{Name: "ci/other", Kind: "check_run", Status: "completed", Conclusion: "some_new_conclusion"},
			{Name: "ok", Kind: "check_run", Status: "completed", Conclusion: "success"},
		}
	})
	in := Input{SHA: "0123456789abcdef", Now: time.Now(), shared: sh}
	r := eval(t, Checks{}, in)
	if r.Verdict != Block || r.Reason != "2 checks failed: ci/other (some_new_conclusion), ci/test (stale)" ||
		!strings.Contains(r.Detail, "[ci/test](https://ci.example/1)") {
		t.Fatalf("got %s %q\n%s", r.Verdict, r.Reason, r.Detail)
	}
}

func TestChecksGateWaitDeadline(t *testing.T) {
	f := newSim(t)
	f.repo.AddCheckRun(f.sha, "ci/test", "in_progress", "")
	f.repo.SetCommitStatus(f.sha, "ci/test", "pending", "") // same name twice: listed once

	in := f.input(&config.Environment{}, f.sha)
	r := eval(t, Checks{}, in)
	if r.Verdict != Wait || !r.Deadline.Equal(in.Now.Add(30*time.Minute)) || strings.Join(r.WaitingFor, ",") != "ci/test" {
		t.Fatalf("first wait: %+v", r)
	}
	if r.Reason != "waiting for ci/test (2 pending)" {
		t.Fatalf("reason %q", r.Reason)
	}

	// Re-evaluated later: the deadline stays anchored at WaitingSince.
	since := in.Now.Add(-10 * time.Minute)
	in = f.input(&config.Environment{}, f.sha)
	in.WaitingSince = since
	r = eval(t, Checks{Config: &config.ChecksGate{Wait: config.D(time.Hour)}}, in)
	if r.Verdict != Wait || !r.Deadline.Equal(since.Add(time.Hour)) {
		t.Fatalf("later wait: %+v", r)
	}
}

// TestChecksGateManyRuns shows every page is read and that gates sharing an
// Input fetch the commit's checks once.
func TestChecksGateManyRuns(t *testing.T) {
	f := newSim(t)
	for i := range 120 {
		f.repo.AddCheckRun(f.sha, fmt.Sprintf("job-%03d", i), "completed", "success")
	}
	f.repo.SetCommitStatus(f.sha, "ci/legacy", "success", "")
	f.sim.ResetRequests()

	in := f.input(&config.Environment{}, f.sha)
	results := make([]Result, 3)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = eval(t, Checks{}, in) })
	}
	wg.Wait()
	for _, r := range results {
		if r.Verdict != Pass || r.Reason != "121 checks passed" {
			t.Fatalf("got %s %q", r.Verdict, r.Reason)
		}
	}

	// The last run is listed, so the second page was read.
	if !strings.Contains(results[0].Detail, "`job-119`") {
		t.Fatalf("detail lacks job-119:\n%s", results[0].Detail)
	}
	runs, statuses := 0, 0
	for _, rq := range f.sim.Requests() {
		switch rq.Path {
		case "/repos/acme/shop/commits/" + f.sha + "/check-runs":
			runs++
		case "/repos/acme/shop/commits/" + f.sha + "/status":
			statuses++
		}
	}
	if runs != 2 || statuses != 1 {
		t.Fatalf("check-runs requests = %d (want 2 pages), status requests = %d (want 1)", runs, statuses)
	}
}

func TestChecksGateErrors(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"check runs", "/repos/acme/shop/commits/"},
		{"statuses", "/repos/acme/shop/commits/{sha}/status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			f.repo.AddCheckRun(f.sha, "ci/test", "completed", "success")
			f.sim.FailNext("GET", strings.ReplaceAll(tc.path, "{sha}", f.sha), 1, 500, nil)
			r, err := Checks{}.Evaluate(context.Background(), f.input(&config.Environment{}, f.sha))
			if err == nil {
				t.Fatalf("no error, got %s %q", r.Verdict, r.Reason)
			}
			if !strings.Contains(err.Error(), short(f.sha)) {
				t.Fatalf("error does not name the commit: %v", err)
			}
		})
	}
}
