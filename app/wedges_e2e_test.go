package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/internal/pacer"
	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// newStoryWith is newStory with the sandbox options adjusted.
func newStoryWith(t *testing.T, adjust func(o *SandboxOptions)) *story {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	o := SandboxOptions{TB: t, DatabaseURL: storetest.URL(t), Logger: &logger}
	if adjust != nil {
		adjust(&o)
	}
	sb, err := NewSandbox(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return &story{t: t, Sandbox: sb, ctx: ctx}
}

// queuedBehind starts a deployment of one PR to staging, holds it at the
// executor, and queues a second PR's deployment behind it.
type queuedBehind struct {
	*story
	pr1, pr2   int
	sha1, sha2 string
	release    func()
}

func newQueuedBehind(t *testing.T, adjust func(o *SandboxOptions)) *queuedBehind {
	s := newStoryWith(t, adjust)
	s.Repo.SetPermission("walt", "write")
	q := &queuedBehind{story: s, release: s.Target.Hold()}
	t.Cleanup(q.release)
	q.pr1, q.sha1 = s.openPR("feature/one", "walt")
	q.pr2, q.sha2 = s.openPR("feature/two", "walt")
	executing := s.Target.Changed()
	s.comment(q.pr1, "walt", "/deploy staging")
	select {
	case <-executing:
	case <-s.ctx.Done():
		t.Fatal("first deployment never reached the executor")
	}
	s.comment(q.pr2, "walt", "/deploy staging")
	if err := s.Sim.WaitFor(s.ctx, func() bool {
		c := s.deploybotComments(q.pr2)
		return len(c) == 1 && strings.Contains(c[0], "queued")
	}); err != nil {
		t.Fatalf("second request is not queued: %q", s.deploybotComments(q.pr2))
	}
	return q
}

// GitHub refuses (422) a request of the first deployment's last steps. That
// must not keep staging locked: the deployment ends, its record says what
// went wrong, and the deployment queued behind it runs.
func TestRefusalNearTheEndStillHandsOnTheEnvironment(t *testing.T) {
	t.Parallel()
	refused := `{"message":"Validation Failed","documentation_url":"https://docs.github.com/rest"}`
	for _, tc := range []struct {
		name   string
		fault  func(q *queuedBehind) githubsim.Fault
		state  string // the first deployment's last GitHub status
		record []string
	}{{
		name: "finish: check run update refused",
		fault: func(q *queuedBehind) githubsim.Fault {
			summary := q.checkRun(q.sha1, "deploy/staging")
			return githubsim.Fault{Method: "PATCH", PathPrefix: fmt.Sprintf("/repos/acme/shop/check-runs/%d", summary.ID)}
		},
		state:  "success",
		record: []string{"is live in **staging**", "GitHub refused to complete the check run (422 Validation Failed)"},
	}, {
		// Statuses change at phase changes only: past the executor the next
		// one is the final status, which finish reports even when refused.
		name: "finish: final deployment status refused",
		fault: func(q *queuedBehind) githubsim.Fault {
			first := q.Sim.Deployments(SandboxRepoFull)[0]
			return githubsim.Fault{Method: "POST", PathPrefix: fmt.Sprintf("/repos/acme/shop/deployments/%d/statuses", first.ID)}
		},
		state:  "in_progress",
		record: []string{"is live in **staging**", "GitHub refused to report the deployment status (422 Validation Failed)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := newQueuedBehind(t, nil)
			f := tc.fault(q)
			f.N, f.Status, f.Body = 1, http.StatusUnprocessableEntity, refused
			q.Sim.Inject(f)

			q.release()
			bySHA := map[string]githubsim.Deployment{}
			if err := q.Sim.WaitFor(q.ctx, func() bool {
				for _, d := range q.Sim.Deployments(SandboxRepoFull) {
					bySHA[d.SHA] = d
				}
				return bySHA[q.sha2].LatestState() == "success"
			}); err != nil {
				t.Fatalf("the queued deployment never succeeded (%v); staging was not handed on", states(bySHA[q.sha2]))
			}
			q.settle()
			for _, d := range q.Sim.Deployments(SandboxRepoFull) {
				bySHA[d.SHA] = d
			}
			if got := bySHA[q.sha2].LatestState(); got != "success" {
				t.Fatalf("the queued deployment ended %v; staging was not handed on", states(bySHA[q.sha2]))
			}
			// GitHub marks a successful first deployment inactive once the second succeeds.
			got := states(bySHA[q.sha1])
			for len(got) > 0 && got[len(got)-1] == "inactive" {
				got = got[:len(got)-1]
			}
			if len(got) == 0 || got[len(got)-1] != tc.state {
				t.Errorf("first deployment's statuses %v, want it to end %s", states(bySHA[q.sha1]), tc.state)
			}
			if calls, _ := q.Target.Calls(); len(calls) != 2 {
				t.Errorf("executor called %d times, want 2 (one per deployment)", len(calls))
			}
			record := q.deploybotComments(q.pr1)[0]
			for _, want := range tc.record {
				contains(t, "first record", record, want)
			}
		})
	}
}

// retrySoon retries failed jobs at once, so a test reaches a job's last
// attempt without River's backoff.
type retrySoon struct{}

func (retrySoon) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(10 * time.Millisecond) }

