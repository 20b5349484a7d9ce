package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// workflow is a GitHub Actions workflow of a repository.
type workflow struct {
	ID        int64
	File      string // file name under .github/workflows
	Name      string
	State     string // active
	CreatedAt time.Time
	lastRun   int // run_number of the newest run
}

func (w *workflow) path() string { return ".github/workflows/" + w.File }

// WorkflowRun is a GitHub Actions workflow run. Status is queued,
// in_progress or completed; Conclusion is set when completed.
type WorkflowRun struct {
	ID              int64
	Repo            string
	WorkflowID      int64
	Name            string // the workflow's name
	Path            string // .github/workflows/<file>
	Event           string // workflow_dispatch, push...
	Status          string
	Conclusion      string
	HeadBranch      string // the branch or tag the run is for
	HeadSHA         string
	RunNumber       int
	RunAttempt      int
	CheckSuiteID    int64
	Actor           string
	TriggeringActor string
	// Inputs are the workflow_dispatch inputs. GitHub's run object does not
	// show them; they are kept for inspection only.
	Inputs                             map[string]string
	CreatedAt, UpdatedAt, RunStartedAt time.Time
}

// ProtectionAnswer is an answer of an app to a custom deployment protection
// rule request (POST .../actions/runs/{run_id}/deployment_protection_rule).
// State is approved or rejected; "" for a comment-only status report, which
// leaves the request pending.
type ProtectionAnswer struct {
	RunID       int64
	Environment string
	State       string
	Comment     string
	App         string // slug of the app that answered
	Time        time.Time
}

// protectionGate is a deployment_protection_rule request sent to the app
// for one environment of a workflow run.
type protectionGate struct {
	RunID        int64
	Environment  string
	AppID        int64
	DeploymentID int64
	State        string // "" while pending, then approved or rejected
}

// workflowRunConclusions are the conclusions GitHub's workflow_run webhook
// schemas allow.
var workflowRunConclusions = []string{"action_required", "cancelled", "failure", "neutral", "skipped", "stale", "success", "timed_out", "startup_failure"}

// AddWorkflow adds the active workflow .github/workflows/<file> named name
// (GitHub names a workflow without a name by its path) and returns its id.
// The workflow file itself is not committed.
func (r *Repo) AddWorkflow(file, name string) int64 {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	w := r.addWorkflowLocked(file, name)
	s.notifyLocked()
	return w.ID
}

func (r *Repo) addWorkflowLocked(file, name string) *workflow {
	if file == "" || strings.Contains(file, "/") {
		panic("githubsim: a workflow file is a file name under .github/workflows: " + file)
	}
	if r.workflowLocked(file) != nil {
		panic(fmt.Sprintf("githubsim: %s already has the workflow %s", r.FullName(), file))
	}
	w := &workflow{ID: r.s.nextID("workflow"), File: file, Name: name, State: "active", CreatedAt: r.s.now()}
	if w.Name == "" {
		w.Name = w.path()
	}
	r.workflows = append(r.workflows, w)
	return w
}

// workflowLocked finds a workflow by id or file name, as workflow_id.
func (r *Repo) workflowLocked(idOrFile string) *workflow {
	id, err := strconv.ParseInt(idOrFile, 10, 64)
	for _, w := range r.workflows {
		if (err == nil && w.ID == id) || w.File == idOrFile {
			return w
		}
	}
	return nil
}

func (s *Sim) runLocked(id int64) *WorkflowRun {
	for _, run := range s.runs {
		if run.ID == id {
			return run
		}
	}
	return nil
}

func (s *Sim) mustRunLocked(id int64) (*Repo, *WorkflowRun) {
	run := s.runLocked(id)
	if run == nil {
		panic(fmt.Sprintf("githubsim: no workflow run %d", id))
	}
	return s.repos[strings.ToLower(run.Repo)], run
}

