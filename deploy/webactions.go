package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/store"
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

// Rollback is the Rollback button of an environment: `/rollback <env>` by
// user - the same config, permission, lock, target and window rules, and
// the same replies. Two things differ from the comment, because there is
// none: the request is keyed by the deployment it undoes (pressing twice
// starts one rollback, as the check run's button does), and its record goes
// to the pull request of that deployment. A permission refusal is a
// *Refusal.
func (s *Service) Rollback(ctx context.Context, repo, env, user string) (string, error) {
	gh, c, err := s.asComment(ctx, repo, user)
	if err != nil {
		return "", fmt.Errorf("rollback: %w", err)
	}
	// The button never forces: an admin can, with the comment.
	req, subject, msg, err := s.planRollback(ctx, gh, c, Command{Name: CmdRollback, Env: env})
	if req == nil {
		return msg, err
	}
	// Keyed by what it undoes: pressing twice starts one rollback, as
	// the check run's button does.
	req.Trigger, req.PRNumber = TriggerWeb, subject.PRNumber
	req.RequestKey = fmt.Sprintf("web-rollback-of:%d", subject.ID)
	d, created, err := s.Start(ctx, *req)
	var pe permanentError
	if errors.As(err, &pe) {
		return "I can't roll back: " + pe.Error(), nil
	}
	if err != nil {
		return "", err
	}
	if !created {
		return fmt.Sprintf("A rollback of `%s` to `%s` was already requested: deployment %d.", req.Environment.Name, short(req.SHA), d.ID), nil
	}
	return fmt.Sprintf("Rolling back `%s` to `%s`: deployment %d.", req.Environment.Name, short(req.SHA), d.ID), nil
}

// TriggerWeb is the trigger of a deployment started from deploybot's pages.
const TriggerWeb = "web"

// RollbackOffered says whether d's record page offers Rollback: d is what
// `/rollback <env>` would undo (the environment's newest finished
// deployment that changed it), nothing is in flight there, and there is a
// version to return to. Never for a dry run.
func (s *Service) RollbackOffered(ctx context.Context, d *store.Deployment) (bool, error) {
	if d.Task == TaskDryRun || !d.Ended() {
		return false, nil
	}
	flying, err := s.Store.Unfinished(ctx, d.Repo)
	if err != nil {
		return false, err
	}
	for _, f := range flying {
		if f.Environment == d.Environment {
			return false, nil
		}
	}
	subject, err := s.rollbackSubject(ctx, d.Repo, d.Environment)
	if err != nil || subject == nil || subject.ID != d.ID {
		return false, err
	}
	sha, err := s.previousGood(ctx, subject)
	return sha != "", err
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
