package deploy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// The summary check run deploy/<env> carries overall_status and the table
// of gates; it is written as few times as GitHub's write budget asks: created
// when the gates first report (in progress, or waiting), completed when the
// deployment ends — or, for a deployment its gates blocked, created once at
// the end, already completed.

// summaryOnly names the gates shown only in the summary deploy/<env>: they
// are decided before anything waits, so a check run of their own would cost
// a write per deployment and tell nothing the summary's table does not.
func summaryOnly(gate string) bool { return gate == "permission" || gate == "lock" }

// syncSummary creates the summary check run deploy/<env>, or updates its
// title and table while gates change.
func (r *run) syncSummary(ctx context.Context, overall checks.Verdict) error {
	title := "overall_status=" + string(overall)
	if overall == checks.Wait {
		title = "waiting for " + waitingFor(r.gateStates())
	}
	if r.recovering && r.d.CheckRunID == 0 {
		found, err := r.ownCheckRuns(ctx)
		if err != nil {
			return err
		}
		r.d.CheckRunID = found[fmt.Sprint(r.d.ID)]
	}
	out := &github.CheckRunOutput{Title: github.String(truncate(title, 255)), Summary: github.String(truncate(r.checkSummary(), 65000))}
	var actions []*github.CheckRunAction
	if r.progressive() && overall != checks.Block {
		actions = []*github.CheckRunAction{abortAction} // a rollout can be stopped from the start
	}
	if r.d.CheckRunID != 0 {
		_, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.owner, r.repo, r.d.CheckRunID, github.UpdateCheckRunOptions{
			Name: checkRunName(r.d.Environment), Output: out, Actions: actions})
		if err != nil {
			return fmt.Errorf("update check run %s: %w", checkRunName(r.d.Environment), err)
		}
		return nil
	}
	cr, _, err := r.gh.Checks.CreateCheckRun(ctx, r.owner, r.repo, github.CreateCheckRunOptions{
		Name: checkRunName(r.d.Environment), HeadSHA: r.d.SHA, ExternalID: github.String(fmt.Sprint(r.d.ID)),
		Status: github.String("in_progress"), StartedAt: &github.Timestamp{Time: r.d.CreatedAt}, Output: out,
		DetailsURL: r.detailsURL(), Actions: actions,
	})
	if err != nil {
		return fmt.Errorf("create check run %s: %w", checkRunName(r.d.Environment), err)
	}
	r.d.CheckRunID = cr.GetID()
	return nil
}

// completeCheckRun gives the summary check run deploy/<env> its conclusion
// (and the Rollback button after a failure). A deployment its gates blocked
// has no summary yet: it is created here, already completed.
func (r *run) completeCheckRun(ctx context.Context, success bool) error {
	if r.d.CheckRunID == 0 && r.gatesBlocked() && r.recovering {
		found, err := r.ownCheckRuns(ctx)
		if err != nil {
			return err
		}
		r.d.CheckRunID = found[fmt.Sprint(r.d.ID)]
	}
	if r.d.CheckRunID == 0 && !r.gatesBlocked() {
		return nil
	}
	conclusion := "success"
	if !success {
		conclusion = "failure"
	}
	overall := checks.Overall(r.gateResults())
	if overall == checks.Wait {
		overall = checks.Pass
	}
	opts := github.UpdateCheckRunOptions{
		Name:        checkRunName(r.d.Environment),
		Status:      github.String("completed"),
		Conclusion:  github.String(conclusion),
		CompletedAt: &github.Timestamp{Time: r.svc.now()},
		Output: &github.CheckRunOutput{
			Title:   github.String("overall_status=" + string(overall)),
			Summary: github.String(truncate(r.checkSummary(), 65000)),
		},
	}
	keptPrevious := success && r.d.Strategy == config.StrategyBlueGreen && r.rc.LiveSlotSHA != "" && r.d.Task != TaskRollback
	if (!success || keptPrevious) && r.d.PreviousSHA != "" && r.d.GitHubDeploymentID != 0 {
		// After a failure — and for keep_previous after a blue-green switch,
		// when rolling back is one switch — the button rolls back.
		opts.Actions = []*github.CheckRunAction{{
			Label: rollbackLabel, Description: rollbackDescription, Identifier: rollbackIdentifier,
		}}
	}
	if r.d.CheckRunID == 0 {
		cr, _, err := r.gh.Checks.CreateCheckRun(ctx, r.owner, r.repo, github.CreateCheckRunOptions{
			Name: opts.Name, HeadSHA: r.d.SHA, ExternalID: github.String(fmt.Sprint(r.d.ID)),
			Status: opts.Status, Conclusion: opts.Conclusion, StartedAt: &github.Timestamp{Time: r.d.CreatedAt},
			CompletedAt: opts.CompletedAt, Output: opts.Output, Actions: opts.Actions, DetailsURL: r.detailsURL(),
		})
		if err != nil {
			return fmt.Errorf("create completed check run: %w", err)
		}
		r.d.CheckRunID = cr.GetID()
		return nil
	}
	if len(opts.Actions) == 0 && r.progressive() {
		// The rollout's Abort/Promote buttons must go: go-github leaves an
		// empty list out, so this update is sent as it is.
		return r.updateCheckRunClearingActions(ctx, opts)
	}
	if _, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.owner, r.repo, r.d.CheckRunID, opts); err != nil {
		return fmt.Errorf("complete check run: %w", err)
	}
	return nil
}

// updateCheckRunClearingActions sends opts with `"actions": []`.
func (r *run) updateCheckRunClearingActions(ctx context.Context, opts github.UpdateCheckRunOptions) error {
	b, err := json.Marshal(opts)
	if err != nil {
		return err
	}
	body := map[string]any{}
	if err := json.Unmarshal(b, &body); err != nil {
		return err
	}
	body["actions"] = []any{}
	req, err := r.gh.NewRequest("PATCH", fmt.Sprintf("repos/%s/%s/check-runs/%d", r.owner, r.repo, r.d.CheckRunID), body)
	if err != nil {
		return err
	}
	if _, err := r.gh.Do(ctx, req, nil); err != nil {
		return fmt.Errorf("complete check run: %w", err)
	}
	return nil
}

// gatesBlocked reports whether the gates step ended the deployment with a
// BLOCK (it then leaves the summary check run to finish).
func (r *run) gatesBlocked() bool {
	for _, st := range r.steps {
		if st.Name == stepGates {
			return st.State == store.StepFailed && checks.Overall(r.gateResults()) == checks.Block
		}
	}
	return false
}

func (r *run) detailsURL() *string {
	if u := r.svc.logURL(r.d.ID); u != "" {
		return github.String(u)
	}
	return nil
}