// newRunLocked creates a queued run of w and sends workflow_run requested.
// The run gets its own check suite, where the GitHub Actions check runs
// (jobs) added on its head SHA go.
func (s *Sim) newRunLocked(r *Repo, w *workflow, event, branch, sha, actor string, inputs map[string]string) *WorkflowRun {
	now := s.now()
	w.lastRun++
	run := &WorkflowRun{
		ID: s.nextID("workflow_run"), Repo: r.FullName(), WorkflowID: w.ID, Name: w.Name, Path: w.path(),
		Event: event, Status: "queued", HeadBranch: branch, HeadSHA: sha, RunNumber: w.lastRun, RunAttempt: 1,
		CheckSuiteID: s.nextID("check_suite"), Actor: actor, TriggeringActor: actor, Inputs: inputs,
		CreatedAt: now, UpdatedAt: now, RunStartedAt: now,
	}
	s.userLocked(actor)
	s.suites[suiteKey(r, sha, ciAppID)] = run.CheckSuiteID
	s.runs = append(s.runs, run)
	s.sendWorkflowRunLocked(r, run, "requested")
	return run
}

// dispatchRefLocked resolves the ref of a workflow dispatch: a branch or a
// tag, by name or full ref. It returns the run's head_branch and SHA.
func (r *Repo) dispatchRefLocked(ref string) (name, sha string) {
	for _, prefix := range []string{"refs/heads/", "refs/tags/"} {
		if n, ok := strings.CutPrefix(ref, prefix); ok {
			return n, r.refs[ref]
		}
	}
	if sha := r.refs["refs/heads/"+ref]; sha != "" {
		return ref, sha
	}
	return ref, r.refs["refs/tags/"+ref]
}

// AddWorkflowRun adds an in_progress run of the workflow file (added with
// name = its path if missing) for event on branch at sha (the branch head
// when ""), as if triggered by octocat, and returns its id. It sends
// workflow_run requested and in_progress. GitHub Actions check runs added
// afterwards on sha (AddCheckRun, AddWorkflowJob) belong to its check suite.
func (r *Repo) AddWorkflowRun(workflowFile, event, branch, sha string) int64 {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	w := r.workflowLocked(workflowFile)
	if w == nil {
		w = r.addWorkflowLocked(workflowFile, "")
	}
	if sha == "" {
		sha = r.refs["refs/heads/"+branch]
	}
	if s.commits[sha] == nil {
		panic(fmt.Sprintf("githubsim: %s has no commit %q (branch %s)", r.FullName(), sha, branch))
	}
	run := s.newRunLocked(r, w, event, branch, sha, "octocat", nil)
	s.startRunLocked(r, run)
	s.notifyLocked()
	return run.ID
}

func (s *Sim) startRunLocked(r *Repo, run *WorkflowRun) {
	now := s.now()
	run.Status, run.UpdatedAt, run.RunStartedAt = "in_progress", now, now
	s.sendWorkflowRunLocked(r, run, "in_progress")
}

// StartWorkflowRun moves a queued run to in_progress and sends workflow_run
// in_progress.
func (s *Sim) StartWorkflowRun(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, run := s.mustRunLocked(id)
	if run.Status != "queued" {
		panic(fmt.Sprintf("githubsim: workflow run %d is %s, not queued", id, run.Status))
	}
	s.startRunLocked(r, run)
	s.notifyLocked()
}

