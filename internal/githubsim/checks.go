package githubsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CheckRun is a check run. AppID is the app that created it.
type CheckRun struct {
	ID          int64
	Repo        string
	HeadSHA     string
	Name        string
	Status      string // queued, in_progress, completed
	Conclusion  string
	ExternalID  string
	DetailsURL  string
	Output      CheckRunOutput
	Actions     []CheckRunAction
	AppID       int64
	AppSlug     string
	SuiteID     int64
	StartedAt   time.Time
	CompletedAt time.Time
}

// CheckRunOutput is the output of a check run. Annotations accumulate:
// GitHub appends the annotations of every create and update request.
type CheckRunOutput struct {
	Title, Summary, Text string
	Annotations          []CheckRunAnnotation
}

// CheckRunAnnotation is an annotation of a check run's output.
type CheckRunAnnotation struct {
	Path                   string
	StartLine, EndLine     int
	StartColumn, EndColumn int    // 0 when not given
	AnnotationLevel        string // notice, warning, failure
	Message, Title         string
	RawDetails             string
}

// CheckRunAction is a requested-action button on a check run.
type CheckRunAction struct{ Label, Description, Identifier string }

// ciApp is the app CI check runs added with AddCheckRun belong to.
const ciAppID, ciAppSlug = 15368, "github-actions"

func (s *Sim) checkRunJSON(r *Repo, cr *CheckRun) map[string]any {
	api := s.api("repos", r.Owner, r.Name, "check-runs", strconv.FormatInt(cr.ID, 10))
	opt := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return ts(t)
	}
	var concl any
	if cr.Conclusion != "" {
		concl = cr.Conclusion
	}
	str := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	actions := []any{}
	for _, a := range cr.Actions {
		actions = append(actions, map[string]any{"label": a.Label, "description": a.Description, "identifier": a.Identifier})
	}
	app := s.appJSONFor(cr.AppSlug)
	prs := []any{}
	for _, n := range sortedNumbers(r.issues) {
		is := r.issues[n]
		if is.PR != nil && is.State == "open" && s.prHeadSHALocked(is.PR) == cr.HeadSHA {
			prs = append(prs, s.prMinimalJSON(r, is))
		}
	}
	return map[string]any{
		"id": cr.ID, "node_id": nodeID("CR_", cr.ID), "head_sha": cr.HeadSHA, "external_id": cr.ExternalID,
		"url": api, "html_url": s.web(r.Owner, r.Name, "runs", strconv.FormatInt(cr.ID, 10)),
		"details_url": cr.DetailsURL, "status": cr.Status, "conclusion": concl,
		"started_at": opt(cr.StartedAt), "completed_at": opt(cr.CompletedAt), "name": cr.Name,
		"output": map[string]any{"title": str(cr.Output.Title), "summary": str(cr.Output.Summary), "text": str(cr.Output.Text),
			"annotations_count": len(cr.Output.Annotations), "annotations_url": api + "/annotations"},
		"check_suite": map[string]any{"id": cr.SuiteID}, "app": app, "pull_requests": prs, "actions": actions,
	}
}

func (s *Sim) prMinimalJSON(r *Repo, is *Issue) map[string]any {
	side := func(repo *Repo, ref string) map[string]any {
		return map[string]any{"ref": ref, "sha": repo.refs["refs/heads/"+ref],
			"repo": map[string]any{"id": repo.ID, "url": s.api("repos", repo.Owner, repo.Name), "name": repo.Name}}
	}
	head := s.repos[strings.ToLower(is.PR.HeadRepo)]
	return map[string]any{"id": is.PR.ID, "number": is.Number,
		"url":  s.api("repos", r.Owner, r.Name, "pulls", strconv.Itoa(is.Number)),
		"head": side(head, is.PR.HeadRef), "base": side(r, is.PR.BaseRef)}
}

