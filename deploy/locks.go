package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// Manual locks (`/lock <env>`): held by their author; while one is in force
// others' deploys to the environment are refused at command time, and the
// lock gate blocks the rest (releases, adopted deployments, chains).

// manualLock returns the lock in force on env for the gates (nil: none).
func (s *Service) manualLock(ctx context.Context, repo, env string) (*checks.ManualLock, error) {
	l, err := s.Store.ManualLock(ctx, repo, env, s.now())
	if err != nil || l == nil {
		return nil, err
	}
	return toCheckLock(l), nil
}

func toCheckLock(l *store.ManualLock) *checks.ManualLock {
	return &checks.ManualLock{Owner: l.Owner, Reason: l.Reason, ExpiresAt: l.ExpiresAt}
}

// lockRefusal is the reply to user's deploy or rollback of env while
// someone else holds a manual lock on it ("" when user may go ahead).
func (s *Service) lockRefusal(ctx context.Context, repo, env, user string) (string, error) {
	l, err := s.Store.ManualLock(ctx, repo, env, s.now())
	if err != nil || l == nil || l.HeldBy(user) {
		return "", err
	}
	msg := toCheckLock(l).Describe(env, s.now()) + ". Ask @" + l.Owner + " to comment `/unlock " + env + "`"
	if !l.ExpiresAt.IsZero() {
		msg += ", or try again after " + checks.FormatUntil(l.ExpiresAt, s.now())
	}
	return msg + ".", nil
}

// lockTarget resolves the environment of /lock or /unlock and checks that
// the author may deploy there (the permission locking needs).
func (s *Service) lockTarget(ctx context.Context, gh *github.Client, c Comment, cmd Command) (*config.Environment, config.Permission, string, error) {
	cfg, msg, err := s.commentConfig(ctx, gh, c, cmd.Name)
	if cfg == nil {
		return nil, "", msg, err
	}
	env, ok := cfg.Environment(cmd.Env)
	if !ok {
		return nil, "", "unknown environment `" + cmd.Env + "` (known: " + knownEnvs(cfg) + "). `/deploy help` lists them.", nil
	}
	perm, role, err := s.mayDeploy(ctx, gh, c, env)
	if err != nil {
		return nil, "", "", err
	}
	if perm.Verdict != checks.Pass {
		return nil, role, "", &Refusal{"you can't " + cmd.Name + " `" + env.Name + "`: " + perm.Reason + ". Ask someone who may deploy there."}
	}
	return env, role, "", nil
}

func (s *Service) lockCommand(ctx context.Context, gh *github.Client, c Comment, cmd Command) (string, error) {
	env, _, msg, err := s.lockTarget(ctx, gh, c, cmd)
	if env == nil {
		return msg, err
	}
	now := s.now()
	want := store.ManualLock{Repo: c.Owner + "/" + c.Repo, Environment: env.Name, Owner: c.Author, Reason: cmd.Reason}
	if cmd.For > 0 {
		want.ExpiresAt = now.Add(cmd.For)
	}
	held, err := s.Store.LockManually(ctx, want, now)
	if err != nil {
		return "", err
	}
	line := toCheckLock(held).Describe(env.Name, now)
	if !held.HeldBy(c.Author) {
		return line + ". Ask @" + held.Owner + " to `/unlock " + env.Name + "` first.", nil
	}
	next := "Others' deploys to `" + env.Name + "` are refused until you comment `/unlock " + env.Name + "`"
	if !held.ExpiresAt.IsZero() {
		next += " or the lock ends"
	}
	return line + ". " + next + "; you can still deploy there.", nil
}

func (s *Service) unlockCommand(ctx context.Context, gh *github.Client, c Comment, cmd Command) (string, error) {
	env, role, msg, err := s.lockTarget(ctx, gh, c, cmd)
	if env == nil {
		return msg, err
	}
	admin := role.AtLeast(config.PermissionAdmin)
	held, removed, err := s.Store.UnlockManually(ctx, c.Owner+"/"+c.Repo, env.Name, c.Author, admin, s.now())
	switch {
	case err != nil:
		return "", err
	case held == nil:
		return "`" + env.Name + "` is not locked; `/lock " + env.Name + " <reason>` locks it.", nil
	case !removed:
		return "", &Refusal{toCheckLock(held).Describe(env.Name, s.now()) + ". Only @" + held.Owner + " or a repository admin can unlock it: ask them."}
	case !held.HeldBy(c.Author):
		return fmt.Sprintf("🔓 `%s` unlocked (the lock was @%s's, set %s). Anyone who may deploy there can now.", env.Name, held.Owner,
			held.CreatedAt.UTC().Format(time.DateTime+" UTC")), nil
	}
	return "🔓 `" + env.Name + "` unlocked. Anyone who may deploy there can now.", nil
}

func parseLock(args []string) (Command, error) {
	cmd := Command{Name: CmdLock}
	pos, err := positionals(args, grammarLock, func(name, value string, hasValue bool, rest []string) (int, error) {
		if name != "--for" {
			return -1, nil
		}
		v, n, err := flagValue(name, value, hasValue, rest, "a duration such as 30m, 2h or 3d")
		if err != nil {
			return 0, err
		}
		d, err := config.ParseDuration(v)
		if err != nil || d.Duration < time.Minute || d.Duration > maxLockFor {
			return 0, fmt.Errorf("%s is not a duration between 1m and 90d (e.g. 30m, 2h, 3d): %s", codeSpan("--for "+v), grammarLock)
		}
		cmd.For = d.Duration
		return n, nil
	})
	if err != nil {
		return Command{}, err
	}
	if len(pos) == 0 {
		return Command{}, fmt.Errorf("name the environment to lock: %s", grammarLock)
	}
	cmd.Env = pos[0]
	if err := checkEnvArg(cmd.Env, grammarLock); err != nil {
		return Command{}, err
	}
	// The reason is echoed in replies, check runs and tables: no markup.
	cmd.Reason = truncate(strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if strings.ContainsRune("<>`|", r) {
			return ' '
		}
		return r
	}, strings.Join(pos[1:], " "))), " "), 200)
	return cmd, nil
}

// endTx records the end of d in tx and hands its environment slot to the
// oldest queued deployment, whose step is enqueued in the same transaction.
// Every way a deployment ends (its finish step, a finish that gave up, the
// reaper) goes through here, so none can leave the environment locked.
func (s *Service) endTx(ctx context.Context, tx *store.Tx, d *store.Deployment) error {
	if !d.Done() {
		d.State = store.StateError
	}
	if d.FinishedAt.IsZero() {
		d.FinishedAt = s.now()
	}
	next, err := tx.ReleaseLock(ctx, d.Repo, d.Environment, d.ID)
	if err != nil || next == nil {
		return err
	}
	return tx.Enqueue(ctx, StepArgs{DeploymentID: next.ID, Step: next.Step}, stepOpts(time.Time{}))
}
