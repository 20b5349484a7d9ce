package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// commandsHelp is the grammar of every command.
const commandsHelp = "**deploybot commands**\n\n" +
	"- " + grammarDeploy + " — deploy this PR's head (or a ref) to an environment (the default one if omitted); " +
	"`staging,production` deploys to each in order, each only after the previous one succeeded\n" +
	"- " + grammarRollback + " — redeploy the previous good version (or a SHA or tag that was live there) within the rollback window; " +
	"admins may add `--force` after it closed\n" +
	"- " + grammarLock + " — only you deploy to `<env>` until `/unlock <env>` (or the duration, e.g. `--for 2h`, ends)\n" +
	"- " + grammarUnlock + " — release your lock (admins may release anyone's)\n" +
	"- " + grammarPromote + " — end the pause of a canary or blue-green rollout in flight and go on (same as the Promote button)\n" +
	"- " + grammarAbort + " — stop the rollout in flight and undo what it changed (same as the Abort button)\n" +
	"- " + grammarEnvironments + " — what is live where, locks, deployments in flight\n" +
	"- " + grammarHelp + " — this message\n"

// help answers `/deploy help`: the grammar and this repository's
// environments from the default branch's config.
func (s *Service) help(ctx context.Context, gh *github.Client, c Comment) (string, error) {
	cfg, err := s.Config.Load(ctx, gh, c.Owner, c.Repo, c.DefaultBranch)
	var cfgErr *config.Error
	var b strings.Builder
	b.WriteString("here is what I understand.\n\n" + commandsHelp + "\n")
	switch {
	case errors.Is(err, ErrNoConfig):
		fmt.Fprintf(&b, "**Environments**: none yet — there is no `%s` on `%s`. Add one (see the README) to deploy.\n", config.Path, c.DefaultBranch)
		return b.String(), nil
	case errors.As(err, &cfgErr):
		fmt.Fprintf(&b, "**Environments**: `%s` on `%s` is invalid, so no command can deploy until it is fixed:\n\n%s", config.Path, c.DefaultBranch, bulletProblems(cfgErr))
		return b.String(), nil
	case err != nil:
		return "", err
	}
	fmt.Fprintf(&b, "**Environments** (from `%s` on `%s`", config.Path, c.DefaultBranch)
	if def, ok := cfg.Default(); ok {
		fmt.Fprintf(&b, "; the default is `%s`", def.Name)
	}
	b.WriteString(")\n\n| environment | aliases | who may deploy | requires | rollback window |\n|---|---|---|---|---|\n")
	for _, name := range cfg.EnvironmentNames() {
		env := cfg.Environments[name]
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", env.Name, orDash(codeListOrEmpty(env.Aliases)),
			env.Permission, orDash(codeListOrEmpty(env.Requires)), humanDuration(env.Rollback.Window.Duration))
	}
	return b.String(), nil
}

// environments answers `/environments`: one table of where each
// environment stands, from the store and the config only.
func (s *Service) environments(ctx context.Context, gh *github.Client, c Comment) (string, error) {
	cfg, msg, err := s.commentConfig(ctx, gh, c, "list environments")
	if cfg == nil {
		return msg, err
	}
	repo, now := c.Owner+"/"+c.Repo, s.now()
	locks, err := s.Store.ManualLocks(ctx, repo, now)
	if err != nil {
		return "", err
	}
	holders, err := s.Store.LockHolders(ctx, repo)
	if err != nil {
		return "", err
	}
	unfinished, err := s.Store.Unfinished(ctx, repo)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("here is where each environment stands.\n\n| environment | live | deployed | lock | in flight / queued |\n|---|---|---|---|---|\n")
	for _, name := range cfg.EnvironmentNames() {
		env := cfg.Environments[name]
		label := "`" + env.Name + "`"
		if len(env.Aliases) > 0 {
			label += " (" + codeList(env.Aliases) + ")"
		}
		live, err := s.Store.LastSuccessful(ctx, repo, env.Name)
		if err != nil {
			return "", err
		}
		liveCell, when := "—", "never"
		if live != nil {
			liveCell = fmt.Sprintf("`%s` (`%s`)", short(live.SHA), cell(live.Ref))
			if live.Task == TaskRollback {
				liveCell += " rollback"
			}
			when = live.FinishedAt.UTC().Format("2006-01-02 15:04 UTC") + " by @" + live.RequestedBy
		}
		var lock []string
		if l := locks[env.Name]; l != nil {
			lock = append(lock, cell(toCheckLock(l).Describe(env.Name, now)))
		}
		if id := holders[env.Name]; id != 0 {
			lock = append(lock, "held by "+s.deploymentLink(id))
		}
		var flight []string
		for _, d := range unfinished {
			if d.Environment == env.Name {
				flight = append(flight, fmt.Sprintf("%s %s `%s` by @%s", s.deploymentLink(d.ID), d.State, short(d.SHA), d.RequestedBy))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", label, liveCell, when, orDash(strings.Join(lock, "; ")), orDash(strings.Join(flight, "; ")))
	}
	b.WriteString("\nDeploy with `/deploy <env>`, hold an environment with `/lock <env> <reason>`; `/deploy help` lists every command.")
	return b.String(), nil
}

// deploymentLink names a deployment, linked to its record page when
// deploybot knows its public URL ("#12" would link an issue instead).
func (s *Service) deploymentLink(id int64) string {
	if u := s.logURL(id); u != "" {
		return fmt.Sprintf("[deployment %d](%s)", id, u)
	}
	return fmt.Sprintf("deployment %d", id)
}

func codeListOrEmpty(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return codeList(names)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func envNames(envs []*config.Environment) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.Name)
	}
	return out
}

func chainArg(envs []*config.Environment) string { return strings.Join(envNames(envs), ",") }

func resolveEnv(cfg *config.Config, name string) (*config.Environment, string) {
	if name == "" {
		if env, ok := cfg.Default(); ok {
			return env, ""
		}
		return nil, "name an environment: `/deploy <env>` (no `default_environment` is configured; known: " + knownEnvs(cfg) + ")."
	}
	if env, ok := cfg.Environment(name); ok {
		return env, ""
	}
	return nil, "unknown environment `" + name + "` (known: " + knownEnvs(cfg) + "). `/deploy help` lists them."
}

func knownEnvs(cfg *config.Config) string {
	names := cfg.EnvironmentNames()
	for i, n := range names {
		names[i] = "`" + n + "`"
	}
	return strings.Join(names, ", ")
}

func bulletProblems(e *config.Error) string {
	var b strings.Builder
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "- %s\n", p.String())
	}
	return b.String()
}