// GitHub answers 500 to every update of the first deployment's check run:
// its finish step is retried and, at the last attempt, gives up. The
// deployment still ends (error) and staging goes to the one queued behind.
func TestFinishThatGivesUpStillHandsOnTheEnvironment(t *testing.T) {
	t.Parallel()
	// The finish step's ~50 refused attempts spend most of a minute's write
	// budget, so with GitHub's limits the pacer holds the queued
	// deployment's writes for ~40 s: true, but not this story's subject.
	budget := pacer.DefaultLimits()
	budget.PerMinute *= 4
	q := newQueuedBehind(t, func(o *SandboxOptions) {
		o.RetryPolicy = retrySoon{}
		o.PacerLimits = &budget
	})
	summary := q.checkRun(q.sha1, "deploy/staging")
	q.Sim.Inject(githubsim.Fault{Method: "PATCH", PathPrefix: fmt.Sprintf("/repos/acme/shop/check-runs/%d", summary.ID),
		N: 1000, Status: http.StatusInternalServerError})

	q.release()
	if err := q.Sim.WaitFor(q.ctx, func() bool {
		for _, d := range q.Sim.Deployments(SandboxRepoFull) {
			if d.SHA == q.sha2 && d.LatestState() == "success" {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the queued deployment never ran: %v (have %v)", err, summarize(q.Sim.Deployments(SandboxRepoFull)))
	}
	q.settle()
	first, err := q.App.Store.Deployment(q.ctx, 1)
	if err != nil || first.State != store.StateError || !first.Ended() {
		t.Fatalf("first deployment = %+v, %v; want ended in error", first, err)
	}
	record := q.deploybotComments(q.pr1)[0]
	contains(t, "first record", record, "stopped on a deploybot error")
	contains(t, "first record", record, "deploybot error in finish: complete check run")
	if calls, _ := q.Target.Calls(); len(calls) != 2 {
		t.Errorf("executor called %d times, want 2", len(calls))
	}
}

// A blocked deployment's summary is created by its finish step. When that
// step is retried after the summary was created (here GitHub answers 502 to
// the record edit that follows, more often than one request retries), the
// retry finds the summary instead of creating a second one.
func TestRetriedFinishFindsTheBlockedSummary(t *testing.T) {
	t.Parallel()
	s := newStoryWith(t, func(o *SandboxOptions) {
		o.Config = gatedConfig
		o.RetryPolicy = retrySoon{}
	})
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/sql", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "completed", "success")
	s.Repo.AddCodeScanningAlert("critical", "go/sql-injection", "Database query built from user-controlled sources")
	s.settle()
	s.Sim.Inject(githubsim.Fault{Method: "PATCH", PathPrefix: "/repos/acme/shop/issues/comments/", N: 4, Status: http.StatusBadGateway})
	s.comment(pr, "walt", "/deploy staging")

	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "failure" {
		t.Fatalf("statuses = %v, want failure", states(d))
	}
	var summaries []githubsim.CheckRun
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		if cr.Name == "deploy/staging" {
			summaries = append(summaries, cr)
		}
	}
	if len(summaries) != 1 || summaries[0].Conclusion != "failure" {
		t.Fatalf("summary check runs = %+v, want one, failure", summaries)
	}
	contains(t, "record", s.deploybotComments(pr)[0], "blocked by security")
}
