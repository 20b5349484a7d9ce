package githubsim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Review is a pull request review.
type Review struct {
	ID       int64
	Number   int
	User     string
	State    string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	CommitID string
	Time     time.Time
}

// AddReview records a review by login on pull request number at its current
// head (no webhook is sent).
func (r *Repo) AddReview(number int, login, state string) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	is := r.issues[number]
	if is == nil || is.PR == nil {
		panic("githubsim: no pull request " + strconv.Itoa(number))
	}
	s.userLocked(login)
	r.reviews = append(r.reviews, &Review{ID: s.nextID("review"), Number: number, User: login, State: state,
		CommitID: s.prHeadSHALocked(is.PR), Time: s.now()})
	s.notifyLocked()
}

func handleListReviews(c *call) (int, any) {
	n, _ := strconv.Atoi(c.params["pull_number"])
	is := c.repo.issues[n]
	if is == nil || is.PR == nil {
		return notFound()
	}
	var list []*Review
	for _, rv := range c.repo.reviews {
		if rv.Number == n {
			list = append(list, rv)
		}
	}
	lo, hi := c.paginate(len(list))
	out := []any{}
	r := c.repo
	for _, rv := range list[lo:hi] {
		html := c.s.web(r.Owner, r.Name, "pull", strconv.Itoa(n)) + "#pullrequestreview-" + strconv.FormatInt(rv.ID, 10)
		pr := c.s.api("repos", r.Owner, r.Name, "pulls", strconv.Itoa(n))
		out = append(out, map[string]any{
			"id": rv.ID, "node_id": nodeID("PRR_", rv.ID), "user": c.s.login(rv.User), "body": "", "state": rv.State,
			"commit_id": rv.CommitID, "html_url": html, "pull_request_url": pr, "submitted_at": ts(rv.Time),
			"author_association": c.s.association(r, rv.User),
			"_links":             map[string]any{"html": map[string]any{"href": html}, "pull_request": map[string]any{"href": pr}},
		})
	}
	return http.StatusOK, out
}

// handleRepoInstallation implements GET /repos/{owner}/{repo}/installation
// (app JWT).
func handleRepoInstallation(c *call) (int, any) {
	s := c.s
	in := s.installationFor(c.repo.Owner)
	if in == nil {
		return notFound()
	}
	acct := s.userLocked(in.Account)
	app := s.appJSON()
	created := ts(c.repo.createdAt)
	return http.StatusOK, map[string]any{
		"id": in.ID, "app_id": s.opts.AppID, "app_slug": s.opts.AppSlug, "client_id": app["client_id"],
		"target_id": acct.ID, "target_type": acct.Type, "single_file_name": nil, "repository_selection": "all",
		"access_tokens_url": s.api("app", "installations", strconv.FormatInt(in.ID, 10), "access_tokens"),
		"repositories_url":  s.api("installation", "repositories"),
		"html_url":          s.web("organizations", strings.ToLower(in.Account), "settings", "installations", strconv.FormatInt(in.ID, 10)),
		"events":            app["events"], "permissions": app["permissions"], "account": s.userJSON(acct),
		"created_at": created, "updated_at": created, "suspended_by": nil, "suspended_at": nil,
	}
}

// handleCommitPulls implements GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls:
// the pull requests of this repository (from its own branches or from forks)
// whose commits include the commit, newest first. GitHub lists only the merged
// pull request that introduced a commit once it is on the default branch; the
// emulator merges nothing, so such a commit has none.
func handleCommitPulls(c *call) (int, any) {
	r, s := c.repo, c.s
	sha, _ := r.resolveLocked(c.params["commit_sha"])
	if sha == "" || s.commits[sha] == nil {
		return apiError(http.StatusUnprocessableEntity, "No commit found for SHA: "+c.params["commit_sha"])
	}
	var list []*Issue
	if !s.isAncestorLocked(sha, r.refs["refs/heads/"+r.DefaultBranch]) {
		for n := r.lastNumber; n > 0; n-- {
			is := r.issues[n]
			if is == nil || is.PR == nil {
				continue
			}
			head := s.prHeadSHALocked(is.PR)
			if s.isAncestorLocked(sha, head) && !s.isAncestorLocked(sha, r.refs["refs/heads/"+is.PR.BaseRef]) {
				list = append(list, is)
			}
		}
	}
	lo, hi := c.paginate(len(list))
	out := []any{}
	for _, is := range list[lo:hi] {
		out = append(out, s.prJSON(r, is))
	}
	return http.StatusOK, out
}
