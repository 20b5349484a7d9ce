package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
)

// apiRole reads a user's collaborator role from the emulator, as the
// pipeline's Input.Role does.
func apiRole(f *simFixture) func(ctx context.Context, user string) (config.Permission, error) {
	return func(ctx context.Context, user string) (config.Permission, error) {
		lvl, _, err := f.gh.Repositories.GetPermissionLevel(ctx, "acme", "shop", user)
		if err != nil {
			return "", err
		}
		return config.ParsePermission(lvl.GetUser().GetRoleName())
	}
}

// reviewsFixture is acme/shop with a pull request #1 from feature, whose
// head is the commit being deployed; bob and carol can write, erin
// maintains, dave can only read.
func reviewsFixture(t *testing.T) (*simFixture, int) {
	t.Helper()
	f := newSim(t)
	f.repo.Commit("feature", map[string]string{"app.go": "package app\n"}, "feature")
	n := f.repo.OpenPR("feature", "main", "alice", "Add feature")
	for login, role := range map[string]string{"bob": "write", "carol": "write", "erin": "maintain", "dave": "read"} {
		f.repo.SetPermission(login, role)
	}
	return f, n
}

func TestReviewsGate(t *testing.T) {
	// A review with earlier: true is given before the last push to the
	// pull request, on its previous head.
	type review struct {
		login, state string
		earlier      bool
	}
	for _, tc := range []struct {
		name    string
		cfg     *config.ReviewsGate
		reviews []review
		// deploy picks what is deployed and the PR it was asked on
		// (default: the PR's head, asked on the PR).
		deploy func(f *simFixture, n int) (sha string, pr int)
		want   Verdict
		reason string // "%s" is the short SHA deployed
		detail []string
	}{
		{
			name: "one approval by default", reviews: []review{{login: "bob", state: "APPROVED"}},
			want: Pass, reason: "approved by @bob (1 required)", detail: []string{"| @bob | ✅ approved | [review]("},
		},
		{
			name: "no reviews", want: Block, reason: "0 of 1 approval",
			detail: []string{"Nobody other than the author (@alice)", "needs 1 approval more"},
		},
		{
			name: "not enough approvals", cfg: &config.ReviewsGate{Approvals: 2},
			reviews: []review{{login: "bob", state: "APPROVED"}, {login: "carol", state: "COMMENTED"}},
			want:    Block, reason: "1 of 2 approvals",
		},
		{
			name: "two approvals", cfg: &config.ReviewsGate{Approvals: 2},
			reviews: []review{{login: "bob", state: "APPROVED"}, {login: "erin", state: "APPROVED"}},
			want:    Pass, reason: "approved by @bob, @erin (2 required)",
		},
		{
			name:    "changes requested block despite approvals",
			reviews: []review{{login: "bob", state: "CHANGES_REQUESTED"}, {login: "carol", state: "APPROVED"}},
			want:    Block, reason: "@bob requested changes (1 of 1 approval)",
			detail: []string{"| @bob | ⛔ changes requested |", "ask @bob to re-review"},
		},
		{
			name:    "a comment does not override an approval",
			reviews: []review{{login: "bob", state: "APPROVED"}, {login: "bob", state: "COMMENTED"}},
			want:    Pass, reason: "approved by @bob (1 required)",
		},
		{
			name:    "a later approval replaces a change request",
			reviews: []review{{login: "bob", state: "CHANGES_REQUESTED"}, {login: "bob", state: "APPROVED"}},
			want:    Pass, reason: "approved by @bob (1 required)",
		},
		{
			name:    "a later change request replaces an approval",
			reviews: []review{{login: "bob", state: "APPROVED"}, {login: "bob", state: "CHANGES_REQUESTED"}},
			want:    Block, reason: "@bob requested changes (0 of 1 approval)",
		},
		{
			name:    "a dismissed review clears the decision",
			reviews: []review{{login: "bob", state: "APPROVED"}, {login: "bob", state: "DISMISSED"}},
			want:    Block, reason: "0 of 1 approval", detail: []string{"| @bob | ➖ dismissed |"},
		},
		{
			name:    "the author's own approval does not count",
			reviews: []review{{login: "alice", state: "APPROVED"}},
			want:    Block, reason: "0 of 1 approval",
		},
		{
			name: "zero approvals: no reviews pass", cfg: &config.ReviewsGate{Approvals: 0},
			want: Pass, reason: "no outstanding change requests",
		},
		{
			name: "zero approvals: change requests still block", cfg: &config.ReviewsGate{Approvals: 0},
			reviews: []review{{login: "bob", state: "CHANGES_REQUESTED"}},
			want:    Block, reason: "@bob requested changes",
		},
		// Who may approve: write access from the API, not the review's association.
		{
			name:    "an approval by a reader does not count",
			reviews: []review{{login: "dave", state: "APPROVED"}},
			want:    Block, reason: "0 of 1 approval", detail: []string{"| @dave | ➖ approved, but has read access (write needed) |"},
		},
		{
			name:    "a change request by a reader does not block",
			reviews: []review{{login: "dave", state: "CHANGES_REQUESTED"}, {login: "bob", state: "APPROVED"}},
			want:    Pass, reason: "approved by @bob (1 required)",
		},
		// Which commit: the one being deployed.
		{
			name:    "an approval of an earlier commit does not count",
			reviews: []review{{login: "bob", state: "APPROVED", earlier: true}},
			want:    Block, reason: "0 of 1 approval", detail: []string{"➖ approved an earlier commit", "`dismiss_stale` is on"},
		},
		{
			name: "dismiss_stale: false counts an approval of an earlier commit", cfg: &config.ReviewsGate{Approvals: 1, StaleApprovals: true},
			reviews: []review{{login: "bob", state: "APPROVED", earlier: true}},
			want:    Pass, reason: "approved by @bob (1 required)",
		},
		{
			name:    "a change request on an earlier commit still stands",
			reviews: []review{{login: "bob", state: "CHANGES_REQUESTED", earlier: true}, {login: "carol", state: "APPROVED"}},
			want:    Block, reason: "@bob requested changes (1 of 1 approval)",
		},
		// What is deployed: the SHA, whatever the request says.
		{
			name:    "an API deployment of an approved pull request's head passes",
			reviews: []review{{login: "bob", state: "APPROVED"}},
			deploy:  func(f *simFixture, n int) (string, int) { return f.repo.PRHead(n), 0 },
			want:    Pass, reason: "approved by @bob (1 required)",
		},
		{
			name:   "a commit that heads no pull request is blocked",
			deploy: func(f *simFixture, n int) (string, int) { return f.repo.Head("main"), 0 },
			want:   Block, reason: "%s is not the head of a pull request",
			detail: []string{"is not the head of any pull request", "Open a pull request whose head is this commit"},
		},
		{
			name:    "another ref deployed from an approved pull request is blocked",
			reviews: []review{{login: "bob", state: "APPROVED"}},
			deploy:  func(f *simFixture, n int) (string, int) { return f.repo.Head("main"), n },
			want:    Block, reason: "%s is not the head of a pull request",
			detail: []string{"was asked for on #1", "the reviews of #1 approve its own head"},
		},
		{
			name:    "an earlier commit of an approved pull request is blocked",
			reviews: []review{{login: "bob", state: "APPROVED"}},
			deploy: func(f *simFixture, n int) (string, int) {
				old := f.repo.PRHead(n)
				f.repo.Commit("feature", map[string]string{"app.go": "package app // v3\n"}, "later")
				return old, n
			},
			want: Block, reason: "%s is not the head of a pull request",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, n := reviewsFixture(t)
			for _, rv := range tc.reviews {
				if rv.earlier {
					f.repo.AddReview(n, rv.login, rv.state)
				}
			}
			f.repo.Commit("feature", map[string]string{"app.go": "package app // v2\n"}, "more")
			for _, rv := range tc.reviews {
				if !rv.earlier {
					f.repo.AddReview(n, rv.login, rv.state)
				}
			}
			sha, pr := f.repo.PRHead(n), n
			if tc.deploy != nil {
				sha, pr = tc.deploy(f, n)
			}
			in := f.input(&config.Environment{}, sha)
			in.PRNumber, in.Role = pr, apiRole(f)
			r := eval(t, Reviews{Config: tc.cfg}, in)
			wantResult(t, r, tc.want, strings.ReplaceAll(tc.reason, "%s", short(sha)), tc.detail...)
		})
	}
}

