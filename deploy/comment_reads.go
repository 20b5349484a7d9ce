package deploy

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// deployReads are the GitHub reads a /deploy needs besides the author's
// role: the default branch's config and, on a pull request, the pull
// request. OnComment starts them together with the role's read, so the
// three cost one round trip instead of three (issue 9's critical path).
// They are reads only: what they found is judged in requestFromComment, in
// the same order as before, once the role is known.
type deployReads struct {
	wg     sync.WaitGroup
	cfg    *config.Config
	cfgMsg string
	cfgErr error
	pr     *github.PullRequest
	prErr  error
}

// startDeployReads starts the reads of a /deploy; wait (or config and pull)
// waits for them.
func (s *Service) startDeployReads(ctx context.Context, gh *github.Client, c Comment) *deployReads {
	r := &deployReads{}
	r.wg.Go(func() { r.cfg, r.cfgMsg, r.cfgErr = s.commentConfig(ctx, gh, c, "deploy") })
	if c.IsPullRequest {
		r.wg.Go(func() {
			pr, _, err := gh.PullRequests.Get(ctx, c.Owner, c.Repo, c.Number)
			if err != nil {
				err = fmt.Errorf("read pull request #%d: %w", c.Number, err)
			}
			r.pr, r.prErr = pr, err
		})
	}
	return r
}

// wait waits for the reads to end (nil: none were started).
func (r *deployReads) wait() {
	if r != nil {
		r.wg.Wait()
	}
}

// config is commentConfig's answer for "deploy".
func (r *deployReads) config() (*config.Config, string, error) {
	r.wg.Wait()
	return r.cfg, r.cfgMsg, r.cfgErr
}

// pull is the pull request's read.
func (r *deployReads) pull() (*github.PullRequest, error) {
	r.wg.Wait()
	return r.pr, r.prErr
}
