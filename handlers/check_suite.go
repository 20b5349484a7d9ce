package handlers

import (
	"context"
	"encoding/json"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// CheckSuite resumes deployments waiting for CI when another app's check
// suite on their commit completes.
type CheckSuite struct{ *Base }

func (h *CheckSuite) Handles() []string { return []string{"check_suite"} }

func (h *CheckSuite) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.CheckSuiteEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("check_suite", err)
	}
	if event.GetAction() != "completed" {
		return nil
	}
	return h.checksChanged(ctx, &event, event.GetCheckSuite().GetApp(), event.GetCheckSuite().GetHeadSHA())
}

// checksChanged hands a completed check (not deploybot's own: its gate
// check runs would wake the deployment that posted them) to the pipeline.
func (b *Base) checksChanged(ctx context.Context, event githubapp.InstallationSource, app *github.App, sha string) error {
	if app != nil && app.GetID() == b.AppID {
		return nil
	}
	repo := repositoryOf(event)
	if err := require("checks", field{"repository", repo.GetFullName() != ""}, field{"head SHA", sha != ""}); err != nil {
		return err
	}
	ctx, logger := githubapp.PrepareRepoContext(ctx, githubapp.GetInstallationIDFromEvent(event), repo)
	logger.Debug().Str("sha", sha).Msg("checks changed; resuming deployments waiting on this commit")
	return b.Deploy.OnCommitChecksChanged(ctx, repo.GetFullName(), sha)
}

// repositoryOf returns the repository of an event that has one.
func repositoryOf(event githubapp.InstallationSource) *github.Repository {
	if e, ok := event.(interface{ GetRepo() *github.Repository }); ok {
		return e.GetRepo()
	}
	return nil
}