// applyCheckRunBody applies create/update fields; it returns a problem GitHub
// would reject the request for.
func (c *call) applyCheckRunBody(cr *CheckRun) string {
	b := c.body
	if v, ok := b["name"].(string); ok {
		cr.Name = v
	}
	if v, ok := b["details_url"].(string); ok {
		cr.DetailsURL = v
	}
	if v, ok := b["external_id"].(string); ok {
		cr.ExternalID = v
	}
	if v, ok := b["status"].(string); ok {
		cr.Status = v
	}
	if v, ok := b["conclusion"].(string); ok {
		cr.Conclusion = v
		cr.Status = "completed"
	}
	if v, ok := b["started_at"].(string); ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "started_at is not an ISO 8601 timestamp"
		}
		cr.StartedAt = t
	}
	if v, ok := b["completed_at"].(string); ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "completed_at is not an ISO 8601 timestamp"
		}
		cr.CompletedAt = t
	}
	if o, ok := b["output"].(map[string]any); ok {
		cr.Output.Title, _ = o["title"].(string)
		cr.Output.Summary, _ = o["summary"].(string)
		cr.Output.Text, _ = o["text"].(string)
		if len(cr.Output.Summary) > 65535 {
			return "output.summary is longer than 65535 characters"
		}
		as, _ := o["annotations"].([]any)
		prev := cr.Output.Annotations
		cr.Output.Annotations = append([]CheckRunAnnotation(nil), prev...)
		for i, a := range as {
			m, _ := a.(map[string]any)
			n := func(k string) int { v, _ := num(m[k]); return int(v) }
			an := CheckRunAnnotation{StartLine: n("start_line"), EndLine: n("end_line"), StartColumn: n("start_column"), EndColumn: n("end_column")}
			an.Path, _ = m["path"].(string)
			an.AnnotationLevel, _ = m["annotation_level"].(string)
			an.Message, _ = m["message"].(string)
			an.Title, _ = m["title"].(string)
			an.RawDetails, _ = m["raw_details"].(string)
			_, sc := m["start_column"]
			_, ec := m["end_column"]
			if (sc || ec) && an.StartLine != an.EndLine {
				return fmt.Sprintf("output.annotations[%d]: start_column and end_column are only supported when start_line equals end_line", i)
			}
			cr.Output.Annotations = append(cr.Output.Annotations, an)
		}
	}
	if as, ok := b["actions"].([]any); ok {
		// GitHub: at most 3 actions; label <= 20, description <= 40,
		// identifier <= 20 characters.
		if len(as) > 3 {
			return "actions: at most 3 actions are allowed"
		}
		cr.Actions = nil
		for i, a := range as {
			m, _ := a.(map[string]any)
			act := CheckRunAction{}
			act.Label, _ = m["label"].(string)
			act.Description, _ = m["description"].(string)
			act.Identifier, _ = m["identifier"].(string)
			switch {
			case len([]rune(act.Label)) > 20:
				return fmt.Sprintf("actions[%d].label is longer than 20 characters", i)
			case len([]rune(act.Description)) > 40:
				return fmt.Sprintf("actions[%d].description is longer than 40 characters", i)
			case len([]rune(act.Identifier)) > 20:
				return fmt.Sprintf("actions[%d].identifier is longer than 20 characters", i)
			}
			cr.Actions = append(cr.Actions, act)
		}
	}
	if cr.Status == "completed" {
		if cr.Conclusion == "" {
			return "conclusion is required when status is completed"
		}
		if cr.CompletedAt.IsZero() {
			cr.CompletedAt = c.s.now()
		}
	}
	// GitHub sets started_at at creation even for a queued run (its
	// check_run webhook schema requires it).
	if cr.StartedAt.IsZero() {
		cr.StartedAt = c.s.now()
	}
	return ""
}

// suiteKey names the check suite of an app's runs on a SHA. A workflow run
// takes over its key for GitHub Actions (see newRunLocked): check runs that
// GitHub Actions adds afterwards on that SHA are the run's jobs.
func suiteKey(r *Repo, sha string, appID int64) string {
	return fmt.Sprintf("%s@%s@%d", r.FullName(), sha, appID)
}

