package githubsim

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"strconv"
	"strings"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// updateRefLocked points ref at sha like a git push by pusher: it sends
// push and, for a branch that is the head of open pull requests, pull_request
// synchronize. Nothing happens when the ref already points at sha.
func (r *Repo) updateRefLocked(ref, sha, pusher string) {
	before := r.refs[ref]
	if before == sha {
		return
	}
	r.refs[ref] = sha
	r.s.sendPushLocked(r, ref, before, sha, pusher)
	if branch, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		r.s.syncPRsLocked(r, branch, before, pusher)
	}
}

// pushCommitLocked commits on branch like a push by pusher (see Commit).
func (r *Repo) pushCommitLocked(branch string, files map[string]string, message string, extraParents []string, pusher string) string {
	ref := "refs/heads/" + branch
	before := r.refs[ref]
	sha := r.commitLocked(branch, files, message, extraParents)
	r.refs[ref] = before // let updateRefLocked see the move
	if before == "" {
		delete(r.refs, ref)
	}
	r.updateRefLocked(ref, sha, pusher)
	return sha
}

func (s *Sim) gitUserJSON(login string) map[string]any {
	return map[string]any{"name": login, "email": login + "@users.noreply.github.com", "username": login}
}

// pushCommitJSON is a commit as push and check_suite payloads show it.
func (s *Sim) pushCommitJSON(r *Repo, c *commit) map[string]any {
	var parentTree map[string]string
	if len(c.Parents) > 0 && s.commits[c.Parents[0]] != nil {
		parentTree = s.commits[c.Parents[0]].Tree
	}
	added, removed, modified := []any{}, []any{}, []any{}
	for _, f := range treeDiff(parentTree, c.Tree) {
		switch f.Status {
		case "added":
			added = append(added, f.Filename)
		case "removed":
			removed = append(removed, f.Filename)
		case "renamed":
			added = append(added, f.Filename)
			removed = append(removed, f.Previous)
		default:
			modified = append(modified, f.Filename)
		}
	}
	return map[string]any{
		"id": c.SHA, "tree_id": gitSHA("tree", c.SHA), "distinct": true, "message": c.Message,
		"timestamp": ts(c.Time), "url": s.web(r.Owner, r.Name, "commit", c.SHA),
		"author":    s.gitUserJSON(c.Author),
		"committer": map[string]any{"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
		"added":     added, "removed": removed, "modified": modified,
	}
}

// pushRepoJSON is the repository as push payloads show it: timestamps as
// Unix seconds, the owner with name and email, stargazers and master_branch.
func (s *Sim) pushRepoJSON(r *Repo) map[string]any {
	m := s.repoJSON(r)
	pushed := r.createdAt
	for _, c := range s.commits {
		if c.Time.After(pushed) {
			pushed = c.Time
		}
	}
	m["created_at"] = r.createdAt.Unix()
	m["pushed_at"] = pushed.Unix()
	m["stargazers"] = 0
	m["master_branch"] = r.DefaultBranch
	if owner, ok := m["owner"].(map[string]any); ok {
		owner["name"] = r.Owner
		owner["email"] = nil
	}
	return m
}

func (s *Sim) sendPushLocked(r *Repo, ref, before, after, pusher string) {
	ex := example("push", "with-new-branch.payload.json")
	created := before == ""
	name := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	commits := []any{}
	switch {
	case strings.HasPrefix(ref, "refs/tags/"):
		// A new or moved tag pushes no commits.
	case created:
		// A new branch: the commits not on the default branch yet.
		cmp := s.compareLocked(r.refs["refs/heads/"+r.DefaultBranch], after)
		if ref == "refs/heads/"+r.DefaultBranch {
			cmp.Commits = []*commit{s.commits[after]}
		}
		for _, c := range cmp.Commits {
			commits = append(commits, s.pushCommitJSON(r, c))
		}
	default:
		for _, c := range s.compareLocked(before, after).Commits {
			commits = append(commits, s.pushCommitJSON(r, c))
		}
	}
	if len(commits) > 2048 {
		commits = commits[len(commits)-2048:]
	}
	compare := s.web(r.Owner, r.Name, "compare", name)
	forced := false
	if !created {
		compare = s.web(r.Owner, r.Name, "compare", before[:12]+"..."+after[:12])
		forced = !s.isAncestorLocked(before, after)
	} else {
		before = zeroSHA
	}
	for k, v := range map[string]any{
		"ref": ref, "before": before, "after": after, "created": created, "deleted": false, "forced": forced,
		"base_ref": nil, "compare": compare, "commits": commits, "head_commit": s.pushCommitJSON(r, s.commits[after]),
		"pusher": map[string]any{"name": pusher, "email": pusher + "@users.noreply.github.com"},
	} {
		ex[k] = v
	}
	s.enqueueRepoLocked("push", r, ex, pusher, s.pushRepoJSON(r))
}

// sendStatusLocked sends the status event of a new commit status.
func (s *Sim) sendStatusLocked(r *Repo, st *CommitStatus) {
	ex := example("status", "status.payload.json")
	c := s.commits[st.SHA]
	cj := s.commitJSON(r, c)
	delete(cj, "files")
	delete(cj, "stats")
	gitUser := map[string]any{"name": c.Author, "email": c.Author + "@users.noreply.github.com", "date": ts(c.Time)}
	inner := cj["commit"].(map[string]any)
	inner["author"], inner["committer"] = gitUser, gitUser
	branches := []any{}
	for _, ref := range sortedKeys(r.refs) {
		if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok && r.refs[ref] == st.SHA {
			branches = append(branches, map[string]any{"name": b, "protected": false,
				"commit": map[string]any{"sha": st.SHA, "url": s.api("repos", r.Owner, r.Name, "commits", st.SHA)}})
		}
	}
	sj := s.statusJSON(r, st)
	for k, v := range map[string]any{
		"id": st.ID, "sha": st.SHA, "name": r.FullName(), "target_url": sj["target_url"], "context": st.Context,
		"description": sj["description"], "state": st.State, "commit": cj, "branches": branches,
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt), "avatar_url": sj["avatar_url"],
	} {
		ex[k] = v
	}
	s.enqueueLocked("status", r, ex, st.Creator)
}

