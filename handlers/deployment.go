package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// Deployment sees every deployment created in the repository. Those that
// deploybot created itself (GitHub echoes them back) must not start a run.
type Deployment struct{ *Base }

func (h *Deployment) Handles() []string { return []string{"deployment"} }

func (h *Deployment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.DeploymentEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return fmt.Errorf("decode deployment: %w", err)
	}
	// go-github v62 does not decode deployment.performed_via_github_app.
	var via struct {
		Deployment struct {
			PerformedViaGitHubApp *struct {
				ID int64 `json:"id"`
			} `json:"performed_via_github_app"`
		} `json:"deployment"`
	}
	_ = json.Unmarshal(payload, &via)
	installationID := githubapp.GetInstallationIDFromEvent(&event)
	_, logger := githubapp.PrepareRepoContext(ctx, installationID, event.GetRepo())
	own := event.GetDeployment().GetCreator().GetLogin() == h.botLogin() ||
		(via.Deployment.PerformedViaGitHubApp != nil && via.Deployment.PerformedViaGitHubApp.ID == h.AppID)
	if own {
		logger.Debug().Int64("deployment", event.GetDeployment().GetID()).Msg("own deployment echoed back; ignored")
		return nil
	}
	// Deployments created by other tools become a trigger in a later
	// iteration (DESIGN.md §2); until then they are only logged.
	logger.Info().Int64("deployment", event.GetDeployment().GetID()).Str("environment", event.GetDeployment().GetEnvironment()).
		Msg("deployment created outside deploybot; not handled yet")
	return nil
}
