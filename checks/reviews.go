package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// Reviews judges the commit being deployed, not the request around it: it
// passes only when in.SHA is the head of a pull request of this repository
// with enough approvals and no outstanding change request. Anything else
// (an API deployment, a release, `/deploy env <other-ref>`, a pull request
// whose head moved on) fails closed.
//
// Each reviewer counts once, with their latest APPROVED or CHANGES_REQUESTED
// review; a later COMMENTED review does not change it and a DISMISSED one
// clears it. Only reviewers with write access (their collaborator role read
// from the API, not the review's author_association) count, and never the
// pull request's author. An approval counts only when it was given on the
// commit being deployed, unless `dismiss_stale: false`; a change request
// stands until its reviewer approves or it is dismissed, whichever commit it
// was given on.
type Reviews struct{ Config *config.ReviewsGate }

func (Reviews) Name() string { return "reviews" }

func (g Reviews) Evaluate(ctx context.Context, in Input) (Result, error) {
	need, stale := 1, false
	if g.Config != nil {
		need, stale = g.Config.Approvals, g.Config.StaleApprovals
	}
	prs, err := headPullRequests(ctx, in)
	if err != nil {
		return Result{}, err
	}
	if len(prs) == 0 {
		return notAPullRequestHead(in), nil
	}
	roles := map[string]config.Permission{}
	var first Result
	for i, pr := range prs {
		r, err := g.judge(ctx, in, pr, need, stale, roles)
		if err != nil {
			return Result{}, err
		}
		if r.Verdict == Pass {
			return r, nil
		}
		if i == 0 {
			first = r
		}
	}
	return first, nil
}

// headPullRequests lists this repository's pull requests whose head is
// in.SHA, the one the deployment came from (in.PRNumber) first.
func headPullRequests(ctx context.Context, in Input) ([]*github.PullRequest, error) {
	all, _, err := in.GitHub.PullRequests.ListPullRequestsWithCommit(ctx, in.Owner, in.Name, in.SHA, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, fmt.Errorf("list pull requests of %s: %w", short(in.SHA), err)
	}
	var out []*github.PullRequest
	for _, pr := range all {
		if pr.GetHead().GetSHA() == in.SHA {
			out = append(out, pr)
		}
	}
	slices.SortStableFunc(out, func(a, b *github.PullRequest) int {
		if a.GetNumber() == in.PRNumber {
			return -1
		}
		if b.GetNumber() == in.PRNumber {
			return 1
		}
		return 0
	})
	return out, nil
}

// notAPullRequestHead is the BLOCK for a commit no pull request has as head.
func notAPullRequestHead(in Input) Result {
	sha := short(in.SHA)
	r := Result{Gate: "reviews", Verdict: Block, Reason: fmt.Sprintf("%s is not the head of a pull request", sha)}
	var why string
	switch {
	case in.PRNumber != 0:
		why = fmt.Sprintf("This deployment of `%s` was asked for on #%d, but `%s` is not the head of #%d (nor of another pull request): "+
			"the reviews of #%d approve its own head, not `%s`.", sha, in.PRNumber, sha, in.PRNumber, in.PRNumber, sha)
	default:
		why = fmt.Sprintf("`%s` is not the head of any pull request, so nobody has reviewed it for deployment.", sha)
	}
	r.Detail = why + "\n\nThe `reviews` gate approves commits through pull requests. Open a pull request whose head is this commit, " +
		"get it approved on that commit, and comment `/deploy " + envName(in) + "` on it (without a ref).\n"
	return r
}

func envName(in Input) string {
	if in.Environment == nil {
		return ""
	}
	return in.Environment.Name
}

// decision is a reviewer's latest decisive review.
type decision struct {
	login, state, commit, url string
	role                      config.Permission
}

// judge evaluates the reviews of pr, whose head is in.SHA.
func (g Reviews) judge(ctx context.Context, in Input, pr *github.PullRequest, need int, stale bool, roles map[string]config.Permission) (Result, error) {
	n, author := pr.GetNumber(), pr.GetUser().GetLogin()
	reviews, err := listAll(func(p pageRef) ([]*github.PullRequestReview, *github.Response, error) {
		return in.GitHub.PullRequests.ListReviews(ctx, in.Owner, in.Name, n, &github.ListOptions{PerPage: 100, Page: p.Number})
	})
	if err != nil {
		return Result{}, fmt.Errorf("list reviews of #%d: %w", n, err)
	}
	// GitHub lists reviews oldest first.
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
			latest[key] = &decision{login: login, state: state, commit: rv.GetCommitID(), url: rv.GetHTMLURL()}
		case "DISMISSED":
			if latest[key] != nil {
				latest[key] = &decision{login: login}
			}
		}
	}
	for _, key := range order {
		d := latest[key]
		if d.state == "" {
			continue
		}
		role, ok := roles[key]
		if !ok {
			if in.Role == nil {
				return Result{}, fmt.Errorf("cannot read the access of reviewer @%s", d.login)
			}
			if role, err = in.Role(ctx, d.login); err != nil {
				return Result{}, fmt.Errorf("read the access of reviewer @%s: %w", d.login, err)
			}
			roles[key] = role
		}
		d.role = role
	}

	var approvers, blockers []string
	var rows [][]string
	for _, key := range order {
		d := latest[key]
		who := "@" + d.login
		writer := d.role.AtLeast(config.PermissionWrite)
		state := "➖ dismissed"
		switch {
		case d.state == "":
		case !writer:
			state = fmt.Sprintf("➖ %s, but has %s access (write needed)", strings.ToLower(strings.ReplaceAll(d.state, "_", " ")), roleText(d.role))
		case d.state == "CHANGES_REQUESTED":
			blockers = append(blockers, who)
			state = "⛔ changes requested"
		case d.commit == in.SHA || stale:
			approvers = append(approvers, who)
			state = "✅ approved"
		default:
			state = fmt.Sprintf("➖ approved an earlier commit (`%s`)", short(d.commit))
		}
		link := "—"
		if d.state != "" {
			link = mdLink("review", d.url)
		}
		rows = append(rows, []string{who, state, link})
	}

	r := Result{Gate: "reviews"}
	var detail strings.Builder
	if len(rows) > 0 {
		detail.WriteString(mdTable([]string{"reviewer", "latest decision", "link"}, rows))
		detail.WriteString("\n")
	} else {
		fmt.Fprintf(&detail, "Nobody other than the author (@%s) has approved or requested changes on #%d.\n\n", author, n)
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
			n, strings.Join(blockers, ", "))
	case len(approvers) < need:
		r.Verdict = Block
		r.Reason = approvals
		fmt.Fprintf(&detail, "#%d needs %s more on `%s` from someone with write access other than its author (@%s)", n,
			countOf(need-len(approvers), "approval"), short(in.SHA), author)
		if !stale {
			detail.WriteString(" (approvals of earlier commits do not count: `dismiss_stale` is on)")
		}
		detail.WriteString("; request a review, then deploy again.\n")
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

func roleText(p config.Permission) string {
	if p == "" {
		return string(config.PermissionNone)
	}
	return string(p)
}
