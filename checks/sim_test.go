package checks

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/githubsim"
)

// simFixture is a GitHub emulator with acme/shop installed and an Input
// whose client is authenticated as the app installation. Every request the
// gates make is checked against GitHub's REST description; a violation
// fails the test at cleanup.
type simFixture struct {
	sim  *githubsim.Sim
	repo *githubsim.Repo
	gh   *github.Client
	sha  string // head of main, with .github/deploy.yml absent
}

func newSim(t *testing.T) *simFixture {
	t.Helper()
	sim := githubsim.New(githubsim.Options{AppID: 7, AppSlug: "deploybot", TB: t})
	sim.AddInstallation(42, "acme")
	repo := sim.AddRepo("acme", "shop", "main")
	sha := repo.Commit("main", map[string]string{"README.md": "shop\n"}, "initial")
	tr, err := ghinstallation.New(http.DefaultTransport, sim.AppID(), 42, sim.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(sim.URL, "/")
	gh := github.NewClient(&http.Client{Transport: tr})
	gh.BaseURL, _ = url.Parse(sim.URL)
	return &simFixture{sim: sim, repo: repo, gh: gh, sha: sha}
}

// input is a deploy of sha to env by a writer, evaluated now.
func (f *simFixture) input(env *config.Environment, sha string) Input {
	if env.Name == "" {
		env.Name = "staging"
	}
	return Input{
		Owner: "acme", Name: "shop", Repo: "acme/shop", SHA: sha, Ref: sha, DefaultBranch: "main",
		Environment: env, Task: "deploy", Actor: "alice", ActorRole: config.PermissionWrite,
		AppSlug: "deploybot", Now: time.Now().UTC(), GitHub: f.gh,
	}.Share()
}

// eval runs g and fails the test on an error.
func eval(t *testing.T, g Gate, in Input) Result {
	t.Helper()
	r, err := g.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatalf("%s: %v", g.Name(), err)
	}
	if r.Gate != g.Name() {
		t.Fatalf("result names gate %q, want %q", r.Gate, g.Name())
	}
	return r
}

// wantResult fails the test unless r has verdict and reason exactly and its
// detail contains every one of details.
func wantResult(t *testing.T, r Result, verdict Verdict, reason string, details ...string) {
	t.Helper()
	if r.Verdict != verdict || r.Reason != reason {
		t.Fatalf("got %s %q, want %s %q\n%s", r.Verdict, r.Reason, verdict, reason, r.Detail)
	}
	for _, d := range details {
		if !strings.Contains(r.Detail, d) {
			t.Errorf("detail lacks %q:\n%s", d, r.Detail)
		}
	}
}
