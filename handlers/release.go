package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// Release deploys published releases to the environments with on_release.
type Release struct{ *Base }

func (h *Release) Handles() []string { return []string{"release"} }

func (h *Release) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.ReleaseEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("release", err)
	}
	rel := event.GetRelease()
	if event.GetAction() != "published" || rel == nil || rel.GetDraft() {
		return nil
	}
	if err := require("release", field{"repository", event.GetRepo() != nil}, field{"installation", event.GetInstallation().GetID() != 0},
		field{"tag", rel.GetTagName() != ""}); err != nil {
		return err
	}
	repo := event.GetRepo()
	installationID := githubapp.GetInstallationIDFromEvent(&event)
	ctx, logger := githubapp.PrepareRepoContext(ctx, installationID, repo)
	logger.Info().Str("tag", rel.GetTagName()).Msg("release published")
	client, err := h.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("installation client: %w", err)
	}
	return h.Deploy.OnReleasePublished(ctx, client, deploy.PublishedRelease{
		Repo:    repoOf(repo, installationID),
		Release: deploy.ReleaseFrom(rel),
		Sender:  event.GetSender().GetLogin(),
	})
}

// repoOf is the pipeline's view of an event's repository.
func repoOf(repo *github.Repository, installationID int64) deploy.Repo {
	return deploy.Repo{Owner: repo.GetOwner().GetLogin(), Name: repo.GetName(), DefaultBranch: repo.GetDefaultBranch(), InstallationID: installationID}
}
