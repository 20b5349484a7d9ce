package githubsim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CommitStatus is a commit status (the legacy Status API).
type CommitStatus struct {
	ID          int64
	Repo        string
	SHA         string
	State       string // error, failure, pending, success
	Context     string
	Description string
	TargetURL   string
	Creator     string
	CreatedAt   time.Time
}

func handleGetRepo(c *call) (int, any) { return http.StatusOK, c.s.repoJSON(c.repo) }

func handleGetContent(c *call) (int, any) {
	ref := c.q.Get("ref")
	sha, _ := c.repo.resolveLocked(ref)
	if ref == "" {
		ref = c.repo.DefaultBranch
	}
	cm := c.s.commits[sha]
	if cm == nil {
		return apiError(http.StatusNotFound, "No commit found for the ref "+ref)
	}
	p := strings.Trim(c.params["path"], "/")
	content, ok := cm.Tree[p]
	if !ok {
		return notFound()
	}
	return http.StatusOK, c.s.contentJSON(c.repo, p, ref, sha, content)
}

func handleGetCommit(c *call) (int, any) {
	sha, _ := c.repo.resolveLocked(c.params["ref"])
	cm := c.s.commits[sha]
	if cm == nil {
		return apiError(http.StatusUnprocessableEntity, "No commit found for SHA: "+c.params["ref"])
	}
	return http.StatusOK, c.s.commitJSON(c.repo, cm)
}

func handleGetBranch(c *call) (int, any) {
	b := c.params["branch"]
	sha, ok := c.repo.refs["refs/heads/"+b]
	if !ok {
		return apiError(http.StatusNotFound, "Branch not found")
	}
	r := c.repo
	api := c.s.api("repos", r.Owner, r.Name, "branches", b)
	return http.StatusOK, map[string]any{
		"name": b, "commit": c.s.commitJSON(r, c.s.commits[sha]),
		"_links":    map[string]any{"self": api, "html": c.s.web(r.Owner, r.Name, "tree", b)},
		"protected": false, "protection_url": api + "/protection",
		"protection": map[string]any{"enabled": false, "required_status_checks": map[string]any{
			"enforcement_level": "off", "contexts": []any{}, "checks": []any{}}},
	}
}

func handleCreateRef(c *call) (int, any) {
	ref, _ := c.body["ref"].(string)
	sha, _ := c.body["sha"].(string)
	if !strings.HasPrefix(ref, "refs/") || strings.Count(ref, "/") < 2 {
		return c.invalid(`"ref" must start with "refs/" and have at least two slashes: ` + ref)
	}
	if c.s.commits[sha] == nil {
		return apiError(http.StatusUnprocessableEntity, "Object does not exist")
	}
	if _, exists := c.repo.refs[ref]; exists {
		return apiError(http.StatusUnprocessableEntity, "Reference already exists")
	}
	c.repo.updateRefLocked(ref, sha, c.s.botLogin()) // a push, as on GitHub
	return http.StatusCreated, c.s.refJSON(c.repo, ref, sha)
}

func handleGetRef(c *call) (int, any) {
	ref := "refs/" + strings.TrimPrefix(c.params["ref"], "refs/")
	sha, ok := c.repo.refs[ref]
	if !ok {
		return notFound()
	}
	return http.StatusOK, c.s.refJSON(c.repo, ref, sha)
}

func handleMatchingRefs(c *call) (int, any) {
	prefix := "refs/" + strings.TrimPrefix(c.params["ref"], "refs/")
	out := []any{}
	for _, ref := range sortedKeys(c.repo.refs) {
		if strings.HasPrefix(ref, prefix) {
			out = append(out, c.s.refJSON(c.repo, ref, c.repo.refs[ref]))
		}
	}
	return http.StatusOK, out
}

// handleGetPermission emulates GET .../collaborators/{username}/permission.
// GitHub's "permission" field only knows the legacy levels admin, write,
// read and none: the maintain role is reported as "write" and triage as
// "read". The precise role is in "role_name" - a client that needs to tell
// maintain from write must read role_name.
func handleGetPermission(c *call) (int, any) {
	login := c.params["username"]
	u, known := c.s.users[strings.ToLower(login)]
	if !known || u.Type == "Organization" {
		return apiError(http.StatusNotFound, "Not Found")
	}
	role := c.repo.perms[strings.ToLower(login)]
	if role == "" {
		role = "none"
		if strings.EqualFold(login, c.repo.Owner) {
			role = "admin"
		} else if !c.repo.Private {
			role = "read"
		}
	}
	legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"}[role]
	uj := c.s.userJSON(u)
	uj["permissions"] = map[string]any{
		"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
		"push": legacy == "write" || legacy == "admin", "triage": role != "read" && role != "none", "pull": role != "none",
	}
	uj["role_name"] = role
	return http.StatusOK, map[string]any{"permission": legacy, "role_name": role, "user": uj}
}

