package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"
)

// Actions of the web pages. Each is exactly the comment command the user
// could have written - the same config, permission and ownership checks -
// and answers with the text that comment would have got.

// Unlock is the Unlock button of an environment: `/unlock <env>` by user.
func (s *Service) Unlock(ctx context.Context, repo, env, user string) (string, error) {
	gh, c, err := s.asComment(ctx, repo, user)
	if err != nil {
		return "", fmt.Errorf("unlock: %w", err)
	}
	return s.unlockCommand(ctx, gh, c, Command{Name: CmdUnlock, Env: env})
}

// Intervene is the Promote or Abort button of an environment's deployment
// in flight: `/promote <env>` or `/abort <env>` by user.
func (s *Service) Intervene(ctx context.Context, repo, env, user, action string) (string, error) {
	if action != ActionPromote && action != ActionAbort {
		return "", fmt.Errorf("unknown action %q", action)
	}
	gh, c, err := s.asComment(ctx, repo, user)
	if err != nil {
		return "", fmt.Errorf("%s: %w", action, err)
	}
	msg, err := s.interventionCommand(ctx, gh, c, Command{Name: action, Env: env})
	if err != nil || msg != "" {
		return msg, err
	}
	if action == ActionPromote {
		return "Promoted: the rollout of `" + env + "` goes on.", nil
	}
	return "Aborting: the rollout of `" + env + "` stops at its next step and undoes what it changed.", nil
}

// asComment is what a comment by user on repo ("owner/name") would have
// been handled with: the installation's client and the comment's context.
func (s *Service) asComment(ctx context.Context, repo, user string) (*github.Client, Comment, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return nil, Comment{}, fmt.Errorf("%q is not owner/name", repo)
	}
	app, err := s.Clients.NewAppClient()
	if err != nil {
		return nil, Comment{}, err
	}
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, owner, name)
	if err != nil {
		return nil, Comment{}, fmt.Errorf("find the installation of %s: %w", repo, err)
	}
	gh, err := s.Clients.NewInstallationClient(inst.GetID())
	if err != nil {
		return nil, Comment{}, err
	}
	r, _, err := gh.Repositories.Get(ctx, owner, name)
	if err != nil {
		return nil, Comment{}, fmt.Errorf("read %s: %w", repo, err)
	}
	return gh, Comment{Owner: owner, Repo: name, DefaultBranch: r.GetDefaultBranch(), InstallationID: inst.GetID(), Author: user}, nil
}

// ExecutorOutputs is what a record's command steps printed (the end,
// secrets masked), for the record page of a user who can read the
// repository.
func ExecutorOutputs(rec *Record) []StepOutput { return commandOutputs(rec) }
