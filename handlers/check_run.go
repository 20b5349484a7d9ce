package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// CheckRun handles presses of the Rollback, Promote and Abort buttons on deploy/<env> check runs,
// and other apps' completed check runs, which may unblock deployments
// waiting for CI.
type CheckRun struct{ *Base }

func (h *CheckRun) Handles() []string { return []string{"check_run"} }

func (h *CheckRun) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.CheckRunEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("check_run", err)
	}
	if event.GetAction() == "completed" {
		return h.checksChanged(ctx, &event, event.GetCheckRun().GetApp(), event.GetCheckRun().GetHeadSHA())
	}
	if event.GetAction() != "requested_action" || event.GetRequestedAction() == nil {
		return nil
	}
	action := event.GetRequestedAction().Identifier
	if action != "rollback" && action != deploy.ActionPromote && action != deploy.ActionAbort {
		return nil
	}
	if err := require("check_run", field{"repository", event.GetRepo() != nil}, field{"installation", event.GetInstallation().GetID() != 0},
		field{"check_run", event.GetCheckRun().GetID() != 0}, field{"sender", event.GetSender().GetLogin() != ""}); err != nil {
		return err
	}
	if app := event.GetCheckRun().GetApp(); app != nil && app.GetID() != h.AppID {
		return nil // another app's check run
	}
	repo := event.GetRepo()
	installationID := githubapp.GetInstallationIDFromEvent(&event)
	ctx, logger := githubapp.PrepareRepoContext(ctx, installationID, repo)
	logger.Info().Int64("check_run", event.GetCheckRun().GetID()).Str("actor", event.GetSender().GetLogin()).Msg(action + " requested")

	client, err := h.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("installation client: %w", err)
	}
	if action != "rollback" {
		return h.Deploy.OnRolloutButton(ctx, client, deploy.ButtonPress{
			Owner: repo.GetOwner().GetLogin(), Repo: repo.GetName(), DefaultBranch: repo.GetDefaultBranch(),
			InstallationID: installationID, CheckRunID: event.GetCheckRun().GetID(),
			Actor: event.GetSender().GetLogin(), Action: action,
		})
	}
	return h.Deploy.OnRollbackButton(ctx, client, deploy.RollbackPress{
		Owner:          repo.GetOwner().GetLogin(),
		Repo:           repo.GetName(),
		DefaultBranch:  repo.GetDefaultBranch(),
		InstallationID: installationID,
		CheckRunID:     event.GetCheckRun().GetID(),
		Actor:          event.GetSender().GetLogin(),
	})
}
