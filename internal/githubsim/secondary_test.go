package githubsim

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

// Over the secondary limit a write is refused like GitHub refuses it (a 403
// go-github reads as AbuseRateLimitError, with retry-after) and has no
// effect; reads and other installations' writes go on.
func TestSecondaryLimits(t *testing.T) {
	f := newFixture(t)
	f.sim.AddInstallation(77, "globex")
	f.sim.AddRepo("globex", "api", "main")
	other := installationClient(t, f.sim, 77)
	f.sim.SetSecondaryLimits(SecondaryLimits{PerMinute: 3, PerHour: 5, Minute: time.Hour, Hour: 2 * time.Hour})
	sha := f.repo.Head("main")
	create := func(c *github.Client, owner, repo, env string) error {
		_, _, err := c.Repositories.CreateDeployment(f.ctx, owner, repo, &github.DeploymentRequest{
			Ref: github.String(f.sim.repos[owner+"/"+repo].Head("main")), Environment: github.String(env), RequiredContexts: &[]string{}})
		return err
	}
	for i := 0; i < 3; i++ {
		if err := create(f.client, "acme", "shop", "env"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		do      func() error
		refused bool
	}{
		{"a fourth write in the minute", func() error { return create(f.client, "acme", "shop", "env3") }, true},
		// (a new client: go-github's own stops sending until retry-after)
		{"a read", func() error {
			_, _, err := installationClient(t, f.sim, instID).Repositories.GetCommit(f.ctx, "acme", "shop", sha, nil)
			return err
		}, false},
		{"another installation's write", func() error { return create(other, "globex", "api", "staging") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			var ab *github.AbuseRateLimitError
			if got := errors.As(err, &ab); got != tc.refused {
				t.Fatalf("err = %v, refused want %v", err, tc.refused)
			}
			if tc.refused {
				if ab.Response.StatusCode != http.StatusForbidden || ab.Response.Header.Get("Retry-After") == "" {
					t.Errorf("refusal = %d, retry-after %q", ab.Response.StatusCode, ab.Response.Header.Get("Retry-After"))
				}
				if ra, _ := strconv.Atoi(ab.Response.Header.Get("Retry-After")); ra < 3500 || ra > 3600 {
					t.Errorf("retry-after = %d s, want the oldest write's minute (an hour here) to end", ra)
				}
			}
		})
	}
	if n := len(f.sim.Deployments("acme/shop")); n != 3 {
		t.Errorf("%d deployments, want the 3 admitted", n)
	}
	st := f.sim.SecondaryLimitStats()
	if st.Refused != 1 || st.Writes[instID] != 3 || st.Writes[77] != 1 {
		t.Errorf("stats = %+v", st)
	}
}
