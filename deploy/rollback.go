package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// RollbackPress is a press of the Rollback button on a deploy/<env> check run.
type RollbackPress struct {
	Owner, Repo, DefaultBranch string
	InstallationID             int64
	CheckRunID                 int64
	Actor                      string
}

// OnRollbackButton redeploys the version that was live before the failed
// deployment behind the check run, as a new deployment with task
// deploy:rollback, through the same pipeline and gates.
func (s *Service) OnRollbackButton(ctx context.Context, gh *github.Client, p RollbackPress) error {
	failed, err := s.Store.DeploymentByCheckRun(ctx, p.Owner+"/"+p.Repo, p.CheckRunID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // not a check run of ours
	}
	if err != nil {
		return err
	}
	say := func(msg string) error {
		if failed.PRNumber == 0 {
			return nil
		}
		return s.postReply(ctx, gh, p.Owner, p.Repo, failed.PRNumber, p.Actor, msg)
	}
	if failed.PreviousSHA == "" {
		return say("there is nothing to roll back to: nothing was live in `" + failed.Environment + "` before this deployment. Fix forward with a new `/deploy " + failed.Environment + "`.")
	}
	cfg, err := s.Config.Load(ctx, gh, p.Owner, p.Repo, p.DefaultBranch)
	var cfgErr *config.Error
	switch {
	case errors.Is(err, ErrNoConfig) || errors.As(err, &cfgErr):
		return say(fmt.Sprintf("I can't roll back: `%s` on `%s` is missing or invalid.", config.Path, p.DefaultBranch))
	case err != nil:
		return err
	}
	env, ok := cfg.Environment(failed.Environment)
	if !ok {
		return say("I can't roll back: `" + failed.Environment + "` is no longer in `" + config.Path + "`.")
	}
	role, err := s.Permission(ctx, gh, p.Owner, p.Repo, p.Actor)
	if err != nil {
		return err
	}
	perm, _ := checks.Permission{}.Evaluate(ctx, checks.Input{Environment: env, Actor: p.Actor, ActorRole: role})
	if perm.Verdict != checks.Pass {
		return say("you can't roll back `" + env.Name + "`: " + perm.Reason + ". Ask someone with that access to press Rollback.")
	}
	_, _, err = s.Start(ctx, Request{
		Owner: p.Owner, Repo: p.Repo, InstallationID: p.InstallationID, Environment: env,
		Ref: failed.PreviousSHA, SHA: failed.PreviousSHA, Task: TaskRollback, Trigger: "rollback-button",
		RequestedBy: p.Actor, PRNumber: failed.PRNumber, RollbackOf: failed.GitHubDeploymentID,
		// One rollback per failed deployment, however often the button is pressed.
		RequestKey: fmt.Sprintf("rollback-of:%d", failed.ID),
		Strategy:   "direct", Permission: perm,
	})
	var pe permanentError
	if errors.As(err, &pe) {
		return say("I can't roll back: " + pe.Error())
	}
	return err
}