func (s *Sim) suiteLocked(r *Repo, sha string, appID int64) int64 {
	k := suiteKey(r, sha, appID)
	if s.suites[k] == 0 {
		s.suites[k] = s.nextID("check_suite")
	}
	return s.suites[k]
}

func handleCreateCheckRun(c *call) (int, any) {
	s, r := c.s, c.repo
	sha, _ := c.body["head_sha"].(string)
	if s.commits[sha] == nil {
		return c.validationFailed("CheckRun", "head_sha", "invalid", "No commit found for SHA: "+sha)
	}
	cr := &CheckRun{Repo: r.FullName(), HeadSHA: sha, Status: "queued", AppID: s.opts.AppID, AppSlug: s.opts.AppSlug}
	if p := c.applyCheckRunBody(cr); p != "" {
		return c.invalid(p)
	}
	cr.ID = s.nextID("check_run")
	cr.SuiteID = s.suiteLocked(r, sha, cr.AppID)
	s.checkRuns = append(s.checkRuns, cr)
	s.sendCheckRunLocked(r, cr, "created", "", "")
	if cr.Status == "completed" {
		s.sendCheckRunLocked(r, cr, "completed", "", "")
		s.checkSuiteCompletedLocked(r, cr)
	}
	return http.StatusCreated, s.checkRunJSON(r, cr)
}

func (c *call) checkRunByID() *CheckRun {
	id, _ := strconv.ParseInt(c.params["check_run_id"], 10, 64)
	for _, cr := range c.s.checkRuns {
		if cr.ID == id && cr.Repo == c.repo.FullName() {
			return cr
		}
	}
	return nil
}

func handleUpdateCheckRun(c *call) (int, any) {
	cr := c.checkRunByID()
	if cr == nil {
		return notFound()
	}
	if cr.AppID != c.s.opts.AppID {
		return apiError(http.StatusForbidden, "Invalid app_id `"+strconv.FormatInt(c.s.opts.AppID, 10)+"` - check run can only be modified by the GitHub App that created it.")
	}
	before := *cr
	next := *cr
	if p := c.applyCheckRunBody(&next); p != "" {
		return c.invalid(p)
	}
	*cr = next
	if before.Status != "completed" && cr.Status == "completed" {
		c.s.sendCheckRunLocked(c.repo, cr, "completed", "", "")
		c.s.checkSuiteCompletedLocked(c.repo, cr)
	}
	return http.StatusOK, c.s.checkRunJSON(c.repo, cr)
}

func handleGetCheckRun(c *call) (int, any) {
	cr := c.checkRunByID()
	if cr == nil {
		return notFound()
	}
	return http.StatusOK, c.s.checkRunJSON(c.repo, cr)
}

func handleListCheckRuns(c *call) (int, any) {
	sha, _ := c.repo.resolveLocked(c.params["ref"])
	if sha == "" {
		return notFound()
	}
	var list []*CheckRun
	latest := map[string]bool{}
	for i := len(c.s.checkRuns) - 1; i >= 0; i-- {
		cr := c.s.checkRuns[i]
		if cr.Repo != c.repo.FullName() || cr.HeadSHA != sha {
			continue
		}
		if v := c.q.Get("check_name"); v != "" && v != cr.Name {
			continue
		}
		if v := c.q.Get("status"); v != "" && v != cr.Status {
			continue
		}
		if v := c.q.Get("app_id"); v != "" && v != strconv.FormatInt(cr.AppID, 10) {
			continue
		}
		key := fmt.Sprintf("%d/%s", cr.AppID, cr.Name)
		if c.q.Get("filter") != "all" && latest[key] {
			continue
		}
		latest[key] = true
		list = append(list, cr)
	}
	lo, hi := c.paginate(len(list))
	runs := []any{}
	for _, cr := range list[lo:hi] {
		runs = append(runs, c.s.checkRunJSON(c.repo, cr))
	}
	return http.StatusOK, map[string]any{"total_count": len(list), "check_runs": runs}
}

