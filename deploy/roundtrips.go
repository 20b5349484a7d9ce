package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
)

// Round trips (issue 9's critical path): GitHub requests that do not need
// each other's answers go out together, so a step costs one round trip per
// dependency, not one per request. Every request keeps its own idempotent
// recovery (comments by marker, check runs by external_id, statuses looked
// up before being posted again).

// together runs fns concurrently and returns the first error in their
// order, once all have ended.
func together(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		if fn == nil {
			continue
		}
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ensureStatus posts a deployment status unless the deployment already has
// one in that state: a retried step whose earlier attempt posted it (its
// answer may have been lost) does not post it twice. Only a recovering step
// looks; the look is one request (a deployment has a handful of statuses
// before it deploys, newest first, on the first page).
func (r *run) ensureStatus(ctx context.Context, state, description string) error {
	if r.recovering && r.d.GitHubDeploymentID != 0 {
		statuses, _, err := r.gh.Repositories.ListDeploymentStatuses(ctx, r.owner, r.repo, r.d.GitHubDeploymentID,
			&github.ListOptions{PerPage: 100})
		if err != nil {
			return fmt.Errorf("statuses of deployment %d: %w", r.d.GitHubDeploymentID, err)
		}
		for _, st := range statuses {
			if st.GetState() == state {
				return nil
			}
		}
	}
	return r.status(ctx, state, description)
}

// liveRead is what is live in the environment (findLive), read by the gates
// step while it posts its passing results, for the backup step right after
// it: one round trip fewer before the executor call. The deployment holds
// the environment's lock since the lock step, so no deploybot deployment
// can change what is live in between; a read older than liveReadFresh, or
// a backup step running again, reads anew.
type liveRead struct {
	At         time.Time `json:"at"`
	SHA        string    `json:"sha,omitempty"`
	Deployment int64     `json:"deployment,omitempty"` // GitHub id; 0: nothing live
}

const liveReadFresh = time.Minute

// gatesResult is the gates step's result.
type gatesResult struct {
	Live *liveRead `json:"live,omitempty"`
}

// readLive reads what is live now.
func (r *run) readLive(ctx context.Context) (*liveRead, error) {
	at := r.svc.now()
	dep, err := r.findLive(ctx)
	if err != nil {
		return nil, err
	}
	return &liveRead{At: at, SHA: dep.GetSHA(), Deployment: dep.GetID()}, nil
}

// backupFollows reports whether the backup step comes right after this one.
func (r *run) backupFollows() bool {
	i := r.d.Step + 1
	return i < len(r.steps) && r.steps[i].Name == stepBackup
}

// liveForBackup is what the backup step tags: the gates step's fresh read,
// or a read now.
func (r *run) liveForBackup(ctx context.Context) (*liveRead, error) {
	if live := r.liveReadAhead(); live != nil {
		return live, nil
	}
	return r.readLive(ctx)
}

// liveReadAhead is the gates step's read of what is live, if the backup
// step may use it: on its first attempt, and read less than liveReadFresh
// ago.
func (r *run) liveReadAhead() *liveRead {
	if r.recovering || r.st.Attempts != 1 {
		return nil
	}
	for _, st := range r.steps {
		var res gatesResult
		if st.Name != stepGates || json.Unmarshal([]byte(st.Result), &res) != nil || res.Live == nil {
			continue
		}
		if age := r.svc.now().Sub(res.Live.At); age >= 0 && age < liveReadFresh {
			return res.Live
		}
	}
	return nil
}