// CompleteWorkflowRun completes a run with conclusion (success, failure,
// cancelled, ...): its GitHub Actions check runs still incomplete complete
// with the same conclusion (check_run completed, then check_suite
// completed), and workflow_run completed is sent.
func (s *Sim) CompleteWorkflowRun(id int64, conclusion string) {
	if !slices.Contains(workflowRunConclusions, conclusion) {
		panic("githubsim: unknown workflow run conclusion " + conclusion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, run := s.mustRunLocked(id)
	if run.Status == "completed" {
		panic(fmt.Sprintf("githubsim: workflow run %d is already completed", id))
	}
	now := s.now()
	for _, cr := range s.checkRuns {
		if cr.SuiteID == run.CheckSuiteID && cr.Status != "completed" {
			cr.Status, cr.Conclusion, cr.CompletedAt = "completed", conclusion, now
			s.sendCheckRunLocked(r, cr, "completed", "", "")
			s.checkSuiteCompletedLocked(r, cr)
		}
	}
	run.Status, run.Conclusion, run.UpdatedAt = "completed", conclusion, now
	s.sendWorkflowRunLocked(r, run, "completed")
	s.notifyLocked()
}

// AddWorkflowJob adds a job of a workflow run: a GitHub Actions check run
// named name in the run's check suite, on its head SHA, with details_url
// the job's page. It sends check_run created (and completed when
// conclusion is set). status is queued, in_progress or completed.
func (s *Sim) AddWorkflowJob(runID int64, name, status, conclusion string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, run := s.mustRunLocked(runID)
	now := s.now()
	cr := &CheckRun{ID: s.nextID("check_run"), Repo: r.FullName(), HeadSHA: run.HeadSHA, Name: name, Status: status,
		Conclusion: conclusion, AppID: ciAppID, AppSlug: ciAppSlug, SuiteID: run.CheckSuiteID, StartedAt: now}
	cr.DetailsURL = s.web(r.Owner, r.Name, "actions", "runs", strconv.FormatInt(run.ID, 10), "job", strconv.FormatInt(cr.ID, 10))
	if conclusion != "" {
		cr.Status, cr.CompletedAt = "completed", now
	}
	s.checkRuns = append(s.checkRuns, cr)
	s.sendCheckRunLocked(r, cr, "created", "", "")
	if cr.Status == "completed" {
		s.sendCheckRunLocked(r, cr, "completed", "", "")
		s.checkSuiteCompletedLocked(r, cr)
	}
	s.notifyLocked()
	return cr.ID
}

// WorkflowRuns returns the repository's workflow runs, oldest first.
func (s *Sim) WorkflowRuns(fullName string) []WorkflowRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []WorkflowRun
	for _, run := range s.runs {
		if strings.EqualFold(run.Repo, fullName) {
			out = append(out, copyRun(run))
		}
	}
	return out
}

// WorkflowRun returns a workflow run by id.
func (s *Sim) WorkflowRun(id int64) (WorkflowRun, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if run := s.runLocked(id); run != nil {
		return copyRun(run), true
	}
	return WorkflowRun{}, false
}

func copyRun(run *WorkflowRun) WorkflowRun {
	cp := *run
	if run.Inputs != nil {
		cp.Inputs = map[string]string{}
		for k, v := range run.Inputs {
			cp.Inputs[k] = v
		}
	}
	return cp
}

// RequestDeploymentProtection emulates a job of the workflow run runID that
// targets environment, protected by a custom deployment protection rule of
// the Sim's app: the run's status becomes waiting, GitHub Actions creates a
// deployment of the run's head SHA for ref (the run's head branch when "")
// in environment, as github-actions[bot] via the GitHub Actions app
// (deployment created, with workflow and workflow_run), and asks the app
// with deployment_protection_rule requested. The app answers through
// deployment_callback_url (see ProtectionAnswers); once no request of the
// run is pending, the run is in_progress again. A rejected job fails on
// GitHub: complete the run with CompleteWorkflowRun. It returns the
// deployment id.
func (s *Sim) RequestDeploymentProtection(fullName, environment, ref string, runID int64) int64 {
	r := s.mustRepo(fullName)
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.runLocked(runID)
	if run == nil || run.Repo != r.FullName() {
		panic(fmt.Sprintf("githubsim: %s has no workflow run %d", fullName, runID))
	}
	if ref == "" {
		ref = run.HeadBranch
	}
	env := r.envLocked(environment).Name
	if run.Status != "completed" {
		// The job waits for the rule; GitHub sends no workflow_run
		// webhook for that.
		run.Status, run.UpdatedAt = "waiting", s.now()
	}
	d := s.newDeploymentLocked(r, run.HeadSHA, ref, "deploy", env, "", json.RawMessage("{}"), env == "production", false,
		ciAppSlug+"[bot]", ciAppSlug, run)
	s.gates = append(s.gates, &protectionGate{RunID: run.ID, Environment: env, AppID: s.opts.AppID, DeploymentID: d.ID})
	s.sendProtectionRuleLocked(r, run, d)
	s.notifyLocked()
	return d.ID
}

// ProtectionAnswers returns the answers given for the workflow run's
// deployment protection rule requests, oldest first.
func (s *Sim) ProtectionAnswers(runID int64) []ProtectionAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ProtectionAnswer
	for _, a := range s.answers {
		if a.RunID == runID {
			out = append(out, *a)
		}
	}
	return out
}

