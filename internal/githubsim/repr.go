package githubsim

import (
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
)

// Webhook payload examples from GitHub's documentation (octokit/webhooks,
// MIT, see testdata/webhooks/LICENSE). Deliveries and the larger API objects
// (repository, pull request) are built by patching these.
//
//go:embed testdata/webhooks
var examplesFS embed.FS

// example returns a fresh copy of a webhook example payload.
func example(event, file string) map[string]any {
	b, err := examplesFS.ReadFile("testdata/webhooks/" + event + "/" + file)
	if err != nil {
		panic("githubsim: missing webhook example: " + err.Error())
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func nodeID(prefix string, id int64) string {
	return prefix + strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("0%d", id))), "=")
}

func (s *Sim) api(p ...string) string { return s.URL + strings.Join(p, "/") }
func (s *Sim) web(p ...string) string { return s.opts.WebURL + strings.Join(p, "/") }

func (s *Sim) userJSON(u *user) map[string]any {
	api := s.api("users", u.Login)
	return map[string]any{
		"login": u.Login, "id": u.ID, "node_id": nodeID("U_", u.ID),
		"avatar_url":  fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", u.ID),
		"gravatar_id": "", "url": api, "html_url": s.web(u.Login),
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}",
		"gists_url": api + "/gists{/gist_id}", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}",
		"received_events_url": api + "/received_events", "type": u.Type, "site_admin": false,
		"user_view_type": "public",
	}
}

func (s *Sim) login(login string) map[string]any { return s.userJSON(s.userLocked(login)) }

// rebase rewrites the URLs and names of an example object from the example's
// repository (fromFull) to repo.
func (s *Sim) rebase(v any, fromFull string, r *Repo) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = s.rebase(e, fromFull, r)
		}
	case []any:
		for i, e := range x {
			x[i] = s.rebase(e, fromFull, r)
		}
	case string:
		x = strings.ReplaceAll(x, "https://api.github.com/", s.URL)
		x = strings.ReplaceAll(x, "https://github.com/", s.opts.WebURL)
		x = strings.ReplaceAll(x, fromFull, r.FullName())
		return x
	}
	return v
}

// repoJSON is the full repository object (as in webhooks and GET /repos).
func (s *Sim) repoJSON(r *Repo) map[string]any {
	ex := example("pull_request", "opened.payload.json")
	m := ex["repository"].(map[string]any)
	s.rebase(m, "Codertocat/Hello-World", r)
	pushed := r.createdAt
	for _, c := range s.commits {
		if c.Time.After(pushed) {
			pushed = c.Time
		}
	}
	open := 0
	for _, is := range r.issues {
		if is.State == "open" {
			open++
		}
	}
	owner := s.userLocked(r.Owner)
	visibility := "public"
	if r.Private {
		visibility = "private"
	}
	for k, v := range map[string]any{
		"id": r.ID, "node_id": nodeID("R_", r.ID), "name": r.Name, "full_name": r.FullName(),
		"private": r.Private, "visibility": visibility, "owner": s.userJSON(owner), "description": nil,
		"fork": r.parent != nil, "homepage": nil, "language": "Go", "default_branch": r.DefaultBranch,
		"created_at": ts(r.createdAt), "updated_at": ts(pushed), "pushed_at": ts(pushed),
		"open_issues": open, "open_issues_count": open, "network_count": 0, "subscribers_count": 0,
		"has_discussions": false, "license": nil, "mirror_url": nil, "archived": false, "disabled": false,
		"forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0, "size": 1,
		"is_template": false, "topics": []any{}, "allow_forking": true, "web_commit_signoff_required": false,
	} {
		m[k] = v
	}
	delete(m, "stargazers")
	return m
}

func (s *Sim) installationJSON(in *Installation) map[string]any {
	return map[string]any{"id": in.ID, "node_id": nodeID("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", in.ID)}
}