func handleGetPull(c *call) (int, any) {
	n, _ := strconv.Atoi(c.params["pull_number"])
	is := c.repo.issues[n]
	if is == nil || is.PR == nil {
		return notFound()
	}
	return http.StatusOK, c.s.prJSON(c.repo, is)
}

func handleCreateStatus(c *call) (int, any) {
	sha := c.params["sha"]
	if c.s.commits[sha] == nil {
		return c.validationFailed("Status", "sha", "invalid", "No commit found for SHA: "+sha)
	}
	ctx, _ := c.body["context"].(string)
	if ctx == "" {
		ctx = "default"
	}
	st := &CommitStatus{ID: c.s.nextID("status"), Repo: c.repo.FullName(), SHA: sha, Context: ctx,
		Creator: c.s.botLogin(), CreatedAt: c.s.now()}
	st.State, _ = c.body["state"].(string)
	st.Description, _ = c.body["description"].(string)
	st.TargetURL, _ = c.body["target_url"].(string)
	c.s.statuses = append(c.s.statuses, st)
	c.s.sendStatusLocked(c.repo, st)
	return http.StatusCreated, c.s.statusJSON(c.repo, st)
}

func (s *Sim) statusJSON(r *Repo, st *CommitStatus) map[string]any {
	var desc, target any
	if st.Description != "" {
		desc = st.Description
	}
	if st.TargetURL != "" {
		target = st.TargetURL
	}
	u := s.userLocked(st.Creator)
	return map[string]any{
		"url": s.api("repos", r.Owner, r.Name, "statuses", st.SHA), "id": st.ID, "node_id": nodeID("SC_", st.ID),
		"avatar_url": s.userJSON(u)["avatar_url"], "state": st.State, "description": desc,
		"target_url": target, "context": st.Context, "created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt),
		"creator": s.userJSON(u),
	}
}

// latestStatusesLocked returns the newest status per context for sha.
func (s *Sim) latestStatusesLocked(r *Repo, sha string) []*CommitStatus {
	latest := map[string]*CommitStatus{}
	for _, st := range s.statuses {
		if st.Repo == r.FullName() && st.SHA == sha {
			latest[st.Context] = st
		}
	}
	var out []*CommitStatus
	for _, k := range sortedKeys(latest) {
		out = append(out, latest[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

func combinedState(sts []*CommitStatus) string {
	if len(sts) == 0 {
		return "pending"
	}
	state := "success"
	for _, st := range sts {
		switch st.State {
		case "error", "failure":
			return "failure"
		case "pending":
			state = "pending"
		}
	}
	return state
}

func handleCombinedStatus(c *call) (int, any) {
	sha, _ := c.repo.resolveLocked(c.params["ref"])
	if sha == "" {
		return notFound()
	}
	r := c.repo
	sts := c.s.latestStatusesLocked(r, sha)
	// state and total_count cover every context; statuses is paged.
	lo, hi := c.paginate(len(sts))
	list := []any{}
	for _, st := range sts[lo:hi] {
		list = append(list, c.s.statusJSON(r, st))
	}
	repo := c.s.repoJSON(r)
	return http.StatusOK, map[string]any{
		"state": combinedState(sts), "sha": sha, "total_count": len(sts), "statuses": list,
		"repository": repo, "commit_url": c.s.api("repos", r.Owner, r.Name, "commits", sha),
		"url": c.s.api("repos", r.Owner, r.Name, "commits", sha, "status"),
	}
}

// SetCommitStatus records a commit status on sha as another integration (CI,
// user ci-bot) would, and sends status.
func (r *Repo) SetCommitStatus(sha, context, state, description string) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.commits[sha] == nil {
		panic("githubsim: unknown commit " + sha)
	}
	st := &CommitStatus{ID: s.nextID("status"), Repo: r.FullName(), SHA: sha,
		State: state, Context: context, Description: description, Creator: "ci-bot", CreatedAt: s.now()}
	s.statuses = append(s.statuses, st)
	s.sendStatusLocked(r, st)
	s.notifyLocked()
}

// CommitStatuses returns every commit status of the repository, oldest first.
func (s *Sim) CommitStatuses(fullName string) []CommitStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CommitStatus
	for _, st := range s.statuses {
		if strings.EqualFold(st.Repo, fullName) {
			out = append(out, *st)
		}
	}
	return out
}

// Refs returns the repository's refs ("refs/heads/main" -> sha).
func (s *Sim) Refs(fullName string) map[string]string {
	r := s.mustRepo(fullName)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range r.refs {
		out[k] = v
	}
	return out
}
