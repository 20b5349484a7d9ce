package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// Push validates .github/deploy.yml when a push to the default branch
// touches it, and reports the result as the check run deploy/config.
type Push struct{ *Base }

func (h *Push) Handles() []string { return []string{"push"} }

func (h *Push) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.PushEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("push", err)
	}
	repo := event.GetRepo()
	if event.GetDeleted() || repo.GetDefaultBranch() == "" || event.GetRef() != "refs/heads/"+repo.GetDefaultBranch() {
		return nil
	}
	if err := require("push", field{"repository", repo.GetName() != "" && repo.GetOwner().GetLogin() != ""},
		field{"installation", event.GetInstallation().GetID() != 0}, field{"after", event.GetAfter() != ""}); err != nil {
		return err
	}
	var touched []string
	for _, c := range event.Commits {
		if c == nil {
			continue
		}
		touched = append(append(append(touched, c.Added...), c.Modified...), c.Removed...)
	}
	installationID := githubapp.GetInstallationIDFromEvent(&event)
	// PushEvent carries its own repository type; the logging context needs
	// only the names.
	ctx, _ = githubapp.PrepareRepoContext(ctx, installationID, &github.Repository{
		ID: repo.ID, Name: repo.Name, FullName: repo.FullName, Owner: &github.User{Login: github.String(repo.GetOwner().GetLogin())}})
	client, err := h.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("installation client: %w", err)
	}
	return h.Deploy.OnDefaultBranchPush(ctx, client, deploy.Push{
		Owner: repo.GetOwner().GetLogin(), Repo: repo.GetName(), HeadSHA: event.GetAfter(), Touched: touched,
	})
}
