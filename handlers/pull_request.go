package handlers

import (
	"context"
	"encoding/json"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// PullRequest watches pull request heads: a push to a PR cancels its
// deployments that still wait on the old head (commit safety).
type PullRequest struct{ *Base }

func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

func (h *PullRequest) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.PullRequestEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("pull_request", err)
	}
	if event.GetAction() != "synchronize" {
		return nil
	}
	if err := require("pull_request", field{"repository", event.GetRepo() != nil}, field{"number", event.GetNumber() != 0},
		field{"head SHA", event.GetPullRequest().GetHead().GetSHA() != ""}); err != nil {
		return err
	}
	repo := event.GetRepo()
	ctx, logger := githubapp.PrepareRepoContext(ctx, githubapp.GetInstallationIDFromEvent(&event), repo)
	head := event.GetPullRequest().GetHead().GetSHA()
	logger.Debug().Int("pr", event.GetNumber()).Str("head", head).Msg("pull request head moved")
	return h.Deploy.OnPullRequestHeadMoved(ctx, deploy.PullRequestHead{
		Owner: repo.GetOwner().GetLogin(), Repo: repo.GetName(), Number: event.GetNumber(), SHA: head,
	})
}
