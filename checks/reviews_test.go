package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
)

func TestReviewsGate(t *testing.T) {
	type review struct{ login, state string }
	for _, tc := range []struct {
		name    string
		cfg     *config.ReviewsGate
		noPR    bool
		reviews []review
		want    Verdict
		reason  string
		detail  []string
	}{
		{name: "not a pull request", noPR: true, want: Skip, reason: "not a pull request"},
		{
			name: "one approval by default", reviews: []review{{"bob", "APPROVED"}},
			want: Pass, reason: "approved by @bob (1 required)", detail: []string{"| @bob | ✅ approved | [review]("},
		},
		{
			name: "no reviews", want: Block, reason: "0 of 1 approval",
			detail: []string{"Nobody other than the author (@alice)", "needs 1 approval more"},
		},
		{
			name: "not enough approvals", cfg: &config.ReviewsGate{Approvals: 2},
			reviews: []review{{"bob", "APPROVED"}, {"carol", "COMMENTED"}},
			want:    Block, reason: "1 of 2 approvals",
		},
		{
			name: "two approvals", cfg: &config.ReviewsGate{Approvals: 2},
			reviews: []review{{"bob", "APPROVED"}, {"carol", "APPROVED"}},
			want:    Pass, reason: "approved by @bob, @carol (2 required)",
		},
		{
			name:    "changes requested block despite approvals",
			reviews: []review{{"bob", "CHANGES_REQUESTED"}, {"carol", "APPROVED"}},
			want:    Block, reason: "@bob requested changes (1 of 1 approval)",
			detail: []string{"| @bob | ⛔ changes requested |", "ask @bob to re-review"},
		},
		{
			name:    "a comment does not override an approval",
			reviews: []review{{"bob", "APPROVED"}, {"bob", "COMMENTED"}},
			want:    Pass, reason: "approved by @bob (1 required)",
		},
		{
			name:    "a comment does not override a change request",
			reviews: []review{{"bob", "CHANGES_REQUESTED"}, {"bob", "COMMENTED"}, {"carol", "APPROVED"}},
			want:    Block, reason: "@bob requested changes (1 of 1 approval)",
		},
		{
			name:    "a later approval replaces a change request",
			reviews: []review{{"bob", "CHANGES_REQUESTED"}, {"bob", "APPROVED"}},
			want:    Pass, reason: "approved by @bob (1 required)",
		},
		{
			name:    "a later change request replaces an approval",
			reviews: []review{{"bob", "APPROVED"}, {"bob", "CHANGES_REQUESTED"}},
			want:    Block, reason: "@bob requested changes (0 of 1 approval)",
		},
		{
			name:    "a dismissed review clears the decision",
			reviews: []review{{"bob", "APPROVED"}, {"bob", "DISMISSED"}},
			want:    Block, reason: "0 of 1 approval", detail: []string{"| @bob | ➖ dismissed |"},
		},
		{
			name:    "the author's own approval does not count",
			reviews: []review{{"alice", "APPROVED"}},
			want:    Block, reason: "0 of 1 approval",
		},
		{
			name:    "the author's own change request does not count",
			cfg:     &config.ReviewsGate{Approvals: 1},
			reviews: []review{{"alice", "CHANGES_REQUESTED"}, {"bob", "APPROVED"}},
			want:    Pass, reason: "approved by @bob (1 required)",
		},
		{
			name: "zero approvals: no reviews pass", cfg: &config.ReviewsGate{Approvals: 0},
			want: Pass, reason: "no outstanding change requests",
		},
		{
			name: "zero approvals: change requests still block", cfg: &config.ReviewsGate{Approvals: 0},
			reviews: []review{{"bob", "CHANGES_REQUESTED"}},
			want:    Block, reason: "@bob requested changes",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			f.repo.Commit("feature", map[string]string{"app.go": "package app\n"}, "feature")
			n := f.repo.OpenPR("feature", "main", "alice", "Add feature")
			for _, rv := range tc.reviews {
				f.repo.AddReview(n, rv.login, rv.state)
			}
			in := f.input(&config.Environment{}, f.repo.PRHead(n))
			if !tc.noPR {
				in.PRNumber = n
			}
			r := eval(t, Reviews{Config: tc.cfg}, in)
			wantResult(t, r, tc.want, tc.reason, tc.detail...)
		})
	}
}

// TestReviewsGateAllPages puts the only decisive review on the second page.
func TestReviewsGateAllPages(t *testing.T) {
	f := newSim(t)
	f.repo.Commit("feature", map[string]string{"app.go": "package app\n"}, "feature")
	n := f.repo.OpenPR("feature", "main", "alice", "Add feature")
	for range 105 {
		f.repo.AddReview(n, "carol", "COMMENTED")
	}
	f.repo.AddReview(n, "bob", "APPROVED")
	f.sim.ResetRequests()
	in := f.input(&config.Environment{}, f.repo.PRHead(n))
	in.PRNumber = n
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

func TestReviewsGateErrors(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"pull request", "/repos/acme/shop/pulls/1"},
		{"reviews", "/repos/acme/shop/pulls/1/reviews"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			f.repo.Commit("feature", map[string]string{"app.go": "package app\n"}, "feature")
			n := f.repo.OpenPR("feature", "main", "alice", "Add feature")
			f.repo.AddReview(n, "bob", "APPROVED")
			in := f.input(&config.Environment{}, f.repo.PRHead(n))
			in.PRNumber = n
			f.sim.FailNext("GET", tc.path, 1, 500, nil)
			if r, err := (Reviews{}).Evaluate(context.Background(), in); err == nil {
				t.Fatalf("no error, got %s %q", r.Verdict, r.Reason)
			}
		})
	}
}
