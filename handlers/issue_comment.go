package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// IssueComment runs commands written in new PR and issue comments.
type IssueComment struct{ *Base }

func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

func (h *IssueComment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.IssueCommentEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("issue_comment", err)
	}
	// Edited and deleted comments never run commands; nor do bots (including
	// deploybot itself).
	if event.GetAction() != "created" || event.GetSender().GetType() == "Bot" ||
		event.GetComment().GetUser().GetType() == "Bot" || event.GetComment().GetUser().GetLogin() == h.botLogin() {
		return nil
	}
	if err := require("issue_comment", field{"repository", event.GetRepo() != nil}, field{"installation", event.GetInstallation().GetID() != 0},
		field{"issue", event.GetIssue().GetNumber() != 0}, field{"comment", event.GetComment().GetID() != 0},
		field{"comment author", event.GetComment().GetUser().GetLogin() != ""}); err != nil {
		return err
	}
	repo := event.GetRepo()
	installationID := githubapp.GetInstallationIDFromEvent(&event)
	ctx, logger := githubapp.PrepareRepoContext(ctx, installationID, repo)
	logger.Debug().Int("issue", event.GetIssue().GetNumber()).Msg("comment received")

	client, err := h.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("installation client: %w", err)
	}
	return h.Deploy.OnComment(ctx, client, deploy.Comment{
		Owner:          repo.GetOwner().GetLogin(),
		Repo:           repo.GetName(),
		DefaultBranch:  repo.GetDefaultBranch(),
		InstallationID: installationID,
		Number:         event.GetIssue().GetNumber(),
		IsPullRequest:  event.GetIssue().IsPullRequest(),
		CommentID:      event.GetComment().GetID(),
		Author:         event.GetComment().GetUser().GetLogin(),
		Body:           event.GetComment().GetBody(),
	})
}
