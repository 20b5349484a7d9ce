package deploy

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// waitState is what an executor step that waits for another system keeps
// between wakes (the step's result).
type waitState struct {
	TimerSet     bool      `json:"timer_set,omitempty"`
	DispatchedAt time.Time `json:"dispatched_at,omitzero"` // actions: workflow_dispatch sent
	RunID        int64     `json:"run_id,omitempty"`       // actions: the run found for it
	RunURL       string    `json:"run_url,omitempty"`
	AcceptedAt   time.Time `json:"accepted_at,omitzero"` // webhook: the executor answered 202
}

func (r *run) waitState() waitState {
	var w waitState
	_ = json.Unmarshal([]byte(r.st.Result), &w)
	return w
}

// await parks the step until an event wakes the deployment, or until
// deadline, when a durable timer does (set once per step).
func (r *run) await(w waitState, deadline time.Time, detail string) outcome {
	o := outcome{kind: outcomeAwait, detail: detail}
	if !w.TimerSet {
		w.TimerSet = true
		o.after = max(deadline.Sub(r.svc.now()), 0) + time.Second
	}
	o.result = w
	return o
}

// executeExternal lets another system deploy: deploybot announces that the
// gates passed with an in_progress status and waits for that system's
// final status on the deployment (success, failure or error), woken by its
// deployment_status webhook.
func (r *run) executeExternal(ctx context.Context) (outcome, error) {
	w := r.waitState()
	timeout := r.env.Executor.External.Timeout.Duration
	if timeout <= 0 {
		timeout = time.Hour
	}
	deadline := r.st.StartedAt.Add(timeout)
	if !w.TimerSet {
		if err := r.status(ctx, "in_progress", ExternalReadyDescription); err != nil {
			return outcome{}, err
		}
	}
	statuses, _, err := r.gh.Repositories.ListDeploymentStatuses(ctx, r.owner, r.repo, r.d.GitHubDeploymentID, &github.ListOptions{PerPage: 30})
	if err != nil {
		return outcome{}, fmt.Errorf("read statuses of deployment %d: %w", r.d.GitHubDeploymentID, err)
	}
	for _, st := range statuses { // newest first
		if st.GetCreator().GetLogin() == r.svc.botLogin() {
			continue
		}
		switch st.GetState() {
		case "success":
			return outcome{kind: outcomeDone, detail: "external deployer reported success: " + st.GetDescription(), result: w}, nil
		case "failure", "error":
			reason := fmt.Sprintf("external deployer (@%s) reported %s: %s", st.GetCreator().GetLogin(), st.GetState(), st.GetDescription())
			return outcome{kind: outcomeFail, reason: reason, detail: reason, result: w}, nil
		}
	}
	if !r.svc.now().Before(deadline) {
		return fail(fmt.Sprintf("the external deployer reported no final status within %s", timeout)), nil
	}
	return r.await(w, deadline, "waiting for the external deployer's status"), nil
}

// ExternalReadyDescription is the in_progress status an external deployer
// acts on: gates passed, the backup is tagged, deploy now.
const ExternalReadyDescription = "Gates passed: ready for the external deployer"

func (s *Service) botLogin() string { return s.AppSlug + "[bot]" }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// statusLogURL is the log_url of deployment statuses: the Actions run that
// deploys, once there is one, else deploybot's page for the deployment.
func (r *run) statusLogURL() string {
	url := r.svc.logURL(r.d.ID)
	for i := range r.steps { // by pointer: a step's other fields may be changing (commentStep)
		st := &r.steps[i]
		res := st.Result
		if st.Index == r.st.Index {
			res = r.st.Result
		}
		var w waitState
		if st.Name == stepExecute && json.Unmarshal([]byte(res), &w) == nil && w.RunURL != "" {
			url = w.RunURL
		}
	}
	return url
}

// executeActions runs a step as a workflow_dispatch of the configured
// workflow and waits, woken by workflow_run webhooks, for the run it started
// to complete; the run's conclusion decides.
func (r *run) executeActions(ctx context.Context, spec ExecSpec) (outcome, error) {
	return r.runWorkflow(ctx, r.env.Executor.Actions, spec, true)
}

