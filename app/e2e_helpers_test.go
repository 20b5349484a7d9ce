package app

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/store/storetest"
)

// story is one end-to-end scenario: deploybot, the GitHub emulator and a
// deploy target, with helpers that read like the user's steps.
type story struct {
	t *testing.T
	*Sandbox
	ctx context.Context
}

func newStory(t *testing.T, config string) *story {
	t.Helper()
	return newStoryAt(t, config, nil)
}

// newStoryAt is newStory with deploybot's clock set to now.
func newStoryAt(t *testing.T, config string, now func() time.Time) *story {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	sb, err := NewSandbox(ctx, SandboxOptions{TB: t, DatabaseURL: storetest.URL(t), Logger: &logger, Config: config, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return &story{t: t, Sandbox: sb, ctx: ctx}
}

// openPR pushes a commit to a new branch and opens a PR; it returns the PR
// number and its head SHA.
func (s *story) openPR(branch, author string) (int, string) {
	s.Repo.Commit(branch, map[string]string{branch + ".txt": branch}, "change on "+branch)
	return s.Repo.OpenPR(branch, "main", author, "PR "+branch), s.Repo.Head(branch)
}

func (s *story) comment(pr int, author, body string) int64 {
	return s.Sim.Comment(SandboxRepoFull, pr, author, body)
}

// deploymentsFinished waits until n deployments exist and all are final.
func (s *story) deploymentsFinished(n int) []githubsim.Deployment {
	s.t.Helper()
	var out []githubsim.Deployment
	err := s.Sim.WaitFor(s.ctx, func() bool {
		out = s.Sim.Deployments(SandboxRepoFull)
		if len(out) < n {
			return false
		}
		for _, d := range out {
			switch d.LatestState() {
			case "success", "failure", "error", "inactive":
			default:
				return false
			}
		}
		return true
	})
	if err != nil {
		s.t.Fatalf("waiting for %d finished deployments: %v (have %+v)", n, err, summarize(out))
	}
	s.settle()
	return s.Sim.Deployments(SandboxRepoFull)
}

func (s *story) settle() {
	s.t.Helper()
	if err := s.Settle(s.ctx); err != nil {
		s.t.Fatal(err)
	}
}

func summarize(ds []githubsim.Deployment) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Environment+":"+d.LatestState())
	}
	return out
}

func states(d githubsim.Deployment) []string {
	var out []string
	for _, st := range d.Statuses {
		out = append(out, st.State)
	}
	return out
}

func (s *story) checkRun(sha, name string) githubsim.CheckRun {
	s.t.Helper()
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		if cr.Name == name {
			return cr
		}
	}
	s.t.Fatalf("no check run %s on %s", name, sha)
	return githubsim.CheckRun{}
}

// deploybotComments returns the comments deploybot wrote on a PR.
func (s *story) deploybotComments(pr int) []string {
	var out []string
	for _, c := range s.Sim.Comments(SandboxRepoFull, pr) {
		if c.User == s.Sim.BotLogin() {
			out = append(out, c.Body)
		}
	}
	return out
}

func payloadDeploybot(t *testing.T, d githubsim.Deployment) map[string]any {
	t.Helper()
	var p struct {
		Deploybot map[string]any `json:"deploybot"`
	}
	if err := json.Unmarshal(d.Payload, &p); err != nil || p.Deploybot == nil {
		t.Fatalf("deployment %d payload has no deploybot object: %s", d.ID, d.Payload)
	}
	return p.Deploybot
}

func contains(t *testing.T, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s does not contain %q:\n%s", what, sub, s)
	}
}

// clock is deploybot's clock in a story: real time plus an offset the test
// moves forward, instead of sleeping.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
