package app

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/internal/githubsim"
)

// riverBackoff stands for River's default retry policy and counts the step
// jobs it was asked about: a step that GitHub failed for a moment must be
// rescheduled by the step worker (deploy.StepRetryDelay, about a second)
// and never reach it. Were it asked, the step would wait an hour.
type riverBackoff struct {
	mu    sync.Mutex
	steps int
}

func (p *riverBackoff) NextRetry(job *rivertype.JobRow) time.Time {
	if job.Kind == (deploy.StepArgs{}).Kind() {
		p.mu.Lock()
		p.steps++
		p.mu.Unlock()
	}
	return time.Now().Add(time.Hour)
}

func (p *riverBackoff) asked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.steps
}

type faultStory struct {
	*story
	backoff *riverBackoff
	pr      int
}

func newFaultStory(t *testing.T) *faultStory {
	backoff := &riverBackoff{}
	s := newStoryWith(t, func(o *SandboxOptions) { o.RetryPolicy = backoff })
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	return &faultStory{story: s, backoff: backoff, pr: pr}
}

// deployed runs /deploy staging to its end and checks what every story
// here expects: one deployment, successful, whose statuses begin with one
// queued; the step GitHub failed ran again on its next attempt, rescheduled
// by the step worker, not River's backoff.
func (f *faultStory) deployed() githubsim.Deployment {
	t := f.t
	t.Helper()
	f.comment(f.pr, "walt", "/deploy staging")
	deps := f.deploymentsFinished(1)
	if len(deps) != 1 || deps[0].LatestState() != "success" {
		t.Fatalf("deployments = %v", summarize(deps))
	}
	st := states(deps[0])
	queued := 0
	for _, s := range st {
		if s == "queued" {
			queued++
		}
	}
	if len(st) == 0 || st[0] != "queued" || queued != 1 {
		t.Errorf("statuses %v, want them to begin with one queued", st)
	}
	if n := f.backoff.asked(); n != 0 {
		t.Errorf("River's backoff was asked %d times about a step GitHub failed for a moment", n)
	}
	jobs, err := f.App.Store.JobsOfKind(f.ctx, deploy.StepArgs{}.Kind())
	if err != nil {
		t.Fatal(err)
	}
	retried := 0
	for _, j := range jobs {
		if j.Attempt > 1 {
			retried++
			if j.Attempt != 2 {
				t.Errorf("a step took %d attempts, want 2", j.Attempt)
			}
		}
	}
	if retried != 1 {
		t.Errorf("%d steps were retried, want the 1 GitHub failed", retried)
	}
	if calls, _ := f.Target.Calls(); len(calls) != 1 {
		t.Errorf("executor called %d times", len(calls))
	}
	return deps[0]
}

func (f *faultStory) requests(op string) (n int) {
	for _, r := range f.Sim.Requests() {
		if r.Operation == op {
			n++
		}
	}
	return n
}

// A 502 to the queued status (a POST, so not repeated in the request): the
// step runs again about a second later, finds the deployment it made, sees
// it has no queued status yet and posts it.
func TestStatusWrite502IsRetriedSoon(t *testing.T) {
	t.Parallel()
	f := newFaultStory(t)
	f.Sim.FailNext("POST", "/repos/acme/shop/deployments/", 1, http.StatusBadGateway, nil)
	f.deployed()
	if n := f.requests("repos/create-deployment"); n != 1 {
		t.Errorf("%d create-deployment requests, want 1", n)
	}
	if n := f.requests("repos/list-deployment-statuses"); n != 1 {
		t.Errorf("recovery listed statuses %d times, want 1", n)
	}
}

// GitHub creates the deployment and its answer is lost: the retried step
// finds the deployment by its payload and still posts queued.
func TestLostCreateDeploymentAnswerStillQueues(t *testing.T) {
	t.Parallel()
	f := newFaultStory(t)
	f.Sim.FailAfterApply("POST", "/repos/acme/shop/deployments", 1, http.StatusBadGateway)
	f.deployed()
	if n := f.requests("repos/create-deployment"); n != 1 {
		t.Errorf("%d create-deployment requests, want 1 (the lost one is found, not repeated)", n)
	}
}
