package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/internal/pacer"
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
	if description == ExternalReadyDescription {
		// Not mere progress: an external deployer starts on this status.
		ctx = pacer.WithPriority(ctx, pacer.Normal)
	}
	_, _, err := r.gh.Repositories.CreateDeploymentStatus(ctx, r.owner, r.repo, r.d.GitHubDeploymentID, req)
	if errors.Is(err, pacer.ErrDropped) {
		return nil // a queued or in_progress status, not sent under write pressure
	}
	if err != nil {
		return fmt.Errorf("deployment status %s: %w", state, err)
	}
	return nil
}

func (r *run) updateComment(ctx context.Context) error {
	if r.d.CommentID == 0 {
		return nil
	}
	// An intermediate edit may be dropped under write pressure: the final
	// one (the record shows the end state) carries the newest body anyway.
	_, _, err := r.gh.Issues.EditComment(recordPriority(ctx, r.d), r.owner, r.repo, r.d.CommentID,
		&github.IssueComment{Body: github.String(r.record())})
	if errors.Is(err, pacer.ErrDropped) {
		return nil
	}
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

// recordPriority marks a write of the record comment for the write pacer:
// final once the deployment is done (it shows the end state, never
// dropped), intermediate before.
func recordPriority(ctx context.Context, d *store.Deployment) context.Context {
	if d.Done() {
		return pacer.WithPriority(ctx, pacer.Final)
	}
	return pacer.WithPriority(ctx, pacer.Droppable)
}

func checkRunName(env string) string { return "deploy/" + env }

// Rollback button limits, from GitHub's API: label ≤ 20, description ≤ 40.
const (
	rollbackIdentifier  = "rollback"
	rollbackLabel       = "Rollback"
	rollbackDescription = "Redeploy the previous good version"
)

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
