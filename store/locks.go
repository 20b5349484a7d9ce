package store

import (
	"context"
	"fmt"
)

// serializeEnv makes lock hand-over atomic on PostgreSQL, where several
// replicas may acquire and release the same environment at once. (SQLite has
// a single writer, which serialises these transactions already.)
func (tx *Tx) serializeEnv(ctx context.Context, repo, env string) error {
	if tx.s.dialect != Postgres {
		return nil
	}
	_, err := tx.q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, repo+" "+env) // repo names have no spaces
	return err
}

// AcquireLock gives the environment's in-flight slot to deployment id if it is
// free (or already its own). Otherwise it returns the holder's id. A holder
// hands the slot to the oldest queued deployment in ReleaseLock, so waiting
// requests run in FIFO order.
func (tx *Tx) AcquireLock(ctx context.Context, repo, env string, id int64) (holder int64, err error) {
	if err := tx.serializeEnv(ctx, repo, env); err != nil {
		return 0, fmt.Errorf("lock %s/%s: %w", repo, env, err)
	}
	if _, err := tx.q.exec(ctx, `INSERT INTO env_locks (repo, environment, deployment_id, acquired_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (repo, environment) DO NOTHING`, repo, env, id, millis(tx.s.now())); err != nil {
		return 0, fmt.Errorf("lock %s/%s: %w", repo, env, err)
	}
	if err := tx.q.queryRow(ctx, `SELECT deployment_id FROM env_locks WHERE repo = $1 AND environment = $2`,
		repo, env).Scan(&holder); err != nil {
		return 0, fmt.Errorf("read lock %s/%s: %w", repo, env, err)
	}
	return holder, nil
}

// ReleaseLock frees the slot held by id and, if deployments are queued for
// the environment, hands it to the oldest and returns it (nil otherwise).
func (tx *Tx) ReleaseLock(ctx context.Context, repo, env string, id int64) (*Deployment, error) {
	if err := tx.serializeEnv(ctx, repo, env); err != nil {
		return nil, fmt.Errorf("unlock %s/%s: %w", repo, env, err)
	}
	n, err := tx.q.exec(ctx, `DELETE FROM env_locks WHERE repo = $1 AND environment = $2 AND deployment_id = $3`, repo, env, id)
	if err != nil {
		return nil, fmt.Errorf("unlock %s/%s: %w", repo, env, err)
	}
	if n == 0 {
		return nil, nil // not the holder (already released)
	}
	next, err := tx.deploymentWhere(ctx, `repo = $1 AND environment = $2 AND state = $3 ORDER BY id LIMIT 1`,
		repo, env, StateQueued)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	if _, err := tx.q.exec(ctx, `INSERT INTO env_locks (repo, environment, deployment_id, acquired_at) VALUES ($1, $2, $3, $4)`,
		repo, env, next.ID, millis(tx.s.now())); err != nil {
		return nil, fmt.Errorf("hand lock to %d: %w", next.ID, err)
	}
	// The next deployment's clock for the reaper starts now (queued ones
	// have none: they wait for the holder, which has one).
	if err := tx.setDeadline(ctx, next); err != nil {
		return nil, err
	}
	return next, nil
}

// LockHolder returns the deployment id holding the environment (0 if free).
func (s *Store) LockHolder(ctx context.Context, repo, env string) (int64, error) {
	var id int64
	err := s.view().queryRow(ctx, `SELECT deployment_id FROM env_locks WHERE repo = $1 AND environment = $2`, repo, env).Scan(&id)
	if isNotFound(err) {
		return 0, nil
	}
	return id, err
}

// QueuedAhead counts the deployments queued for the environment before id.
func (s *Store) QueuedAhead(ctx context.Context, repo, env string, id int64) (int, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM deployments WHERE repo = $1 AND environment = $2 AND state = $3 AND id < $4`,
		repo, env, StateQueued, id).Scan(&n)
	return n, err
}

// HeldLock is an environment slot and the deployment holding it.
type HeldLock struct {
	Repo, Environment string
	DeploymentID      int64
}

// OrphanedLocks lists environment slots held by deployments that have
// ended (or no longer exist): a crash between the two writes of an older
// version could leave them, and nothing else would ever free them.
func (s *Store) OrphanedLocks(ctx context.Context) ([]HeldLock, error) {
	rs, err := s.view().query(ctx, `SELECT l.repo, l.environment, l.deployment_id FROM env_locks l
		LEFT JOIN deployments d ON d.id = l.deployment_id WHERE d.id IS NULL OR d.finished_at <> 0`)
	if err != nil {
		return nil, fmt.Errorf("list orphaned environment locks: %w", err)
	}
	defer rs.Close()
	var out []HeldLock
	for rs.Next() {
		var l HeldLock
		if err := rs.Scan(&l.Repo, &l.Environment, &l.DeploymentID); err != nil {
			return nil, fmt.Errorf("list orphaned environment locks: %w", err)
		}
		out = append(out, l)
	}
	return out, rs.Err()
}