func (s *Sim) issueJSON(r *Repo, is *Issue) map[string]any {
	base := s.api("repos", r.Owner, r.Name, "issues", fmt.Sprint(is.Number))
	comments := 0
	for _, c := range s.comments {
		if c.Repo == r.FullName() && c.Issue == is.Number {
			comments++
		}
	}
	kind := "issues"
	if is.PR != nil {
		kind = "pull"
	}
	m := map[string]any{
		"url": base, "repository_url": s.api("repos", r.Owner, r.Name), "labels_url": base + "/labels{/name}",
		"comments_url": base + "/comments", "events_url": base + "/events",
		"html_url": s.web(r.Owner, r.Name, kind, fmt.Sprint(is.Number)),
		"id":       is.ID, "node_id": nodeID("I_", is.ID), "number": is.Number, "title": is.Title,
		"user": s.login(is.Author), "labels": s.labelsJSON(r, is.Labels), "state": is.State, "locked": false,
		"assignee": nil, "assignees": []any{}, "milestone": nil, "comments": comments,
		"created_at": ts(is.CreatedAt), "updated_at": ts(is.CreatedAt), "closed_at": nil,
		"author_association": s.association(r, is.Author), "active_lock_reason": nil,
		"body": is.Body, "reactions": reactionsSummary(base + "/reactions"), "draft": false,
		"performed_via_github_app": nil, "state_reason": nil,
		"timeline_url": base + "/timeline",
	}
	if is.PR != nil {
		pbase := s.api("repos", r.Owner, r.Name, "pulls", fmt.Sprint(is.Number))
		m["pull_request"] = map[string]any{
			"url": pbase, "html_url": s.web(r.Owner, r.Name, "pull", fmt.Sprint(is.Number)),
			"diff_url":  s.web(r.Owner, r.Name, "pull", fmt.Sprint(is.Number)) + ".diff",
			"patch_url": s.web(r.Owner, r.Name, "pull", fmt.Sprint(is.Number)) + ".patch", "merged_at": nil,
		}
	}
	return m
}

func reactionsSummary(url string) map[string]any {
	return map[string]any{"url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
		"confused": 0, "heart": 0, "rocket": 0, "eyes": 0}
}

func (s *Sim) association(r *Repo, login string) string {
	switch {
	case strings.EqualFold(login, r.Owner):
		return "OWNER"
	case strings.HasSuffix(login, "[bot]"):
		return "NONE"
	}
	switch r.perms[strings.ToLower(login)] {
	case "admin", "maintain", "write", "triage":
		return "MEMBER"
	case "read":
		return "CONTRIBUTOR"
	}
	return "NONE"
}

// prJSON builds a pull request by patching the pull_request example.
func (s *Sim) prJSON(r *Repo, is *Issue) map[string]any {
	ex := example("pull_request", "opened.payload.json")
	m := ex["pull_request"].(map[string]any)
	s.rebase(m, "Codertocat/Hello-World", r)
	pr := is.PR
	n := fmt.Sprint(is.Number)
	base := s.api("repos", r.Owner, r.Name, "pulls", n)
	html := s.web(r.Owner, r.Name, "pull", n)
	headRepo := s.repos[strings.ToLower(pr.HeadRepo)]
	headSHA := s.prHeadSHALocked(pr)
	side := func(repo *Repo, ref, sha string) map[string]any {
		return map[string]any{"label": repo.Owner + ":" + ref, "ref": ref, "sha": sha,
			"user": s.login(repo.Owner), "repo": s.repoJSON(repo)}
	}
	issue := s.issueJSON(r, is)
	for k, v := range map[string]any{
		"url": base, "id": pr.ID, "node_id": nodeID("PR_", pr.ID), "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue["url"],
		"number": is.Number, "state": is.State, "locked": false, "title": is.Title, "user": s.login(is.Author),
		"body": is.Body, "created_at": ts(is.CreatedAt), "updated_at": ts(is.CreatedAt),
		"closed_at": nil, "merged_at": nil, "merge_commit_sha": nil, "assignee": nil, "assignees": []any{},
		"requested_reviewers": []any{}, "requested_teams": []any{}, "labels": []any{}, "milestone": nil,
		"draft": false, "commits_url": base + "/commits", "review_comments_url": base + "/comments",
		"review_comment_url": s.api("repos", r.Owner, r.Name, "pulls", "comments{/number}"),
		"comments_url":       issue["comments_url"], "statuses_url": s.api("repos", r.Owner, r.Name, "statuses", headSHA),
		"head":               side(headRepo, pr.HeadRef, headSHA),
		"base":               side(r, pr.BaseRef, r.refs["refs/heads/"+pr.BaseRef]),
		"author_association": s.association(r, is.Author), "auto_merge": nil, "active_lock_reason": nil,
		"merged": false, "mergeable": true, "rebaseable": true, "mergeable_state": "clean", "merged_by": nil,
		"comments": issue["comments"], "review_comments": 0, "maintainer_can_modify": false,
		"commits": 1, "additions": 1, "deletions": 0, "changed_files": 1,
	} {
		m[k] = v
	}
	m["_links"] = map[string]any{
		"self": map[string]any{"href": base}, "html": map[string]any{"href": html},
		"issue": map[string]any{"href": issue["url"]}, "comments": map[string]any{"href": issue["comments_url"]},
		"review_comments": map[string]any{"href": base + "/comments"},
		"review_comment":  map[string]any{"href": s.api("repos", r.Owner, r.Name, "pulls", "comments{/number}")},
		"commits":         map[string]any{"href": base + "/commits"},
		"statuses":        map[string]any{"href": s.api("repos", r.Owner, r.Name, "statuses", headSHA)},
	}
	return m
}