// AddCheckRun adds a check run by CI (app "github-actions") on sha and sends
// check_run created (and completed when conclusion is set, then
// check_suite completed when it was the suite's last incomplete run).
// status is queued, in_progress or completed.
func (r *Repo) AddCheckRun(sha, name, status, conclusion string) int64 {
	return r.AddCheckRunByApp(ciAppSlug, sha, name, status, conclusion)
}

// AddCheckRunByApp is AddCheckRun for the app appSlug (e.g. "circleci"); the
// runs of one app on one SHA form a check suite.
func (r *Repo) AddCheckRunByApp(appSlug, sha, name, status, conclusion string) int64 {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.commits[sha] == nil {
		panic("githubsim: unknown commit " + sha)
	}
	now := s.now()
	appID := s.appIDFor(appSlug)
	cr := &CheckRun{ID: s.nextID("check_run"), Repo: r.FullName(), HeadSHA: sha, Name: name, Status: status,
		Conclusion: conclusion, AppID: appID, AppSlug: appSlug, StartedAt: now}
	if conclusion != "" {
		cr.Status, cr.CompletedAt = "completed", now
	}
	cr.SuiteID = s.suiteLocked(r, sha, appID)
	s.checkRuns = append(s.checkRuns, cr)
	s.sendCheckRunLocked(r, cr, "created", "", "")
	if cr.Status == "completed" {
		s.sendCheckRunLocked(r, cr, "completed", "", "")
		s.checkSuiteCompletedLocked(r, cr)
	}
	s.notifyLocked()
	return cr.ID
}

// CompleteCheckRun completes a check run with conclusion and sends
// check_run completed (and check_suite completed when it was the suite's
// last incomplete run).
func (s *Sim) CompleteCheckRun(id int64, conclusion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cr := range s.checkRuns {
		if cr.ID == id {
			r := s.repos[strings.ToLower(cr.Repo)]
			cr.Status, cr.Conclusion, cr.CompletedAt = "completed", conclusion, s.now()
			s.sendCheckRunLocked(r, cr, "completed", "", "")
			s.checkSuiteCompletedLocked(r, cr)
			s.notifyLocked()
			return
		}
	}
	panic(fmt.Sprintf("githubsim: no check run %d", id))
}

// PressRequestedAction emulates login clicking the action button identifier
// on a check run and sends check_run requested_action (only to the app that
// created the run, as GitHub does).
func (s *Sim) PressRequestedAction(fullName string, checkRunID int64, login, identifier string) {
	r := s.mustRepo(fullName)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cr := range s.checkRuns {
		if cr.ID == checkRunID && cr.Repo == r.FullName() {
			s.userLocked(login)
			s.sendCheckRunLocked(r, cr, "requested_action", identifier, login)
			s.notifyLocked()
			return
		}
	}
	panic(fmt.Sprintf("githubsim: no check run %d in %s", checkRunID, fullName))
}

// CheckRuns returns the check runs on sha (all of them when sha is ""),
// oldest first.
func (s *Sim) CheckRuns(fullName, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, cr := range s.checkRuns {
		if strings.EqualFold(cr.Repo, fullName) && (sha == "" || cr.HeadSHA == sha) {
			cp := *cr
			cp.Actions = append([]CheckRunAction(nil), cr.Actions...)
			cp.Output.Annotations = append([]CheckRunAnnotation(nil), cr.Output.Annotations...)
			out = append(out, cp)
		}
	}
	return out
}

// CheckRun returns a check run by id.
func (s *Sim) CheckRun(id int64) (CheckRun, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cr := range s.checkRuns {
		if cr.ID == id {
			cp := *cr
			cp.Actions = append([]CheckRunAction(nil), cr.Actions...)
			cp.Output.Annotations = append([]CheckRunAnnotation(nil), cr.Output.Annotations...)
			return cp, true
		}
	}
	return CheckRun{}, false
}
