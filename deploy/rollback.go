package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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

// previousGood is the version a rollback of deployment from returns to:
// what was live before it (its backup step's finding), unless from was
// itself a rollback; otherwise the newest earlier successful deployment of
// the environment with another SHA that was never rolled back. "" means
// there is nothing to roll back to. The Rollback button and /rollback share it.
func (s *Service) previousGood(ctx context.Context, from *store.Deployment) (string, error) {
	if from.Task != TaskRollback && from.PreviousSHA != "" && from.PreviousSHA != from.SHA {
		return from.PreviousSHA, nil
	}
	d, err := s.Store.PreviousGood(ctx, from.Repo, from.Environment, from.ID, from.SHA)
	if err != nil || d == nil {
		return "", err
	}
	return d.SHA, nil
}

// rollbackSubject is the deployment a /rollback of env undoes: the newest
// finished one that changed the environment (a success, or a failure that
// got as far as the executor). nil when there is none.
func (s *Service) rollbackSubject(ctx context.Context, repo, env string) (*store.Deployment, error) {
	recent, err := s.Store.RecentFinished(ctx, repo, env, 20)
	if err != nil {
		return nil, err
	}
	for _, d := range recent {
		if d.State == store.StateSuccess {
			return d, nil
		}
		steps, err := s.Store.Steps(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		for _, st := range steps {
			if st.Name == stepExecute && st.State != store.StepPending && st.State != store.StepSkipped {
				return d, nil
			}
		}
	}
	return nil, nil
}

// rollbackRequest is the deploy:rollback request returning env to sha
// (named ref) from the deployment subject.
func rollbackRequest(subject *store.Deployment, env *config.Environment, ref, sha string) Request {
	owner, repo := splitRepo(subject.Repo)
	return Request{
		Owner: owner, Repo: repo, InstallationID: subject.InstallationID, Environment: env,
		Ref: ref, SHA: sha, Task: TaskRollback, RollbackOf: subject.GitHubDeploymentID, PreviousSHA: subject.SHA,
		Strategy: "direct",
		// The rolled-back release's archive line says what is live instead.
		Context: RunContext{Release: decodeContext(subject.Context).Release},
	}
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
	target, err := s.previousGood(ctx, failed)
	if err != nil {
		return err
	}
	if target == "" {
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
	if msg, err := s.lockRefusal(ctx, failed.Repo, env.Name, p.Actor); err != nil || msg != "" {
		if err != nil {
			return err
		}
		return say(msg)
	}
	if closed, window, open := s.rollbackWindow(env, failed); !open {
		return say(fmt.Sprintf("the rollback window of `%s` closed at %s (%s after this deployment finished). A repository admin can still roll back with `/rollback %s %s --force`.",
			env.Name, closed.UTC().Format("2006-01-02 15:04 UTC"), humanDuration(window), env.Name, short(target)))
	}
	req := rollbackRequest(failed, env, target, target)
	req.Trigger, req.RequestedBy, req.PRNumber, req.Permission = "rollback-button", p.Actor, failed.PRNumber, perm
	// One rollback per failed deployment, however often the button is pressed.
	req.RequestKey = fmt.Sprintf("rollback-of:%d", failed.ID)
	req.Context.DefaultBranch = p.DefaultBranch
	msg, err := s.start(ctx, req, "I can't roll back: ")
	if err != nil || msg == "" {
		return err
	}
	return say(msg)
}

// rollbackCommand runs `/rollback [<env>] [<sha|tag>] [--force]`.
func (s *Service) rollbackCommand(ctx context.Context, gh *github.Client, c Comment, cmd Command) (string, error) {
	req, _, msg, err := s.planRollback(ctx, gh, c, cmd)
	if req == nil {
		return msg, err
	}
	req.Trigger, req.PRNumber = "comment", c.Number
	req.RequestKey = fmt.Sprintf("comment:%d", c.CommentID)
	return s.start(ctx, *req, "I can't roll back: ")
}

// planRollback applies `/rollback`'s rules for c.Author - config,
// permission (a *Refusal error), lock, what is undone, the target and the
// window - and returns the request to start with the deployment it
// undoes, or the reply saying why not.
// The command and the pages' Rollback button differ only in how they key
// and attribute the request.
func (s *Service) planRollback(ctx context.Context, gh *github.Client, c Comment, cmd Command) (*Request, *store.Deployment, string, error) {
	cfg, msg, err := s.commentConfig(ctx, gh, c, "roll back")
	if cfg == nil {
		return nil, nil, msg, err
	}
	env, msg := resolveEnv(cfg, cmd.Env)
	if env == nil {
		return nil, nil, msg, nil
	}
	perm, role, err := s.mayDeploy(ctx, gh, c, env)
	if err != nil {
		return nil, nil, "", err
	}
	if perm.Verdict != checks.Pass {
		return nil, nil, "", &Refusal{"you can't roll back `" + env.Name + "`: " + perm.Reason + ". Ask someone with that access to run `/rollback " + env.Name + "`."}
	}
	repo := c.Owner + "/" + c.Repo
	if msg, err := s.lockRefusal(ctx, repo, env.Name, c.Author); err != nil || msg != "" {
		return nil, nil, msg, err
	}
	subject, err := s.rollbackSubject(ctx, repo, env.Name)
	if err != nil {
		return nil, nil, "", err
	}
	if subject == nil {
		return nil, nil, "there is nothing to roll back in `" + env.Name + "`: deploybot has not deployed there yet. Deploy with `/deploy " + env.Name + "`.", nil
	}
	ref, sha := cmd.Ref, ""
	if cmd.Ref == "" {
		if sha, err = s.previousGood(ctx, subject); err != nil {
			return nil, nil, "", err
		}
		if sha == "" {
			return nil, nil, "there is nothing to roll back to: no earlier good version of `" + env.Name + "` is known. Fix forward with `/deploy " + env.Name + " <ref>`.", nil
		}
		ref = sha
	} else {
		if msg, err := s.namedRollbackTarget(ctx, gh, c, env.Name, subject, cmd.Ref, &sha); err != nil || msg != "" {
			return nil, nil, msg, err
		}
	}
	force := false
	if closed, window, open := s.rollbackWindow(env, subject); !open {
		if !cmd.Force || !role.AtLeast(config.PermissionAdmin) {
			why := "An admin can add `--force`: `" + strings.Join(strings.Fields("/rollback "+env.Name+" "+cmd.Ref+" --force"), " ") + "`."
			if cmd.Force {
				why = "`--force` needs the admin role (you have " + string(role) + "): ask a repository admin."
			}
			return nil, nil, fmt.Sprintf("the rollback window of `%s` closed at %s (%s after the deployment of `%s` finished). %s",
				env.Name, closed.UTC().Format("2006-01-02 15:04 UTC"), humanDuration(window), short(subject.SHA), why), nil
		}
		force = true
	}
	req := rollbackRequest(subject, env, ref, sha)
	req.RequestedBy, req.Permission = c.Author, perm
	req.Context.DefaultBranch, req.Context.Force = c.DefaultBranch, force
	return &req, subject, "", nil
}

// rollbackWindow says until when subject may be rolled back without an
// admin's --force (rollback.window after it finished; default 24h).
func (s *Service) rollbackWindow(env *config.Environment, subject *store.Deployment) (closes time.Time, window time.Duration, open bool) {
	window = env.Rollback.Window.Duration
	if window <= 0 {
		window = 24 * time.Hour
	}
	ended := subject.FinishedAt
	if ended.IsZero() {
		ended = subject.UpdatedAt
	}
	closes = ended.Add(window)
	return closes, window, s.now().Before(closes)
}

// namedRollbackTarget checks `/rollback <env> <sha|tag>`: the version must
// have been live in env and must not be what is live now.
func (s *Service) namedRollbackTarget(ctx context.Context, gh *github.Client, c Comment, env string, subject *store.Deployment, ref string, sha *string) (string, error) {
	full, msg, err := resolveCommit(ctx, gh, c, ref)
	if err != nil || msg != "" {
		return msg, err
	}
	live, err := s.Store.Deployed(ctx, subject.Repo, env, full)
	if err != nil {
		return "", err
	}
	live = live || full == subject.PreviousSHA // GitHub showed it live before (deployed by another tool)
	if !live {
		return "`" + ref + "` was never live in `" + env + "`, so I won't roll back to it: name a version deployed there before, or `/rollback " + env + "` for the previous good one.", nil
	}
	if subject.State == store.StateSuccess && subject.SHA == full {
		return "`" + ref + "` is what is live in `" + env + "` now; nothing to roll back. Name an older version, or `/rollback " + env + "` for the previous good one.", nil
	}
	*sha = full
	return "", nil
}

// foreignRollback is the rollback request for a deployment someone else
// created with task deploy:rollback, when it is one by /rollback's rules:
// sha was live in env before (deployed there successfully, or live before
// the deployment being undone), is not what is live now, and the rollback
// window of that deployment is still open. Otherwise nil: it is an ordinary
// deploy with every gate.
func (s *Service) foreignRollback(ctx context.Context, repo string, env *config.Environment, ref, sha string) (*Request, error) {
	subject, err := s.rollbackSubject(ctx, repo, env.Name)
	if err != nil || subject == nil {
		return nil, err
	}
	if subject.State == store.StateSuccess && subject.SHA == sha {
		return nil, nil // live now: a redeploy, not a rollback
	}
	live, err := s.Store.Deployed(ctx, repo, env.Name, sha)
	if err != nil {
		return nil, err
	}
	if !live && sha != subject.PreviousSHA {
		return nil, nil
	}
	if _, _, open := s.rollbackWindow(env, subject); !open {
		return nil, nil
	}
	req := rollbackRequest(subject, env, ref, sha)
	return &req, nil
}

// humanDuration writes 24h rather than 24h0m0s.
func humanDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
