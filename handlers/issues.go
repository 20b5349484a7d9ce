package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// Issues hands issues opened or labelled to the monitoring windows: an
// issue with one of a window's labels is the user-reported breach signal.
type Issues struct{ *Base }

func (h *Issues) Handles() []string { return []string{"issues"} }

func (h *Issues) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.IssuesEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("issues", err)
	}
	if event.GetAction() != "opened" && event.GetAction() != "labeled" {
		return nil
	}
	if err := require("issues", field{"repository", event.GetRepo() != nil}, field{"installation", event.GetInstallation().GetID() != 0},
		field{"issue", event.GetIssue().GetNumber() != 0}, field{"sender", event.GetSender().GetLogin() != ""}); err != nil {
		return err
	}
	if event.GetIssue().IsPullRequest() {
		return nil
	}
	// opened: the labels it was opened with (by its author, or a template);
	// labeled: the label just applied, by whoever applied it.
	var labels []string
	if event.GetAction() == "labeled" {
		labels = append(labels, event.GetLabel().GetName())
	} else {
		for _, l := range event.GetIssue().Labels {
			labels = append(labels, l.GetName())
		}
	}
	if len(labels) == 0 {
		return nil
	}
	repo := event.GetRepo()
	installationID := githubapp.GetInstallationIDFromEvent(&event)
	ctx, _ = githubapp.PrepareRepoContext(ctx, installationID, repo)
	client, err := h.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("installation client: %w", err)
	}
	return h.Deploy.OnIssueReported(ctx, client, deploy.IssueReport{
		Owner: repo.GetOwner().GetLogin(), Repo: repo.GetName(), Number: event.GetIssue().GetNumber(),
		Author: event.GetSender().GetLogin(), Labels: labels,
	})
}