// runPRsLocked are the open pull requests of the repository whose head is
// the run's head branch and SHA, as GitHub associates them with a run.
func (s *Sim) runPRsLocked(r *Repo, run *WorkflowRun) []*Issue {
	var out []*Issue
	for _, n := range sortedNumbers(r.issues) {
		is := r.issues[n]
		if is.PR != nil && is.State == "open" && strings.EqualFold(is.PR.HeadRepo, r.FullName()) &&
			is.PR.HeadRef == run.HeadBranch && s.prHeadSHALocked(is.PR) == run.HeadSHA {
			out = append(out, is)
		}
	}
	return out
}

// minimalRepoJSON is the repository as workflow runs show it (GitHub's
// minimal-repository): the keys of the workflow_run example's repository.
func (s *Sim) minimalRepoJSON(r *Repo) map[string]any {
	ex := example("workflow_run", "requested.payload.json")
	keys := ex["workflow_run"].(map[string]any)["repository"].(map[string]any)
	full := s.repoJSON(r)
	out := map[string]any{}
	for k := range keys {
		if v, ok := full[k]; ok {
			out[k] = v
		}
	}
	return out
}

func (s *Sim) workflowJSON(r *Repo, w *workflow) map[string]any {
	id := strconv.FormatInt(w.ID, 10)
	return map[string]any{
		"id": w.ID, "node_id": nodeID("W_", w.ID), "name": w.Name, "path": w.path(), "state": w.State,
		"created_at": ts(w.CreatedAt), "updated_at": ts(w.CreatedAt),
		"url":       s.api("repos", r.Owner, r.Name, "actions", "workflows", id),
		"html_url":  s.web(r.Owner, r.Name, "blob", r.DefaultBranch, w.path()),
		"badge_url": s.web(r.Owner, r.Name, "workflows", w.Name, "badge.svg"),
	}
}

func (r *Repo) workflowByIDLocked(id int64) *workflow {
	for _, w := range r.workflows {
		if w.ID == id {
			return w
		}
	}
	return nil
}

