package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// shownOnGitHub is everything deploybot wrote where users read it: check
// runs on sha, comments on pr, deployment and commit statuses.
func (s *story) shownOnGitHub(pr int, sha string) string {
	var b strings.Builder
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		fmt.Fprintln(&b, cr.Name, cr.Output.Title, cr.Output.Summary, cr.Output.Text)
	}
	for _, c := range s.Sim.Comments(SandboxRepoFull, pr) {
		fmt.Fprintln(&b, c.Body)
	}
	for _, d := range s.Sim.Deployments(SandboxRepoFull) {
		for _, st := range d.Statuses {
			fmt.Fprintln(&b, st.Description, st.LogURL)
		}
	}
	for _, st := range s.Sim.CommitStatuses(SandboxRepoFull) {
		fmt.Fprintf(&b, "%+v\n", st)
	}
	return b.String()
}

// Mia gates production on a feature flag. The flag service answers with a
// value that is not the expected one, and its URL carries a token: the gate
// blocks, and neither the value nor the token shows up anywhere on GitHub.
func TestFlagValueAndURLTokenAreNeverShown(t *testing.T) {
	t.Parallel()
	flags := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"checkout":{"enabled":"SECRET-VALUE"}}`)
	}))
	t.Cleanup(flags.Close)
	s := newStory(t, strings.Replace(SandboxConfig, "    permission: maintain\n",
		"    permission: maintain\n    gates:\n      checks: {}\n      flags: { url: \""+flags.URL+"/flags?token=SECRET-TOKEN\", expect: { checkout.enabled: true } }\n", 1))
	s.Repo.SetPermission("mia", "maintain")
	pr, sha := s.openPR("feature/flags", "mia")
	s.Repo.AddCheckRun(sha, "ci/test", "completed", "success")
	s.comment(pr, "mia", "/deploy production")
	s.settle()
	cr := s.checkRun(sha, "deploy/production: flags")
	if cr.Conclusion != "failure" {
		t.Fatalf("flags gate = %s/%s %q", cr.Status, cr.Conclusion, cr.Output.Title)
	}
	contains(t, "flags check run", cr.Output.Summary+cr.Output.Text, "a string of 12 characters")
	shown := s.shownOnGitHub(pr, sha)
	for _, secret := range []string{"SECRET-VALUE", "SECRET-TOKEN"} {
		if strings.Contains(shown, secret) {
			t.Errorf("%s is shown on GitHub:\n%s", secret, shown)
		}
	}
}

// Walt's health check URL carries a token and the service stays unhealthy:
// the failure names the host, never the token.
func TestHealthCheckFailureHidesTheURLToken(t *testing.T) {
	t.Parallel()
	s := newStory(t, strings.Replace(SandboxConfig, "TARGET/healthz/staging,", "\"TARGET/healthz/staging?token=SECRET-TOKEN\",", 1))
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/sick", "walt")
	s.Target.MarkUnhealthy(sha)
	s.comment(pr, "walt", "/deploy staging")
	deps := s.deploymentsFinished(1)
	if deps[0].LatestState() != "failure" {
		t.Fatalf("states = %v", states(deps[0]))
	}
	shown := s.shownOnGitHub(pr, sha)
	contains(t, "what deploybot shows", shown, "healthz/staging?…")
	if strings.Contains(shown, "SECRET-TOKEN") {
		t.Errorf("the health URL's token is shown on GitHub:\n%s", shown)
	}
}
