package store

import (
	"context"
	"fmt"
)

// Reads of an environment's deployment history, for /rollback and
// /environments. Dry runs never count: they change nothing.

// reader runs the Tx list helpers outside an explicit transaction.
func (s *Store) reader() *Tx { return &Tx{s: s, q: s.view()} }

func (s *Store) first(ctx context.Context, where string, args ...any) (*Deployment, error) {
	ds, err := s.reader().deploymentsWhere(ctx, where+` LIMIT 1`, args...)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return ds[0], nil
}

// LastSuccessful returns the latest successful deployment of repo to env
// (what is live there), or nil when there is none.
func (s *Store) LastSuccessful(ctx context.Context, repo, env string) (*Deployment, error) {
	return s.first(ctx, `repo = $1 AND environment = $2 AND state = $3 AND task <> 'dry-run'
		ORDER BY finished_at DESC, id DESC`, repo, env, StateSuccess)
}

// RecentFinished returns up to limit finished deployments of repo to env,
// newest first.
func (s *Store) RecentFinished(ctx context.Context, repo, env string, limit int) ([]*Deployment, error) {
	return s.reader().deploymentsWhere(ctx, `repo = $1 AND environment = $2 AND state IN ($3, $4, $5) AND task <> 'dry-run'
		ORDER BY finished_at DESC, id DESC LIMIT $6`, repo, env, StateSuccess, StateFailure, StateError, limit)
}

// PreviousGood returns the latest successful deployment of repo to env
// older than deployment before whose SHA is neither notSHA nor the SHA of
// a deployment that was rolled back (some deployment's rollback_of names
// it), or nil when there is none.
func (s *Store) PreviousGood(ctx context.Context, repo, env string, before int64, notSHA string) (*Deployment, error) {
	return s.first(ctx, `repo = $1 AND environment = $2 AND state = $3 AND task <> 'dry-run' AND id < $4 AND sha <> $5
		AND sha NOT IN (SELECT b.sha FROM deployments b JOIN deployments r ON r.repo = b.repo AND r.rollback_of = b.github_deployment_id
			WHERE b.repo = $1 AND b.environment = $2 AND b.github_deployment_id <> 0)
		ORDER BY finished_at DESC, id DESC`, repo, env, StateSuccess, before, notSHA)
}

// Unfinished returns repo's deployments that have not ended (pending,
// queued, waiting or running), oldest first.
func (s *Store) Unfinished(ctx context.Context, repo string) ([]*Deployment, error) {
	return s.reader().deploymentsWhere(ctx, `repo = $1 AND state IN ($2, $3, $4, $5) AND task <> 'dry-run' ORDER BY id`,
		repo, StatePending, StateQueued, StateWaiting, StateRunning)
}

// LockHolders maps each of repo's environments whose in-flight slot is
// taken to the deployment holding it.
func (s *Store) LockHolders(ctx context.Context, repo string) (map[string]int64, error) {
	rs, err := s.view().query(ctx, `SELECT environment, deployment_id FROM env_locks WHERE repo = $1`, repo)
	if err != nil {
		return nil, fmt.Errorf("list environment locks of %s: %w", repo, err)
	}
	defer rs.Close()
	out := map[string]int64{}
	for rs.Next() {
		var env string
		var id int64
		if err := rs.Scan(&env, &id); err != nil {
			return nil, fmt.Errorf("list environment locks of %s: %w", repo, err)
		}
		out[env] = id
	}
	return out, rs.Err()
}