// appIDFor returns the id of the app slug: the Sim's own app, the CI app of
// AddCheckRun, or a stable id derived from the slug.
func (s *Sim) appIDFor(slug string) int64 {
	switch slug {
	case s.opts.AppSlug:
		return s.opts.AppID
	case ciAppSlug:
		return ciAppID
	}
	return 100000 + int64(crc32.ChecksumIEEE([]byte(slug))%900000)
}

// suiteConclusion derives a check suite's conclusion from its runs, the
// most severe first.
func suiteConclusion(runs []*CheckRun) string {
	rank := []string{"action_required", "cancelled", "timed_out", "failure", "startup_failure", "stale", "success", "neutral", "skipped"}
	best := len(rank)
	for _, cr := range runs {
		for i, c := range rank {
			if c == cr.Conclusion && i < best {
				best = i
			}
		}
	}
	if best == len(rank) {
		return "success"
	}
	return rank[best]
}

// checkSuiteCompletedLocked sends check_suite completed when the check run
// cr completed the last incomplete run of its suite. GitHub sends
// check_suite events to every app with the checks permission.
func (s *Sim) checkSuiteCompletedLocked(r *Repo, cr *CheckRun) {
	if cr.Status != "completed" {
		return
	}
	var runs []*CheckRun
	latest := map[string]bool{}
	for i := len(s.checkRuns) - 1; i >= 0; i-- {
		o := s.checkRuns[i]
		if o.SuiteID != cr.SuiteID {
			continue
		}
		if o.Status != "completed" {
			return
		}
		if !latest[o.Name] {
			latest[o.Name] = true
			runs = append(runs, o)
		}
	}
	first := runs[len(runs)-1]
	run := s.checkRunJSON(r, cr)
	c := s.commits[cr.HeadSHA]
	var before any
	if c != nil && len(c.Parents) > 0 {
		before = c.Parents[0]
	}
	api := s.api("repos", r.Owner, r.Name, "check-suites", strconv.FormatInt(cr.SuiteID, 10))
	suite := map[string]any{
		"id": cr.SuiteID, "node_id": nodeID("CS_", cr.SuiteID), "head_branch": s.headBranchLocked(r, cr.HeadSHA),
		"head_sha": cr.HeadSHA, "status": "completed", "conclusion": suiteConclusion(runs), "url": api,
		"before": before, "after": cr.HeadSHA, "pull_requests": run["pull_requests"], "app": run["app"],
		"created_at": ts(first.StartedAt), "updated_at": ts(s.now()), "latest_check_runs_count": len(runs),
		"check_runs_url": api + "/check-runs", "rerequestable": true, "runs_rerequestable": true,
	}
	if c != nil {
		who := map[string]any{"name": c.Author, "email": c.Author + "@users.noreply.github.com"}
		suite["head_commit"] = map[string]any{"id": c.SHA, "tree_id": gitSHA("tree", c.SHA), "message": c.Message,
			"timestamp": ts(c.Time), "author": who, "committer": who}
	}
	ex := example("check_suite", "completed.payload.json")
	ex["action"] = "completed"
	patch(ex, "check_suite", suite)
	s.enqueueLocked("check_suite", r, ex, cr.AppSlug+"[bot]")
}

// headBranchLocked is the first branch (by name) whose head is sha, or nil.
func (s *Sim) headBranchLocked(r *Repo, sha string) any {
	for _, n := range sortedKeys(r.refs) {
		if r.refs[n] == sha && strings.HasPrefix(n, "refs/heads/") {
			return strings.TrimPrefix(n, "refs/heads/")
		}
	}
	return nil
}

// webhookSchema names the component schema of GitHub's description that
// describes event/action payloads.
func webhookSchema(event, action string) string {
	name := "webhook-" + strings.ReplaceAll(event, "_", "-")
	if action != "" {
		name += "-" + strings.ReplaceAll(action, "_", "-")
	}
	return name
}

// checkWebhookLocked validates an outgoing payload against GitHub's schema of
// it, when the trimmed description keeps one (see cmd/trimspec), and records
// a violation when the emulator drifts.
func (s *Sim) checkWebhookLocked(event, action string, body []byte) {
	name := webhookSchema(event, action)
	schemas, _ := s.spec.root["components"].(map[string]any)["schemas"].(map[string]any)
	if _, ok := schemas[name]; !ok {
		return
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&v)
	var problems []string
	s.spec.validate(map[string]any{"$ref": "#/components/schemas/" + name}, v, event, &problems)
	if len(problems) > 0 {
		s.violateLocked("WEBHOOK", event+"."+action, name, "githubsim bug: payload does not match the description: "+strings.Join(problems, "; "))
	}
}