// runJSON is a workflow run as the REST API and workflow_run webhooks show
// it, built on the workflow_run example.
func (s *Sim) runJSON(r *Repo, run *WorkflowRun, withPRs bool) map[string]any {
	ex := example("workflow_run", "requested.payload.json")
	m := ex["workflow_run"].(map[string]any)
	id := strconv.FormatInt(run.ID, 10)
	api := s.api("repos", r.Owner, r.Name, "actions", "runs", id)
	var concl any
	if run.Conclusion != "" {
		concl = run.Conclusion
	}
	var headCommit any
	title := run.Name
	if c := s.commits[run.HeadSHA]; c != nil {
		who := map[string]any{"name": c.Author, "email": c.Author + "@users.noreply.github.com"}
		headCommit = map[string]any{"id": c.SHA, "tree_id": gitSHA("tree", c.SHA), "message": c.Message,
			"timestamp": ts(c.Time), "author": who, "committer": map[string]any{"name": "GitHub", "email": "noreply@github.com"}}
		if run.Event != "workflow_dispatch" {
			title, _, _ = strings.Cut(c.Message, "\n")
		}
	}
	prs := []any{}
	if withPRs {
		for _, is := range s.runPRsLocked(r, run) {
			prs = append(prs, s.prMinimalJSON(r, is))
		}
	}
	repo := s.minimalRepoJSON(r)
	for k, v := range map[string]any{
		"id": run.ID, "name": run.Name, "node_id": nodeID("WFR_", run.ID), "head_branch": run.HeadBranch,
		"head_sha": run.HeadSHA, "path": run.Path, "display_title": title, "run_number": run.RunNumber,
		"event": run.Event, "status": run.Status, "conclusion": concl, "workflow_id": run.WorkflowID,
		"check_suite_id": run.CheckSuiteID, "check_suite_node_id": nodeID("CS_", run.CheckSuiteID),
		"url": api, "html_url": s.web(r.Owner, r.Name, "actions", "runs", id), "pull_requests": prs,
		"created_at": ts(run.CreatedAt), "updated_at": ts(run.UpdatedAt), "run_attempt": run.RunAttempt,
		"run_started_at": ts(run.RunStartedAt), "actor": s.login(run.Actor), "triggering_actor": s.login(run.TriggeringActor),
		"jobs_url": api + "/jobs", "logs_url": api + "/logs", "artifacts_url": api + "/artifacts",
		"cancel_url": api + "/cancel", "rerun_url": api + "/rerun", "previous_attempt_url": nil,
		"check_suite_url": s.api("repos", r.Owner, r.Name, "check-suites", strconv.FormatInt(run.CheckSuiteID, 10)),
		"workflow_url":    s.api("repos", r.Owner, r.Name, "actions", "workflows", strconv.FormatInt(run.WorkflowID, 10)),
		"head_commit":     headCommit, "repository": repo, "head_repository": s.minimalRepoJSON(r),
	} {
		m[k] = v
	}
	return m
}

// deploymentRunJSON is the workflow_run of a deployment webhook: GitHub's
// example of an Actions deployment shows fewer fields than the run object;
// the description's schema of it requires path and display_title too.
func (s *Sim) deploymentRunJSON(r *Repo, run *WorkflowRun) map[string]any {
	keys := example("deployment", "gh-pages.payload.json")["workflow_run"].(map[string]any)
	full := s.runJSON(r, run, true)
	out := map[string]any{"path": full["path"], "display_title": full["display_title"]}
	for k := range keys {
		out[k] = full[k]
	}
	return out
}

func (s *Sim) sendWorkflowRunLocked(r *Repo, run *WorkflowRun, action string) {
	file := "requested.payload.json"
	if action == "completed" {
		file = "completed.payload.json"
	}
	ex := example("workflow_run", file)
	ex["action"] = action
	ex["workflow"] = s.workflowJSON(r, r.workflowByIDLocked(run.WorkflowID))
	ex["workflow_run"] = s.runJSON(r, run, true)
	s.enqueueLocked("workflow_run", r, ex, run.TriggeringActor)
}

// sendProtectionRuleLocked sends deployment_protection_rule requested. GitHub
// publishes no example of it: testdata/webhooks/deployment_protection_rule
// was written to its schemas (see the README there).
func (s *Sim) sendProtectionRuleLocked(r *Repo, run *WorkflowRun, d *Deployment) {
	ex := example("deployment_protection_rule", "requested.payload.json")
	ex["action"] = "requested"
	ex["environment"] = d.Environment
	ex["event"] = run.Event
	ex["deployment_callback_url"] = s.api("repos", r.Owner, r.Name, "actions", "runs", strconv.FormatInt(run.ID, 10), "deployment_protection_rule")
	patch(ex, "deployment", s.deploymentJSON(r, d))
	prs := []any{}
	for _, is := range s.runPRsLocked(r, run) {
		prs = append(prs, s.prJSON(r, is))
	}
	ex["pull_requests"] = prs
	s.enqueueLocked("deployment_protection_rule", r, ex, run.TriggeringActor)
}

