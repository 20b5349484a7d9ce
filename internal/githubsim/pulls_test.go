package githubsim

import (
	"testing"

	"github.com/google/go-github/v62/github"
)

// TestCommitPulls lists the pull requests whose commits include a commit,
// from the repository's own branches and from a fork in its network.
func TestCommitPulls(t *testing.T) {
	f := newFixture(t)
	base := f.repo.Head("main")
	first := f.repo.Commit("feature", map[string]string{"a.go": "1"}, "one")
	second := f.repo.Commit("feature", map[string]string{"a.go": "2"}, "two")
	own := f.repo.OpenPR("feature", "main", "alice", "Feature")

	fork := f.repo.Fork("mallory")
	evil := fork.Commit("evil", map[string]string{"a.go": "evil"}, "evil")
	forked := f.repo.OpenForkPR(fork, "evil", "main", "mallory", "Innocent")

	for _, tt := range []struct {
		name, sha string
		want      []int
	}{
		{"the head of a pull request", second, []int{own}},
		{"an earlier commit of a pull request", first, []int{own}},
		{"a fork's commit", evil, []int{forked}},
		{"a commit of the default branch", base, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prs, _, err := f.client.PullRequests.ListPullRequestsWithCommit(f.ctx, "acme", "shop", tt.sha, &github.ListOptions{PerPage: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, pr := range prs {
				got = append(got, pr.GetNumber())
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Fatalf("pull requests %v, want %v", got, tt.want)
			}
		})
	}
	prs, _, err := f.client.PullRequests.ListPullRequestsWithCommit(f.ctx, "acme", "shop", evil, nil)
	if err != nil || len(prs) != 1 || prs[0].GetHead().GetRepo().GetFullName() != "mallory/shop" || prs[0].GetHead().GetSHA() != evil {
		t.Fatalf("fork pull request: %v %v", prs, err)
	}
	if _, _, err := f.client.PullRequests.ListPullRequestsWithCommit(f.ctx, "acme", "shop", "0123456789abcdef0123456789abcdef01234567", nil); err == nil {
		t.Fatal("an unknown commit has pull requests")
	}
}

// TestForkNetwork: a fork starts from its parent's branches, and its commits
// can be read by SHA through the parent, where no branch contains them.
func TestForkNetwork(t *testing.T) {
	f := newFixture(t)
	fork := f.repo.Fork("mallory")
	evil := fork.Commit("main", map[string]string{"app.go": "evil"}, "evil")

	repo, _, err := f.client.Repositories.Get(f.ctx, "acme", "shop")
	if err != nil || repo.GetFork() {
		t.Fatalf("the parent is a fork: %v", err)
	}
	cm, _, err := f.client.Repositories.GetCommit(f.ctx, "acme", "shop", evil, nil)
	if err != nil || cm.GetSHA() != evil {
		t.Fatalf("the fork's commit through the parent: %v", err)
	}
	cmp, _, err := f.client.Repositories.CompareCommits(f.ctx, "acme", "shop", "main", evil, nil)
	if err != nil || cmp.GetStatus() != "ahead" || cmp.GetAheadBy() != 1 {
		t.Fatalf("compare main...fork commit: %v %v", cmp.GetStatus(), err)
	}
	if _, _, err := f.client.Repositories.GetBranch(f.ctx, "acme", "shop", "evil", 0); err == nil {
		t.Fatal("the fork's branch is a branch of the parent")
	}
}
