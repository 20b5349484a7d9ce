package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// Reviews passes when the pull request being deployed has enough approvals
// and no reviewer's latest decision is "changes requested".
//
// Each reviewer counts once, with their latest APPROVED or
// CHANGES_REQUESTED review; a later COMMENTED review does not change it and
// a DISMISSED one clears it. The pull request author's own reviews never
// count.
//
// Approvals count whichever commit they were given on. Whether a push makes
// earlier approvals stale is the repository's own branch protection setting
// ("Dismiss stale pull request approvals when new commits are pushed"):
// when it is on, GitHub dismisses them and they arrive here as DISMISSED.
// Second-guessing it here would make deploys disagree with what the pull
// request page shows.
type Reviews struct{ Config *config.ReviewsGate }

func (Reviews) Name() string { return "reviews" }

func (g Reviews) Evaluate(ctx context.Context, in Input) (Result, error) {
	need := 1
	if g.Config != nil {
		need = g.Config.Approvals
	}
	r := Result{Gate: "reviews"}
	if in.PRNumber == 0 {
		r.Verdict, r.Reason = Skip, "not a pull request"
		r.Detail = fmt.Sprintf("This deployment of `%s` does not come from a pull request, so there are no reviews to check.\n", short(in.SHA))
		return r, nil
	}
	pr, _, err := in.GitHub.PullRequests.Get(ctx, in.Owner, in.Name, in.PRNumber)
	if err != nil {
		return Result{}, fmt.Errorf("read pull request #%d: %w", in.PRNumber, err)
	}
	author := pr.GetUser().GetLogin()
	reviews, err := listAll(func(p pageRef) ([]*github.PullRequestReview, *github.Response, error) {
		return in.GitHub.PullRequests.ListReviews(ctx, in.Owner, in.Name, in.PRNumber, &github.ListOptions{PerPage: 100, Page: p.Number})
	})
	if err != nil {
		return Result{}, fmt.Errorf("list reviews of #%d: %w", in.PRNumber, err)
	}

	// GitHub lists reviews oldest first.
	type decision struct{ login, state, url string }
	latest := map[string]*decision{}
	var order []string
	for _, rv := range reviews {
		login := rv.GetUser().GetLogin()
		if login == "" || strings.EqualFold(login, author) {
			continue
		}
		key := strings.ToLower(login)
		switch state := strings.ToUpper(rv.GetState()); state {
		case "APPROVED", "CHANGES_REQUESTED":
			if latest[key] == nil {
				order = append(order, key)
			}
			latest[key] = &decision{login: login, state: state, url: rv.GetHTMLURL()}
		case "DISMISSED":
			if latest[key] != nil {
				latest[key] = &decision{login: login}
			}
		}
	}
	var approvers, blockers []string
	var rows [][]string
	for _, key := range order {
		d := latest[key]
		switch d.state {
		case "APPROVED":
			approvers = append(approvers, "@"+d.login)
			rows = append(rows, []string{"@" + d.login, "✅ approved", mdLink("review", d.url)})
		case "CHANGES_REQUESTED":
			blockers = append(blockers, "@"+d.login)
			rows = append(rows, []string{"@" + d.login, "⛔ changes requested", mdLink("review", d.url)})
		default:
			rows = append(rows, []string{"@" + d.login, "➖ dismissed", "—"})
		}
	}
	var detail strings.Builder
	if len(rows) > 0 {
		detail.WriteString(mdTable([]string{"reviewer", "latest decision", "link"}, rows))
		detail.WriteString("\n")
	} else {
		fmt.Fprintf(&detail, "Nobody other than the author (@%s) has approved or requested changes on #%d.\n\n", author, in.PRNumber)
	}
	approvals := fmt.Sprintf("%d of %s", len(approvers), countOf(need, "approval"))

	switch {
	case len(blockers) > 0:
		r.Verdict = Block
		r.Reason = fmt.Sprintf("%s requested changes", strings.Join(blockers, ", "))
		if need > 0 {
			r.Reason += " (" + approvals + ")"
		}
		fmt.Fprintf(&detail, "Address the requested changes on #%d and ask %s to re-review (or have the review dismissed), then deploy again.\n",
			in.PRNumber, strings.Join(blockers, ", "))
	case len(approvers) < need:
		r.Verdict = Block
		r.Reason = approvals
		fmt.Fprintf(&detail, "#%d needs %s more from someone other than its author (@%s) before it can be deployed; request a review, then deploy again.\n",
			in.PRNumber, countOf(need-len(approvers), "approval"), author)
	case need == 0:
		r.Verdict = Pass
		r.Reason = "no outstanding change requests"
	default:
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("approved by %s (%d required)", listSome(approvers, 5), need)
	}
	r.Detail = detail.String()
	return r, nil
}
