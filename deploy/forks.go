package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-github/v62/github"
)

// pullRefRE matches pull request refs (refs/pull/N/head, pull/N/merge…),
// which can carry a fork's commits.
var pullRefRE = regexp.MustCompile(`^(?:refs/)?pull/`)

// maxHeadBranchCompares bounds the same-repository pull request branches
// compared with a commit when it is not on the default branch.
const maxHeadBranchCompares = 3

// pullRefRefusal is the answer to a pull request ref ("" for any other ref).
// Those are refused outright: a fork's pull request has one too.
func pullRefRefusal(ref string) string {
	if !pullRefRE.MatchString(ref) {
		return ""
	}
	return "`" + ref + "` is a pull request ref, and a fork's pull request has one too, so I don't deploy those " +
		"(deploying fork code is governed by `allow_forks`). Name the branch or the commit SHA instead."
}

// forkRefusal says why sha, resolved from ref, may not be deployed when
// allow_forks is off: it is on no branch of this repository (a fork's
// commit, readable through the repository's network). "" when it may be.
// A ref that named a branch or tag of this repository (not a SHA) needs no
// request; a SHA costs one compare with the default branch and, when it is
// not on it, the pull requests associated with it.
func forkRefusal(ctx context.Context, gh *github.Client, owner, repo, defaultBranch, ref, sha string) (string, error) {
	if msg := pullRefRefusal(ref); msg != "" {
		return msg, nil
	}
	if !namesCommit(ref, sha) {
		return "", nil // a branch or tag of this repository resolved it
	}
	ok, err := onBranch(ctx, gh, owner, repo, defaultBranch, sha)
	if err != nil || ok {
		return "", err
	}
	prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, &github.ListOptions{PerPage: 100})
	if err != nil {
		return "", fmt.Errorf("list pull requests of %s: %w", short(sha), err)
	}
	compares := 0
	for _, pr := range prs {
		head := pr.GetHead()
		if !strings.EqualFold(head.GetRepo().GetFullName(), owner+"/"+repo) {
			continue
		}
		if head.GetSHA() == sha {
			return "", nil
		}
		if compares == maxHeadBranchCompares {
			break
		}
		compares++
		if ok, err := onBranch(ctx, gh, owner, repo, head.GetRef(), sha); err != nil || ok {
			return "", err
		}
	}
	return "`" + short(ref) + "` is not on any branch of " + owner + "/" + repo + " I can see (a fork's commit?) and deploying fork code is off (`allow_forks: false`). " +
		"Deploy it by branch name, or by SHA once it is on the default branch or the head branch of a pull request of this repository.", nil
}

// namesCommit reports whether ref was a (possibly abbreviated) SHA of sha
// rather than a branch or tag name.
func namesCommit(ref, sha string) bool {
	ref = strings.ToLower(ref)
	if len(ref) < 4 || len(ref) > len(sha) {
		return false
	}
	for _, c := range ref {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return strings.HasPrefix(sha, ref)
}

// onBranch reports whether sha is the head of branch or one of its
// ancestors (compare branch...sha is identical or behind).
func onBranch(ctx context.Context, gh *github.Client, owner, repo, branch, sha string) (bool, error) {
	cmp, _, err := gh.Repositories.CompareCommits(ctx, owner, repo, branch, sha, &github.ListOptions{PerPage: 1})
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == 404 {
		return false, nil // no common history, or the branch is gone
	}
	if err != nil {
		return false, fmt.Errorf("compare %s with %s: %w", short(sha), branch, err)
	}
	return cmp.GetStatus() == "identical" || cmp.GetStatus() == "behind", nil
}
