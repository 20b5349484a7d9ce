package deploy

import (
	"context"
	"fmt"
	"strings"
)

// Actions of the web pages. Each is exactly the comment command the user
// could have written - the same config, permission and ownership checks -
// and answers with the text that comment would have got.

// Unlock is the Unlock button of an environment: `/unlock <env>` by user.
func (s *Service) Unlock(ctx context.Context, repo, env, user string) (string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return "", fmt.Errorf("unlock: %q is not owner/name", repo)
	}
	app, err := s.Clients.NewAppClient()
	if err != nil {
		return "", fmt.Errorf("unlock %s: %w", repo, err)
	}
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, owner, name)
	if err != nil {
		return "", fmt.Errorf("unlock %s: find the installation: %w", repo, err)
	}
	gh, err := s.Clients.NewInstallationClient(inst.GetID())
	if err != nil {
		return "", fmt.Errorf("unlock %s: %w", repo, err)
	}
	r, _, err := gh.Repositories.Get(ctx, owner, name)
	if err != nil {
		return "", fmt.Errorf("unlock %s: read the repository: %w", repo, err)
	}
	c := Comment{Owner: owner, Repo: name, DefaultBranch: r.GetDefaultBranch(), InstallationID: inst.GetID(), Author: user}
	return s.unlockCommand(ctx, gh, c, Command{Name: CmdUnlock, Env: env})
}

// ExecutorOutputs is what a record's command steps printed (the end,
// secrets masked), for the record page of a user who can read the
// repository.
func ExecutorOutputs(rec *Record) []StepOutput { return commandOutputs(rec) }