func (c *call) runByID() *WorkflowRun {
	id, _ := strconv.ParseInt(c.params["run_id"], 10, 64)
	if run := c.s.runLocked(id); run != nil && run.Repo == c.repo.FullName() {
		return run
	}
	return nil
}

func handleListWorkflows(c *call) (int, any) {
	ws := c.repo.workflows
	lo, hi := c.paginate(len(ws))
	out := []any{}
	for _, w := range ws[lo:hi] {
		out = append(out, c.s.workflowJSON(c.repo, w))
	}
	return http.StatusOK, map[string]any{"total_count": len(ws), "workflows": out}
}

func handleGetWorkflow(c *call) (int, any) {
	w := c.repo.workflowLocked(c.params["workflow_id"])
	if w == nil {
		return notFound()
	}
	return http.StatusOK, c.s.workflowJSON(c.repo, w)
}

// handleDispatch creates a workflow_dispatch run of the workflow on ref, as
// the app's bot. GitHub answers 204, or 200 with the run's id and URLs when
// return_run_details is true.
func handleDispatch(c *call) (int, any) {
	s, r := c.s, c.repo
	w := r.workflowLocked(c.params["workflow_id"])
	if w == nil {
		return notFound()
	}
	ref, _ := c.body["ref"].(string)
	inputs := map[string]string{}
	raw, _ := c.body["inputs"].(map[string]any)
	for _, k := range sortedKeys(raw) {
		v, ok := raw[k].(string)
		if !ok {
			b, _ := json.Marshal(raw[k])
			return c.invalid(fmt.Sprintf("For 'properties/%s', %s is not a string.", k, b))
		}
		inputs[k] = v
	}
	branch, sha := r.dispatchRefLocked(ref)
	if sha == "" {
		return apiError(http.StatusUnprocessableEntity, "No ref found for: "+ref)
	}
	run := s.newRunLocked(r, w, "workflow_dispatch", branch, sha, s.botLogin(), inputs)
	if details, _ := c.body["return_run_details"].(bool); details {
		j := s.runJSON(r, run, false)
		return http.StatusOK, map[string]any{"workflow_run_id": run.ID, "run_url": j["url"], "html_url": j["html_url"]}
	}
	return http.StatusNoContent, nil
}

// createdFilter parses the created query parameter (GitHub's search date
// syntax: DATE, >DATE, >=DATE, <DATE, <=DATE, DATE..DATE with * for an open
// end) into a predicate.
func createdFilter(q string) (func(time.Time) bool, bool) {
	// An unescaped "+01:00" arrives as " 01:00".
	q = strings.ReplaceAll(strings.TrimSpace(q), " ", "+")
	parse := func(v string) (lo, hi time.Time, ok bool) {
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02T15:04"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, t, true
			}
		}
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return t, t.Add(24*time.Hour - time.Nanosecond), true
		}
		return time.Time{}, time.Time{}, false
	}
	if a, b, ok := strings.Cut(q, ".."); ok {
		var from, to time.Time
		if a != "*" {
			lo, _, ok := parse(a)
			if !ok {
				return nil, false
			}
			from = lo
		}
		if b != "*" {
			_, hi, ok := parse(b)
			if !ok {
				return nil, false
			}
			to = hi
		}
		return func(t time.Time) bool {
			return (from.IsZero() || !t.Before(from)) && (to.IsZero() || !t.After(to))
		}, true
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if v, ok := strings.CutPrefix(q, op); ok {
			lo, hi, ok := parse(v)
			if !ok {
				return nil, false
			}
			switch op {
			case ">=":
				return func(t time.Time) bool { return !t.Before(lo) }, true
			case "<=":
				return func(t time.Time) bool { return !t.After(hi) }, true
			case ">":
				return func(t time.Time) bool { return t.After(hi) }, true
			default:
				return func(t time.Time) bool { return t.Before(lo) }, true
			}
		}
	}
	lo, hi, ok := parse(q)
	if !ok {
		return nil, false
	}
	return func(t time.Time) bool { return !t.Before(lo) && !t.After(hi) }, true
}

