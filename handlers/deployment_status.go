package handlers

import (
	"context"
	"encoding/json"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// DeploymentStatus receives the statuses GitHub echoes back. deploybot's own
// are history it already recorded; external executors report through this
// event in a later iteration.
type DeploymentStatus struct{ *Base }

func (h *DeploymentStatus) Handles() []string { return []string{"deployment_status"} }

func (h *DeploymentStatus) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.DeploymentStatusEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("deployment_status", err)
	}
	if event.GetDeploymentStatus().GetCreator().GetLogin() == h.botLogin() {
		return nil // deploybot's own status, echoed back
	}
	if err := require("deployment_status", field{"repository", event.GetRepo() != nil}, field{"deployment", event.GetDeployment().GetID() != 0}); err != nil {
		return err
	}
	ctx, logger := githubapp.PrepareRepoContext(ctx, githubapp.GetInstallationIDFromEvent(&event), event.GetRepo())
	logger.Debug().Int64("deployment", event.GetDeployment().GetID()).Str("state", event.GetDeploymentStatus().GetState()).
		Msg("deployment status from another system")
	return h.Deploy.OnDeploymentStatusReported(ctx, event.GetRepo().GetFullName(), event.GetDeployment().GetID())
}
