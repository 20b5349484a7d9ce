package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Deployment is a GitHub Deployment with its statuses (oldest first).
type Deployment struct {
	ID                    int64
	Repo                  string
	SHA, Ref, Task        string
	Environment           string
	OriginalEnvironment   string
	Description           string
	Payload               json.RawMessage // object, or a JSON string when a non-JSON string was sent
	ProductionEnvironment bool
	TransientEnvironment  bool
	Creator               string
	ViaApp                bool   // performed_via_github_app is set: created with an app's token
	App                   string // slug of that app: the Sim's app, or "github-actions" for an Actions job
	WorkflowRunID         int64  // the Actions workflow run whose job created it (RequestDeploymentProtection), 0 if none
	CreatedAt, UpdatedAt  time.Time
	Statuses              []DeploymentStatus
}

// DeploymentStatus is one status of a Deployment.
type DeploymentStatus struct {
	ID             int64
	State          string
	Description    string
	Environment    string
	EnvironmentURL string
	LogURL         string
	TargetURL      string
	Creator        string
	ViaApp         bool
	Automatic      bool // added by GitHub's auto_inactive rule, no webhook sent
	CreatedAt      time.Time
}

// LatestState returns the state of the newest status, or "" if none.
func (d Deployment) LatestState() string {
	if len(d.Statuses) == 0 {
		return ""
	}
	return d.Statuses[len(d.Statuses)-1].State
}

func (s *Sim) deploymentJSON(r *Repo, d *Deployment) map[string]any {
	api := s.api("repos", r.Owner, r.Name, "deployments", strconv.FormatInt(d.ID, 10))
	var desc any
	if d.Description != "" {
		desc = d.Description
	}
	var app any
	if d.ViaApp {
		app = s.appJSONFor(d.App)
	}
	return map[string]any{
		"url": api, "id": d.ID, "node_id": nodeID("DE_", d.ID), "sha": d.SHA, "ref": d.Ref, "task": d.Task,
		"payload": json.RawMessage(d.Payload), "original_environment": d.OriginalEnvironment,
		"environment": d.Environment, "description": desc, "creator": s.login(d.Creator),
		"created_at": ts(d.CreatedAt), "updated_at": ts(d.UpdatedAt), "statuses_url": api + "/statuses",
		"repository_url": s.api("repos", r.Owner, r.Name), "transient_environment": d.TransientEnvironment,
		"production_environment": d.ProductionEnvironment, "performed_via_github_app": app,
	}
}

func (s *Sim) deploymentStatusJSON(r *Repo, d *Deployment, st *DeploymentStatus) map[string]any {
	dep := s.api("repos", r.Owner, r.Name, "deployments", strconv.FormatInt(d.ID, 10))
	var app any
	if st.ViaApp {
		app = s.appJSON()
	}
	return map[string]any{
		"url": dep + "/statuses/" + strconv.FormatInt(st.ID, 10), "id": st.ID, "node_id": nodeID("DES_", st.ID),
		"state": st.State, "creator": s.login(st.Creator), "description": st.Description,
		"environment": st.Environment, "target_url": st.TargetURL, "log_url": st.LogURL,
		"environment_url": st.EnvironmentURL, "created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt),
		"deployment_url": dep, "repository_url": s.api("repos", r.Owner, r.Name), "performed_via_github_app": app,
	}
}

func (c *call) deploymentByID() *Deployment {
	id, _ := strconv.ParseInt(c.params["deployment_id"], 10, 64)
	for _, d := range c.s.deployments {
		if d.ID == id && d.Repo == c.repo.FullName() {
			return d
		}
	}
	return nil
}

// failingContextsLocked returns the contexts (commit statuses and check
// runs) on sha that are not successful; required nil means all of them.
func (s *Sim) failingContextsLocked(r *Repo, sha string, required []string) []any {
	states := map[string]string{}
	for _, st := range s.latestStatusesLocked(r, sha) {
		states[st.Context] = st.State
	}
	for _, cr := range s.checkRuns {
		if cr.Repo == r.FullName() && cr.HeadSHA == sha {
			st := "pending"
			if cr.Status == "completed" {
				st = "failure"
				switch cr.Conclusion {
				case "success", "neutral", "skipped":
					st = "success"
				}
			}
			states[cr.Name] = st
		}
	}
	check := required
	if check == nil {
		check = sortedKeys(states)
	}
	var bad []any
	for _, ctx := range check {
		if st := states[ctx]; st != "success" {
			if st == "" {
				st = "missing"
			}
			bad = append(bad, map[string]any{"context": ctx, "state": st})
		}
	}
	return bad
}

