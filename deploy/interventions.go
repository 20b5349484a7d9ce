package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// Promote and Abort: a human's say in a running rollout, from the
// deploy/<env> check run's buttons or from `/promote` and `/abort`. Both
// only record the decision and wake the deployment; its steps act on it.

// Intervention actions (also the buttons' requested-action identifiers).
const (
	ActionPromote = "promote"
	ActionAbort   = "abort"
)

// ButtonPress is a press of Promote or Abort on a deploy/<env> check run.
type ButtonPress struct {
	Owner, Repo, DefaultBranch string
	InstallationID             int64
	CheckRunID                 int64
	Actor                      string
	Action                     string // promote | abort
}

// OnRolloutButton handles Promote and Abort presses. A press that changes
// nothing (pressed twice, or after the phase moved on) gets no answer; a
// user without the environment's deploy permission gets one reply, within
// the reply budget of users on that pull request.
func (s *Service) OnRolloutButton(ctx context.Context, gh *github.Client, p ButtonPress) error {
	d, err := s.Store.DeploymentByCheckRun(ctx, p.Owner+"/"+p.Repo, p.CheckRunID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // not a check run of ours
	}
	if err != nil {
		return err
	}
	say := func(msg string) error {
		if d.PRNumber == 0 || msg == "" {
			return nil
		}
		return s.postReply(ctx, gh, p.Owner, p.Repo, d.PRNumber, p.Actor, msg)
	}
	cfg, err := s.Config.Load(ctx, gh, p.Owner, p.Repo, p.DefaultBranch)
	var cfgErr *config.Error
	switch {
	case errors.Is(err, ErrNoConfig) || errors.As(err, &cfgErr):
		return say(fmt.Sprintf("I can't %s: `%s` on `%s` is missing or invalid.", p.Action, config.Path, p.DefaultBranch))
	case err != nil:
		return err
	}
	env, ok := cfg.Environment(d.Environment)
	if !ok {
		return say("I can't " + p.Action + ": `" + d.Environment + "` is no longer in `" + config.Path + "`.")
	}
	role, err := s.Permission(ctx, gh, p.Owner, p.Repo, p.Actor)
	if err != nil {
		return err
	}
	perm, _ := checks.Permission{}.Evaluate(ctx, checks.Input{Environment: env, Actor: p.Actor, ActorRole: role})
	if perm.Verdict != checks.Pass {
		return say(fmt.Sprintf("you can't %s the deployment to `%s`: %s.", p.Action, env.Name, perm.Reason))
	}
	_, err = s.intervene(ctx, d, p.Actor, p.Action)
	return err
}

// interventionCommand runs `/promote [env]` or `/abort [env]` on the
// deployment holding env.
func (s *Service) interventionCommand(ctx context.Context, gh *github.Client, c Comment, cmd Command) (string, error) {
	cfg, msg, err := s.commentConfig(ctx, gh, c, cmd.Name)
	if cfg == nil {
		return msg, err
	}
	env, msg := resolveEnv(cfg, cmd.Env)
	if env == nil {
		return msg, nil
	}
	perm, _, err := s.mayDeploy(ctx, gh, c, env)
	if err != nil {
		return "", err
	}
	if perm.Verdict != checks.Pass {
		return "", &Refusal{fmt.Sprintf("you can't %s the deployment to `%s`: %s.", cmd.Name, env.Name, perm.Reason)}
	}
	holder, err := s.Store.LockHolder(ctx, c.Owner+"/"+c.Repo, env.Name)
	if err != nil {
		return "", err
	}
	if holder == 0 {
		return fmt.Sprintf("nothing to %s: no deployment to `%s` is in flight.", cmd.Name, env.Name), nil
	}
	d, err := s.Store.Deployment(ctx, holder)
	if err != nil {
		return "", err
	}
	return s.intervene(ctx, d, c.Author, cmd.Name)
}

// intervene records actor's decision on d and wakes it. The message says
// why nothing changed ("" when it did).
func (s *Service) intervene(ctx context.Context, d *store.Deployment, actor, action string) (string, error) {
	var msg string
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		resume := false
		switch action {
		case ActionPromote:
			steps, err := tx.Steps(ctx, d.ID)
			if err != nil {
				return err
			}
			if d.Step >= len(steps) || (steps[d.Step].Name != stepPause && steps[d.Step].Name != stepAnalysis) {
				msg = fmt.Sprintf("nothing to promote: deployment #%d to `%s` is not paused.", d.ID, d.Environment)
				return nil
			}
			if resume, err = tx.RequestPromote(ctx, d.ID, d.Step, actor); err != nil {
				return err
			}
			if !resume {
				msg = fmt.Sprintf("nothing to promote: deployment #%d to `%s` is not paused.", d.ID, d.Environment)
			}
		case ActionAbort:
			changed, woken, err := tx.RequestAbort(ctx, d.ID, "aborted by @"+actor)
			if err != nil {
				return err
			}
			if !changed {
				msg = fmt.Sprintf("nothing to abort: deployment #%d to `%s` has ended or is already being aborted.", d.ID, d.Environment)
			}
			resume = woken
		default:
			return fmt.Errorf("unknown intervention %q", action)
		}
		if !resume {
			return nil
		}
		return tx.Enqueue(ctx, StepArgs{DeploymentID: d.ID, Step: d.Step}, stepOpts(time.Time{}))
	})
	return msg, err
}
