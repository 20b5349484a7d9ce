package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// DeploymentProtectionRule lets deploybot guard GitHub environments used
// by Actions: it runs the gates and approves or rejects the waiting run.
type DeploymentProtectionRule struct{ *Base }

func (h *DeploymentProtectionRule) Handles() []string { return []string{"deployment_protection_rule"} }

func (h *DeploymentProtectionRule) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.DeploymentProtectionRuleEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("deployment_protection_rule", err)
	}
	if event.GetAction() != "requested" {
		return nil
	}
	if err := require("deployment_protection_rule", field{"repository", event.GetRepo() != nil},
		field{"installation", event.GetInstallation().GetID() != 0}, field{"environment", event.GetEnvironment() != ""},
		field{"deployment_callback_url", event.GetDeploymentCallbackURL() != ""}); err != nil {
		return err
	}
	repo := event.GetRepo()
	installationID := githubapp.GetInstallationIDFromEvent(&event)
	ctx, logger := githubapp.PrepareRepoContext(ctx, installationID, repo)
	logger.Info().Str("environment", event.GetEnvironment()).Msg("protection rule requested")
	client, err := h.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("installation client: %w", err)
	}
	dep := event.GetDeployment()
	return h.Deploy.OnProtectionRule(ctx, client, deploy.ProtectionRequest{
		Repo: repoOf(repo, installationID), Environment: event.GetEnvironment(),
		CallbackURL: event.GetDeploymentCallbackURL(), DeploymentID: dep.GetID(),
		SHA: dep.GetSHA(), Ref: dep.GetRef(), Sender: event.GetSender().GetLogin(),
	})
}