// listRuns lists the runs of the repository (of workflow w when not nil),
// newest first, with the description's filters.
func (c *call) listRuns(w *workflow) (int, any) {
	var created func(time.Time) bool
	if v := c.q.Get("created"); v != "" {
		f, ok := createdFilter(v)
		if !ok {
			return c.invalid(fmt.Sprintf("query parameter created: %q is not a date or a date range", v))
		}
		created = f
	}
	var list []*WorkflowRun
	for i := len(c.s.runs) - 1; i >= 0; i-- {
		run := c.s.runs[i]
		if run.Repo != c.repo.FullName() || (w != nil && run.WorkflowID != w.ID) {
			continue
		}
		if v := c.q.Get("actor"); v != "" && !strings.EqualFold(v, run.Actor) {
			continue
		}
		if v := c.q.Get("branch"); v != "" && v != run.HeadBranch {
			continue
		}
		if v := c.q.Get("event"); v != "" && v != run.Event {
			continue
		}
		if v := c.q.Get("status"); v != "" && v != run.Status && v != run.Conclusion {
			continue
		}
		if v := c.q.Get("head_sha"); v != "" && v != run.HeadSHA {
			continue
		}
		if v := c.q.Get("check_suite_id"); v != "" && v != strconv.FormatInt(run.CheckSuiteID, 10) {
			continue
		}
		if created != nil && !created(run.CreatedAt) {
			continue
		}
		list = append(list, run)
	}
	lo, hi := c.paginate(len(list))
	out := []any{}
	for _, run := range list[lo:hi] {
		out = append(out, c.s.runJSON(c.repo, run, c.q.Get("exclude_pull_requests") != "true"))
	}
	return http.StatusOK, map[string]any{"total_count": len(list), "workflow_runs": out}
}

func handleListWorkflowRuns(c *call) (int, any) {
	w := c.repo.workflowLocked(c.params["workflow_id"])
	if w == nil {
		return notFound()
	}
	return c.listRuns(w)
}

func handleListRepoRuns(c *call) (int, any) { return c.listRuns(nil) }

func handleGetRun(c *call) (int, any) {
	run := c.runByID()
	if run == nil {
		return notFound()
	}
	return http.StatusOK, c.s.runJSON(c.repo, run, c.q.Get("exclude_pull_requests") != "true")
}

// handleReviewGates records the app's answer to a pending deployment
// protection rule request of the run for environment_name. GitHub lets an
// app review only its own rules: without a pending request of this app for
// that environment (none was made, or it was already approved or rejected)
// it answers 422. A comment without a state is a status report: recorded,
// and the request stays pending.
func handleReviewGates(c *call) (int, any) {
	s := c.s
	run := c.runByID()
	if run == nil {
		return notFound()
	}
	env, _ := c.body["environment_name"].(string)
	state, _ := c.body["state"].(string)
	comment, _ := c.body["comment"].(string)
	var gate *protectionGate
	for _, g := range s.gates {
		if g.RunID == run.ID && strings.EqualFold(g.Environment, env) && g.AppID == s.opts.AppID && g.State == "" {
			gate = g
		}
	}
	if gate == nil {
		return apiError(http.StatusUnprocessableEntity, fmt.Sprintf("No pending deployment protection rule of this app for the environment %q of workflow run %d.", env, run.ID))
	}
	s.answers = append(s.answers, &ProtectionAnswer{RunID: run.ID, Environment: gate.Environment, State: state,
		Comment: comment, App: s.opts.AppSlug, Time: s.now()})
	if state != "" {
		gate.State = state
		pending := false
		for _, g := range s.gates {
			pending = pending || g.RunID == run.ID && g.State == ""
		}
		if !pending && run.Status == "waiting" {
			run.Status, run.UpdatedAt = "in_progress", s.now()
		}
	}
	return http.StatusNoContent, nil
}
