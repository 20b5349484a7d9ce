package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// RepoConfig reads .github/deploy.yml from the repository itself at the ref
// its callers pass (the default branch, or the head of a push to it) and
// from nowhere else: no remote references to other repositories or
// branches, no organisation-wide fallback (DESIGN.md §11). A file written as
// a remote reference is a config error (see config.Parse). It is one
// contents GET, so the client's HTTP cache answers repeats with ETags.
type RepoConfig struct{}

// NewRepoConfig returns the loader for config.Path.
func NewRepoConfig() RepoConfig { return RepoConfig{} }

// ErrNoConfig means the repository has no config file.
var ErrNoConfig = fmt.Errorf("no %s", config.Path)

// Load returns the parsed config, ErrNoConfig, or a *config.Error for an
// invalid file; other errors are GitHub failures worth a retry.
func (RepoConfig) Load(ctx context.Context, client *github.Client, owner, repo, ref string) (*config.Config, error) {
	file, _, resp, err := client.Repositories.GetContents(ctx, owner, repo, config.Path, &github.RepositoryContentGetOptions{Ref: ref})
	switch {
	case resp != nil && resp.StatusCode == http.StatusNotFound:
		return nil, ErrNoConfig
	case tooLarge(err):
		return nil, config.TooLarge()
	case err != nil:
		return nil, fmt.Errorf("read %s from %s/%s@%s: %w", config.Path, owner, repo, ref, err)
	case file == nil || file.GetType() != "file":
		return nil, notAFile()
	case file.GetSize() > config.MaxFileSize:
		return nil, config.TooLarge()
	}
	content, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decode %s from %s/%s@%s: %w", config.Path, owner, repo, ref, err)
	}
	cfg, err := config.ParseContext(ctx, []byte(content))
	if err != nil && !errors.As(err, new(*config.Error)) {
		return nil, fmt.Errorf("parse %s from %s/%s@%s: %w", config.Path, owner, repo, ref, err)
	}
	return cfg, err
}

// notAFile is the problem of a config path that is a directory or a submodule.
func notAFile() error {
	return &config.Error{Problems: []config.Problem{{Line: 1, Column: 1,
		Message: config.Path + " must be a regular file in this repository (it is a directory or a submodule)"}}}
}

// tooLarge reports GitHub's answer for a file over the contents API's limit.
func tooLarge(err error) bool {
	var ge *github.ErrorResponse
	if errors.As(err, &ge) {
		for _, e := range ge.Errors {
			if e.Code == "too_large" {
				return true
			}
		}
	}
	return false
}