// TestReviewsGateAllPages puts the only decisive review on the second page.
func TestReviewsGateAllPages(t *testing.T) {
	f, n := reviewsFixture(t)
	for range 105 {
		f.repo.AddReview(n, "carol", "COMMENTED")
	}
	f.repo.AddReview(n, "bob", "APPROVED")
	f.sim.ResetRequests()
	in := f.input(&config.Environment{}, f.repo.PRHead(n))
	in.PRNumber, in.Role = n, apiRole(f)
	r := eval(t, Reviews{}, in)
	if r.Verdict != Pass || r.Reason != "approved by @bob (1 required)" {
		t.Fatalf("got %s %q", r.Verdict, r.Reason)
	}
	pages := 0
	for _, rq := range f.sim.Requests() {
		if strings.HasSuffix(rq.Path, "/pulls/1/reviews") {
			pages++
		}
	}
	if pages != 2 {
		t.Fatalf("%d review pages read, want 2", pages)
	}
}

// TestReviewsGateErrors: the gate cannot decide without the pull requests,
// the reviews or a reviewer's access; the pipeline turns the error into a
// BLOCK.
func TestReviewsGateErrors(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"pull requests of the commit", "/repos/acme/shop/commits/{sha}/pulls"},
		{"reviews", "/repos/acme/shop/pulls/1/reviews"},
		{"reviewer access", "/repos/acme/shop/collaborators/bob/permission"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, n := reviewsFixture(t)
			f.repo.AddReview(n, "bob", "APPROVED")
			in := f.input(&config.Environment{}, f.repo.PRHead(n))
			in.PRNumber, in.Role = n, apiRole(f)
			f.sim.FailNext("GET", strings.ReplaceAll(tc.path, "{sha}", in.SHA), 1, 500, nil)
			if r, err := (Reviews{}).Evaluate(context.Background(), in); err == nil {
				t.Fatalf("no error, got %s %q", r.Verdict, r.Reason)
			}
		})
	}
	t.Run("no way to read reviewer access", func(t *testing.T) {
		f, n := reviewsFixture(t)
		f.repo.AddReview(n, "bob", "APPROVED")
		in := f.input(&config.Environment{}, f.repo.PRHead(n))
		if r, err := (Reviews{}).Evaluate(context.Background(), in); err == nil {
			t.Fatalf("no error, got %s %q", r.Verdict, r.Reason)
		}
	})
}