func handleCreateDeployment(c *call) (int, any) {
	s, r := c.s, c.repo
	ref, _ := c.body["ref"].(string)
	sha, kind := r.resolveLocked(ref)
	if sha == "" {
		return c.validationFailed("Deployment", "ref", "invalid", "No ref found for: "+ref)
	}
	if am, ok := c.body["auto_merge"].(bool); (!ok || am) && kind == "branch" {
		branch := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/"), "heads/")
		def := r.refs["refs/heads/"+r.DefaultBranch]
		if branch != r.DefaultBranch && !s.isAncestorLocked(def, sha) {
			// GitHub merges the default branch into the ref and asks the
			// client to deploy again.
			tree := map[string]string{}
			for k, v := range s.commits[def].Tree {
				tree[k] = v
			}
			for k, v := range s.commits[sha].Tree {
				tree[k] = v
			}
			r.pushCommitLocked(branch, tree, fmt.Sprintf("Merge branch '%s' into %s", r.DefaultBranch, branch), []string{def}, s.botLogin())
			return http.StatusAccepted, map[string]any{"message": fmt.Sprintf("Auto-merged %s into %s on deployment.", r.DefaultBranch, branch)}
		}
	}
	var required []string
	if rc, ok := c.body["required_contexts"].([]any); ok {
		required = []string{}
		for _, x := range rc {
			required = append(required, x.(string))
		}
	}
	if bad := s.failingContextsLocked(r, sha, required); len(bad) > 0 {
		return http.StatusConflict, map[string]any{
			"message":           fmt.Sprintf("Conflict: Commit status checks failed for %s.", ref),
			"errors":            []any{map[string]any{"contexts": bad, "resource": "Deployment", "field": "required_contexts", "code": "invalid"}},
			"documentation_url": docsURL + "/deployments/deployments#create-a-deployment",
		}
	}
	env, ok := c.body["environment"].(string)
	if !ok || env == "" {
		env = "production"
	}
	task, ok := c.body["task"].(string)
	if !ok || task == "" {
		task = "deploy"
	}
	prod, ok := c.body["production_environment"].(bool)
	if !ok {
		prod = env == "production"
	}
	transient, _ := c.body["transient_environment"].(bool)
	desc, _ := c.body["description"].(string)
	d := s.newDeploymentLocked(r, sha, ref, task, env, desc, normalizePayload(c.body["payload"]), prod, transient, s.botLogin(), s.opts.AppSlug, nil)
	return http.StatusCreated, s.deploymentJSON(r, d)
}

// normalizePayload stores an object as is; a string holding a JSON object is
// stored parsed, any other string as a JSON string. Absent means {}.
func normalizePayload(p any) json.RawMessage {
	switch x := p.(type) {
	case nil:
		return json.RawMessage("{}")
	case string:
		var obj map[string]any
		if err := json.Unmarshal([]byte(x), &obj); err == nil {
			b, _ := json.Marshal(obj)
			return b
		}
		if x == "" {
			return json.RawMessage("{}")
		}
	}
	b, _ := json.Marshal(p)
	return b
}

// newDeploymentLocked records a deployment and sends deployment created.
// app is the slug of the app it is performed via ("" for none); run is the
// Actions workflow run whose job created it, if any.
func (s *Sim) newDeploymentLocked(r *Repo, sha, ref, task, env, desc string, payload json.RawMessage, prod, transient bool, creator, app string, run *WorkflowRun) *Deployment {
	now := s.now()
	d := &Deployment{ID: s.nextID("deployment"), Repo: r.FullName(), SHA: sha, Ref: ref, Task: task,
		Environment: env, OriginalEnvironment: env, Description: desc, Payload: payload,
		ProductionEnvironment: prod, TransientEnvironment: transient, Creator: creator, ViaApp: app != "", App: app,
		CreatedAt: now, UpdatedAt: now}
	if run != nil {
		d.WorkflowRunID = run.ID
	}
	s.userLocked(creator)
	s.deployments = append(s.deployments, d)
	s.sendDeploymentLocked(r, d)
	return d
}

func handleListDeployments(c *call) (int, any) {
	var list []*Deployment
	for i := len(c.s.deployments) - 1; i >= 0; i-- {
		d := c.s.deployments[i]
		if d.Repo != c.repo.FullName() {
			continue
		}
		if v := c.q.Get("sha"); v != "" && v != d.SHA {
			continue
		}
		if v := c.q.Get("ref"); v != "" && v != d.Ref {
			continue
		}
		if v := c.q.Get("task"); v != "" && v != d.Task {
			continue
		}
		if v := c.q.Get("environment"); v != "" && v != d.Environment {
			continue
		}
		list = append(list, d)
	}
	lo, hi := c.paginate(len(list))
	out := []any{}
	for _, d := range list[lo:hi] {
		out = append(out, c.s.deploymentJSON(c.repo, d))
	}
	return http.StatusOK, out
}

func handleGetDeployment(c *call) (int, any) {
	d := c.deploymentByID()
	if d == nil {
		return notFound()
	}
	return http.StatusOK, c.s.deploymentJSON(c.repo, d)
}

