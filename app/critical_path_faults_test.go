package app

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/internal/githubsim"
)

// The critical path sends a step's writes together (the record comment with
// the queued status; the gates' check runs and summary with the in_progress
// status). When one of them fails, the step runs again and must not post a
// second time what its other writes already did.
func TestWritesSentTogetherAreNotRepeated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault func(f *faultStory)
	}{
		{"record comment refused (queued went out)", func(f *faultStory) {
			f.Sim.FailNext("POST", fmt.Sprintf("/repos/acme/shop/issues/%d/comments", f.pr), 1, http.StatusBadGateway, nil)
		}},
		{"record comment's answer lost", func(f *faultStory) {
			f.Sim.FailAfterApply("POST", fmt.Sprintf("/repos/acme/shop/issues/%d/comments", f.pr), 1, http.StatusBadGateway)
		}},
		{"gate check run refused (in_progress went out)", func(f *faultStory) {
			f.Sim.FailNext("POST", "/repos/acme/shop/check-runs", 1, http.StatusBadGateway, nil)
		}},
		{"summary's answer lost", func(f *faultStory) {
			f.Sim.Inject(githubsim.Fault{Method: "POST", PathPrefix: "/repos/acme/shop/check-runs", N: 1, Status: http.StatusBadGateway, AfterApply: true})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFaultStory(t)
			f.settle()
			tc.fault(f)
			dep := f.deployed() // one queued status, one retried step
			if got := strings.Join(states(dep), ","); got != "queued,in_progress,success" {
				t.Errorf("statuses %s, want queued,in_progress,success", got)
			}
			if n := len(f.deploybotComments(f.pr)); n != 1 {
				t.Errorf("%d deploybot comments, want the one record", n)
			}
			names := map[string]int{}
			for _, cr := range f.Sim.CheckRuns(SandboxRepoFull, dep.SHA) {
				names[cr.Name]++
			}
			for name, n := range names {
				if strings.HasPrefix(name, "deploy/") && n != 1 {
					t.Errorf("%d check runs %q, want 1", n, name)
				}
			}
		})
	}
}
