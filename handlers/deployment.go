package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// Deployment sees every deployment created in the repository. Those that
// deploybot created itself (GitHub echoes them back) must not start a run;
// those someone else created for a configured environment are adopted.
type Deployment struct{ *Base }

func (h *Deployment) Handles() []string { return []string{"deployment"} }

func (h *Deployment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.DeploymentEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("deployment", err)
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
	if err := require("deployment", field{"repository", event.GetRepo() != nil}, field{"installation", event.GetInstallation().GetID() != 0},
		field{"deployment", event.GetDeployment().GetID() != 0}); err != nil {
		return err
	}
	installationID := githubapp.GetInstallationIDFromEvent(&event)
	ctx, logger := githubapp.PrepareRepoContext(ctx, installationID, event.GetRepo())
	own := event.GetDeployment().GetCreator().GetLogin() == h.botLogin() ||
		(via.Deployment.PerformedViaGitHubApp != nil && via.Deployment.PerformedViaGitHubApp.ID == h.AppID)
	if own {
		logger.Debug().Int64("deployment", event.GetDeployment().GetID()).Msg("own deployment echoed back; ignored")
		return nil
	}
	// go-github v62 does not decode the workflow_run of Actions deployments.
	var fromActions struct {
		WorkflowRun *struct {
			ID int64 `json:"id"`
		} `json:"workflow_run"`
	}
	_ = json.Unmarshal(payload, &fromActions)
	dep := event.GetDeployment()
	client, err := h.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("installation client: %w", err)
	}
	return h.Deploy.OnForeignDeployment(ctx, client, deploy.ForeignDeployment{
		Repo: repoOf(event.GetRepo(), installationID), ID: dep.GetID(), SHA: dep.GetSHA(), Ref: dep.GetRef(),
		Environment: dep.GetEnvironment(), Task: dep.GetTask(), Creator: dep.GetCreator().GetLogin(),
		FromWorkflow: fromActions.WorkflowRun != nil,
	})
}