func handleCreateDeploymentStatus(c *call) (int, any) {
	d := c.deploymentByID()
	if d == nil {
		return notFound()
	}
	str := func(k string) string { v, _ := c.body[k].(string); return v }
	autoInactive := true
	if v, ok := c.body["auto_inactive"].(bool); ok {
		autoInactive = v
	}
	if len([]rune(str("description"))) > 140 {
		return c.invalid("description is longer than 140 characters")
	}
	st := c.s.addDeploymentStatusLocked(c.repo, d, DeploymentStatus{
		State: str("state"), Description: str("description"), Environment: str("environment"),
		EnvironmentURL: str("environment_url"), LogURL: str("log_url"), TargetURL: str("target_url"),
		Creator: c.s.botLogin(), ViaApp: true,
	}, autoInactive)
	return http.StatusCreated, c.s.deploymentStatusJSON(c.repo, d, st)
}

// addDeploymentStatusLocked appends a status, applies GitHub's auto_inactive
// rule and sends deployment_status created.
func (s *Sim) addDeploymentStatusLocked(r *Repo, d *Deployment, st DeploymentStatus, autoInactive bool) *DeploymentStatus {
	if st.LogURL != "" {
		st.TargetURL = st.LogURL
	} else if st.TargetURL != "" {
		st.LogURL = st.TargetURL
	}
	if st.Environment == "" {
		st.Environment = d.Environment
	}
	d.Environment = st.Environment
	st.ID = s.nextID("deployment_status")
	st.CreatedAt = s.now()
	d.UpdatedAt = st.CreatedAt
	s.userLocked(st.Creator)
	d.Statuses = append(d.Statuses, st)
	if st.State == "success" && autoInactive {
		// GitHub: "Adds a new inactive status to all prior non-transient,
		// non-production environment deployments with the same repository
		// and environment name ... only to deployments that had a success
		// state." No webhooks are sent for these.
		for _, o := range s.deployments {
			if o == d || o.Repo != d.Repo || o.Environment != d.Environment || o.ID > d.ID || o.TransientEnvironment || o.ProductionEnvironment || (Deployment{Statuses: o.Statuses}).LatestState() != "success" {
				continue
			}
			o.Statuses = append(o.Statuses, DeploymentStatus{ID: s.nextID("deployment_status"), State: "inactive",
				Environment: o.Environment, Creator: st.Creator, ViaApp: st.ViaApp, Automatic: true, CreatedAt: st.CreatedAt})
			o.UpdatedAt = st.CreatedAt
		}
	}
	s.sendDeploymentStatusLocked(r, d, &d.Statuses[len(d.Statuses)-1])
	return &d.Statuses[len(d.Statuses)-1]
}

func handleListDeploymentStatuses(c *call) (int, any) {
	d := c.deploymentByID()
	if d == nil {
		return notFound()
	}
	lo, hi := c.paginate(len(d.Statuses))
	out := []any{}
	for i := len(d.Statuses) - 1 - lo; i >= len(d.Statuses)-hi; i-- {
		out = append(out, c.s.deploymentStatusJSON(c.repo, d, &d.Statuses[i]))
	}
	return http.StatusOK, out
}

// CreateDeployment creates a deployment as user login (not via the app), as
// another tool or a person would, and sends deployment created. payload may
// be nil, a string or any JSON-marshalable value.
func (s *Sim) CreateDeployment(fullName, login, ref, environment, task string, payload any) int64 {
	r := s.mustRepo(fullName)
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, _ := r.resolveLocked(ref)
	if sha == "" {
		panic("githubsim: unknown ref " + ref)
	}
	if task == "" {
		task = "deploy"
	}
	d := s.newDeploymentLocked(r, sha, ref, task, environment, "", normalizePayload(payload), environment == "production", false, login, "", nil)
	s.notifyLocked()
	return d.ID
}

// AddDeploymentStatus adds a status to a deployment as user login (e.g. an
// external executor), not via an app, and sends deployment_status created.
func (s *Sim) AddDeploymentStatus(deploymentID int64, login, state, description string) {
	s.AddDeploymentStatusWithURLs(deploymentID, login, state, description, "", "")
}

// AddDeploymentStatusWithURLs is AddDeploymentStatus with environment_url
// and log_url (GitHub copies log_url to target_url).
func (s *Sim) AddDeploymentStatusWithURLs(deploymentID int64, login, state, description, environmentURL, logURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deployments {
		if d.ID == deploymentID {
			s.addDeploymentStatusLocked(s.repos[strings.ToLower(d.Repo)], d, DeploymentStatus{State: state, Description: description,
				EnvironmentURL: environmentURL, LogURL: logURL, Creator: login}, true)
			s.notifyLocked()
			return
		}
	}
	panic(fmt.Sprintf("githubsim: no deployment %d", deploymentID))
}

// Deployments returns the repository's deployments, oldest first.
func (s *Sim) Deployments(fullName string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range s.deployments {
		if strings.EqualFold(d.Repo, fullName) {
			cp := *d
			cp.Statuses = append([]DeploymentStatus(nil), d.Statuses...)
			cp.Payload = append(json.RawMessage(nil), d.Payload...)
			out = append(out, cp)
		}
	}
	return out
}
