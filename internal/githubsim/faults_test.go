package githubsim

import (
	"net/http"
	"testing"

	"github.com/google/go-github/v62/github"
)

// FailAfterApply: GitHub did the work and the answer was lost. The
// deployment exists although its creator saw a 502; a request the emulator
// refuses keeps its own answer and leaves the fault for the next one.
func TestFailAfterApply(t *testing.T) {
	f := newFixture(t)
	sha := f.repo.Head("main")
	f.sim.FailAfterApply("POST", "/repos/acme/shop/deployments", 1, http.StatusBadGateway)

	// Refused by validation (unknown ref): its 422 stands, the fault waits.
	_, resp, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", &github.DeploymentRequest{Ref: github.String("no-such-ref")})
	if err == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("refused request: status %v err %v, want its own 422", resp.StatusCode, err)
	}

	_, resp, err = f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", &github.DeploymentRequest{
		Ref: github.String(sha), Environment: github.String("staging"), RequiredContexts: &[]string{}})
	if err == nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("applied request: status %v err %v, want 502", resp.StatusCode, err)
	}
	if n := len(f.sim.Deployments("acme/shop")); n != 1 {
		t.Fatalf("%d deployments after the lost answer, want the 1 GitHub made", n)
	}

	// The fault is spent: the next request is answered normally.
	dep, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", &github.DeploymentRequest{
		Ref: github.String(sha), Environment: github.String("production"), RequiredContexts: &[]string{}})
	if err != nil || dep.GetID() == 0 {
		t.Fatalf("after the fault: %v", err)
	}
	if v := f.sim.Violations(); len(v) != 0 {
		t.Fatalf("violations = %v", v)
	}
}
