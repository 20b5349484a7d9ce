package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"
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
