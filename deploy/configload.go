package deploy

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/appconfig"

	"github.com/deploybot/deploybot/config"
)

// RepoConfig loads .github/deploy.yml through go-githubapp's appconfig
// loader: the repository's file at the given ref (always the default branch),
// else the organisation's `.github` repository.
type RepoConfig struct{ Loader *appconfig.Loader }

// NewRepoConfig returns the loader for config.Path.
func NewRepoConfig() RepoConfig {
	return RepoConfig{Loader: appconfig.NewLoader([]string{config.Path})}
}

// ErrNoConfig means neither the repository nor its organisation has a config.
var ErrNoConfig = fmt.Errorf("no %s", config.Path)

// Load returns the parsed config, ErrNoConfig, or a *config.Error for an
// invalid file; other errors are GitHub failures worth a retry.
func (l RepoConfig) Load(ctx context.Context, client *github.Client, owner, repo, ref string) (*config.Config, error) {
	c, err := l.Loader.LoadConfig(ctx, client, owner, repo, ref)
	if err != nil {
		return nil, fmt.Errorf("load %s from %s: %w", config.Path, c.Source, err)
	}
	if c.IsUndefined() {
		return nil, ErrNoConfig
	}
	return config.Parse(c.Content)
}
