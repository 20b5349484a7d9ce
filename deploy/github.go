package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/store"
)

// status posts a deployment status with deploybot's log link.
func (r *run) status(ctx context.Context, state, description string) error {
	return r.statusWith(ctx, state, description, "")
}

func (r *run) statusWith(ctx context.Context, state, description, envURL string) error {
	if r.d.GitHubDeploymentID == 0 {
		return nil
	}
	req := &github.DeploymentStatusRequest{
		State:       github.String(state),
		Description: github.String(truncate(description, 140)),
	}
	if u := r.statusLogURL(); u != "" {
		req.LogURL = github.String(u)
	}
	if envURL != "" {
		req.EnvironmentURL = github.String(envURL)
	}
	_, _, err := r.gh.Repositories.CreateDeploymentStatus(ctx, r.owner, r.repo, r.d.GitHubDeploymentID, req)
	if err != nil {
		return fmt.Errorf("deployment status %s: %w", state, err)
	}
	return nil
}

func (r *run) updateComment(ctx context.Context) error {
	if r.d.CommentID == 0 {
		return nil
	}
	_, _, err := r.gh.Issues.EditComment(ctx, r.owner, r.repo, r.d.CommentID, &github.IssueComment{Body: github.String(r.record())})
	if err != nil && permanent(err) {
		// Someone deleted the comment or locked the conversation: the record
		// stays in the store and at log_url; the deployment goes on.
		r.log.Warn().Err(err).Msg("record comment can no longer be edited")
		r.d.CommentID = 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("update record comment: %w", err)
	}
	return nil
}

func checkRunName(env string) string { return "deploy/" + env }

// Rollback button limits, from GitHub's API: label ≤ 20, description ≤ 40.
const (
	rollbackIdentifier  = "rollback"
	rollbackLabel       = "Rollback"
	rollbackDescription = "Redeploy the previous good version"
)

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
	if !success && r.d.PreviousSHA != "" && r.d.GitHubDeploymentID != 0 {
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
	if _, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.owner, r.repo, r.d.CheckRunID, opts); err != nil {
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

func githubMessage(err error) string {
	var ge *github.ErrorResponse
	if errors.As(err, &ge) {
		return ge.Message
	}
	return err.Error()
}

func splitRepo(full string) (string, string) {
	owner, name, _ := strings.Cut(full, "/")
	return owner, name
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