// runWorkflow dispatches cfg's workflow for this step and waits for the
// run it started; deploying says the run deploys (its in_progress status
// links the run), not merely verifies.
func (r *run) runWorkflow(ctx context.Context, cfg *config.ActionsExecutor, spec ExecSpec, deploying bool) (outcome, error) {
	w := r.waitState()
	timeout := cfg.Timeout.Duration
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	deadline := r.st.StartedAt.Add(timeout)
	if w.DispatchedAt.IsZero() && r.recovering {
		// An interrupted attempt may have dispatched already: a run created
		// since the step started is ours.
		if run, err := r.findDispatchedRun(ctx, cfg, r.st.StartedAt.Add(-time.Minute)); err != nil {
			return outcome{}, err
		} else if run != nil {
			w.DispatchedAt, w.RunID, w.RunURL = r.st.StartedAt, run.GetID(), run.GetHTMLURL()
		}
	}
	if w.DispatchedAt.IsZero() {
		at, err := r.dispatch(ctx, cfg, spec)
		if err != nil {
			if permanent(err) {
				return fail("GitHub refused the workflow dispatch of " + cfg.Workflow + ": " + githubMessage(err)), nil
			}
			return outcome{}, err
		}
		w.DispatchedAt = at
	}
	if w.RunID == 0 {
		run, err := r.findDispatchedRun(ctx, cfg, w.DispatchedAt)
		if err != nil {
			return outcome{}, err
		}
		if run != nil {
			w.RunID, w.RunURL = run.GetID(), run.GetHTMLURL()
		}
		if run != nil && deploying {
			// The deployment's in_progress status: it links the run a human
			// watches (statusLogURL).
			r.st.Result = mustJSON(w)
			if err := r.status(ctx, "in_progress", fmt.Sprintf("Workflow run %d is deploying %s", run.GetID(), r.d.Environment)); err != nil {
				return outcome{}, err
			}
		}
	}
	if w.RunID != 0 {
		run, _, err := r.gh.Actions.GetWorkflowRunByID(ctx, r.owner, r.repo, w.RunID)
		if err != nil {
			return outcome{}, fmt.Errorf("read workflow run %d: %w", w.RunID, err)
		}
		if run.GetStatus() == "completed" {
			if run.GetConclusion() == "success" {
				return outcome{kind: outcomeDone, detail: "workflow run " + w.RunURL + " succeeded", result: w}, nil
			}
			reason := fmt.Sprintf("workflow run %s concluded %s", w.RunURL, run.GetConclusion())
			return outcome{kind: outcomeFail, reason: reason, detail: reason, result: w}, nil
		}
	}
	if !r.svc.now().Before(deadline) {
		return outcome{kind: outcomeFail, reason: fmt.Sprintf("the %s run did not complete within %s", cfg.Workflow, timeout), result: w}, nil
	}
	return r.await(w, deadline, "waiting for workflow "+cfg.Workflow), nil
}

// dispatch sends workflow_dispatch with deploybot's inputs and the
// configured ones, and returns when GitHub took it, by GitHub's clock (the
// answer's Date, whole seconds like run timestamps). Inputs are data for the
// workflow; deploybot never runs them.
func (r *run) dispatch(ctx context.Context, cfg *config.ActionsExecutor, spec ExecSpec) (time.Time, error) {
	ref := cmp.Or(cfg.Ref, r.rc.DefaultBranch)
	if ref == "" {
		repo, _, err := r.gh.Repositories.Get(ctx, r.owner, r.repo)
		if err != nil {
			return time.Time{}, fmt.Errorf("read default branch: %w", err)
		}
		ref = repo.GetDefaultBranch()
	}
	step, _ := json.Marshal(r.stepJSON(spec))
	inputs := map[string]any{}
	for k, v := range cfg.Inputs {
		inputs[k] = v
	}
	inputs["deployment_id"] = fmt.Sprint(r.d.GitHubDeploymentID)
	inputs["sha"] = r.d.SHA
	inputs["environment"] = r.d.Environment
	inputs["step"] = string(step)
	before := r.svc.now().Truncate(time.Second)
	resp, err := r.gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, r.owner, r.repo, cfg.Workflow,
		github.CreateWorkflowDispatchEventRequest{Ref: ref, Inputs: inputs})
	if err != nil {
		return time.Time{}, fmt.Errorf("dispatch %s at %s: %w", cfg.Workflow, ref, err)
	}
	if at, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		return at.UTC(), nil
	}
	return before, nil
}

// findDispatchedRun returns the oldest workflow_dispatch run of the
// workflow created at or after since (GitHub's clock) that no other
// deployment step follows, or nil. GitHub's dispatch answer carries no run
// id, so runs are matched by workflow, event and time.
func (r *run) findDispatchedRun(ctx context.Context, cfg *config.ActionsExecutor, since time.Time) (*github.WorkflowRun, error) {
	runs, _, err := r.gh.Actions.ListWorkflowRunsByFileName(ctx, r.owner, r.repo, cfg.Workflow, &github.ListWorkflowRunsOptions{
		Event: "workflow_dispatch", Created: ">=" + since.UTC().Format(time.RFC3339),
		ListOptions: github.ListOptions{PerPage: 50}})
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", cfg.Workflow, err)
	}
	var found *github.WorkflowRun
	for _, run := range runs.WorkflowRuns {
		if run.GetCreatedAt().Before(since) || !strings.EqualFold(run.GetEvent(), "workflow_dispatch") {
			continue
		}
		if found != nil && !run.GetCreatedAt().Before(found.GetCreatedAt().Time) {
			continue
		}
		claimed, err := r.svc.Store.RunClaimed(ctx, r.d.Repo, run.GetID(), r.d.ID, r.st.Index)
		if err != nil {
			return nil, err
		}
		if !claimed {
			found = run
		}
	}
	return found, nil
}