func (s *Sim) contentJSON(r *Repo, p, ref, sha, content string) map[string]any {
	blob := gitSHA("blob", content)
	u := s.api("repos", r.Owner, r.Name, "contents", p) + "?ref=" + ref
	git := s.api("repos", r.Owner, r.Name, "git", "blobs", blob)
	html := s.web(r.Owner, r.Name, "blob", ref, p)
	return map[string]any{
		"type": "file", "encoding": "base64", "size": len(content), "name": path.Base(p), "path": p,
		"content": base64.StdEncoding.EncodeToString([]byte(content)), "sha": blob, "url": u,
		"git_url": git, "html_url": html,
		"download_url": "https://raw.githubusercontent.com/" + r.FullName() + "/" + sha + "/" + p,
		"_links":       map[string]any{"self": u, "git": git, "html": html},
	}
}

func (s *Sim) commitJSON(r *Repo, c *commit) map[string]any {
	api := s.api("repos", r.Owner, r.Name, "commits", c.SHA)
	var parents []any
	for _, p := range c.Parents {
		parents = append(parents, map[string]any{"sha": p, "url": s.api("repos", r.Owner, r.Name, "commits", p),
			"html_url": s.web(r.Owner, r.Name, "commit", p)})
	}
	if parents == nil {
		parents = []any{}
	}
	who := map[string]any{"name": c.Author, "email": c.Author + "@users.noreply.github.com", "date": ts(c.Time)}
	return map[string]any{
		"sha": c.SHA, "node_id": nodeID("C_", int64(len(c.SHA))), "url": api,
		"html_url": s.web(r.Owner, r.Name, "commit", c.SHA), "comments_url": api + "/comments",
		"commit": map[string]any{
			"url": s.api("repos", r.Owner, r.Name, "git", "commits", c.SHA), "author": who, "committer": who,
			"message": c.Message, "comment_count": 0,
			"tree":         map[string]any{"sha": gitSHA("tree", c.SHA), "url": s.api("repos", r.Owner, r.Name, "git", "trees", gitSHA("tree", c.SHA))},
			"verification": map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil},
		},
		"author": s.login(c.Author), "committer": s.login("web-flow"), "parents": parents,
		"files": []any{}, "stats": map[string]any{"total": 0, "additions": 0, "deletions": 0},
	}
}

func (s *Sim) refJSON(r *Repo, ref, sha string) map[string]any {
	kind := "commit"
	return map[string]any{
		"ref": ref, "node_id": nodeID("REF_", int64(len(ref))), "url": s.api("repos", r.Owner, r.Name, "git", ref),
		"object": map[string]any{"type": kind, "sha": sha, "url": s.api("repos", r.Owner, r.Name, "git", "commits", sha)},
	}
}
