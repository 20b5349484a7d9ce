package handlers

import (
	"context"
	"encoding/json"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// WorkflowRun resumes deployments whose Actions executor step waits for
// the run it dispatched.
type WorkflowRun struct{ *Base }

func (h *WorkflowRun) Handles() []string { return []string{"workflow_run"} }

func (h *WorkflowRun) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.WorkflowRunEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("workflow_run", err)
	}
	if event.GetAction() != "completed" || event.GetWorkflowRun().GetEvent() != "workflow_dispatch" {
		return nil
	}
	if err := require("workflow_run", field{"repository", event.GetRepo().GetFullName() != ""}); err != nil {
		return err
	}
	repo := event.GetRepo()
	ctx, logger := githubapp.PrepareRepoContext(ctx, githubapp.GetInstallationIDFromEvent(&event), repo)
	logger.Debug().Int64("run", event.GetWorkflowRun().GetID()).Msg("workflow run completed")
	return h.Deploy.OnWorkflowRunCompleted(ctx, repo.GetFullName())
}
