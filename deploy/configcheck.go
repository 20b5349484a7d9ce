package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
)

// Push is a push to a repository's default branch.
type Push struct {
	Owner, Repo string
	HeadSHA     string
	Touched     []string // files added, modified or removed by the pushed commits
}

// configCheckName is the check run that reports whether .github/deploy.yml
// on the default branch is valid.
const configCheckName = "deploy/config"

// maxAnnotations is GitHub's limit of annotations per check run request.
const maxAnnotations = 50

// OnDefaultBranchPush validates .github/deploy.yml when a push to the
// default branch touched it, and posts the check run deploy/config on the
// new head: success, or failure with every problem at its line and column.
func (s *Service) OnDefaultBranchPush(ctx context.Context, gh *github.Client, p Push) error {
	if !slices.Contains(p.Touched, config.Path) {
		return nil
	}
	cfg, err := s.Config.Load(ctx, gh, p.Owner, p.Repo, p.HeadSHA)
	var cfgErr *config.Error
	opts := github.CreateCheckRunOptions{
		Name: configCheckName, HeadSHA: p.HeadSHA, Status: github.String("completed"),
		ExternalID: github.String("config:" + p.HeadSHA),
	}
	switch {
	case errors.Is(err, ErrNoConfig):
		opts.Conclusion = github.String("neutral")
		opts.Output = &github.CheckRunOutput{
			Title:   github.String(config.Path + " was removed"),
			Summary: github.String("There is no `" + config.Path + "` on the default branch any more, so deploybot knows no environments and refuses every command until one is added."),
		}
	case errors.As(err, &cfgErr):
		opts.Conclusion = github.String("failure")
		opts.Output = &github.CheckRunOutput{
			Title: github.String(fmt.Sprintf("%s has %d problem(s)", config.Path, len(cfgErr.Problems))),
			Summary: github.String(truncate(cfgErr.Markdown()+"\nNo deployment starts while the file is invalid. "+
				"Check it locally with `deploybot validate "+config.Path+"`.", 65000)),
			Annotations: annotations(cfgErr),
		}
	case err != nil:
		return err
	default:
		opts.Conclusion = github.String("success")
		opts.Output = &github.CheckRunOutput{
			Title:   github.String(fmt.Sprintf("%s is valid: %d environment(s)", config.Path, len(cfg.Environments))),
			Summary: github.String(configSummary(cfg)),
		}
	}
	if _, _, err := gh.Checks.CreateCheckRun(ctx, p.Owner, p.Repo, opts); err != nil {
		return fmt.Errorf("create check run %s: %w", configCheckName, err)
	}
	return nil
}

// annotations places each problem on its line in the file view of the check.
func annotations(e *config.Error) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	for _, p := range e.Problems {
		if len(out) == maxAnnotations {
			break
		}
		line := max(p.Line, 1)
		a := &github.CheckRunAnnotation{
			Path: github.String(config.Path), StartLine: github.Int(line), EndLine: github.Int(line),
			AnnotationLevel: github.String("failure"), Title: github.String(p.Path), Message: github.String(p.Message),
		}
		if p.Column > 0 {
			a.StartColumn, a.EndColumn = github.Int(p.Column), github.Int(p.Column)
		}
		out = append(out, a)
	}
	return out
}

func configSummary(cfg *config.Config) string {
	var b strings.Builder
	b.WriteString("| environment | aliases | gates | executor | strategy |\n|---|---|---|---|---|\n")
	for _, name := range cfg.EnvironmentNames() {
		env := cfg.Environments[name]
		strategy := env.Strategy.Name
		if strategy == "" {
			strategy = "direct"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", name, strings.Join(env.Aliases, ", "),
			strings.Join(configuredGates(env), ", "), env.Executor.Kind(), strategy)
	}
	if cfg.DefaultEnvironment != "" {
		fmt.Fprintf(&b, "\nDefault environment: `%s`.\n", cfg.DefaultEnvironment)
	}
	return b.String()
}

// configuredGates names the gates an environment runs, permission and lock first.
func configuredGates(env *config.Environment) []string {
	names := []string{checks.Permission{}.Name(), checks.Lock{}.Name()}
	for _, g := range selectGates(env, TaskDeploy) {
		names = append(names, g.Name())
	}
	return names
}
