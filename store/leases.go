package store

import (
	"context"
	"fmt"
	"time"
)

// A step lease says which replica is running a deployment's current step
// and until when it vouches for it. The runner renews it every few seconds;
// a lease that expires belongs to a replica that died (kill -9, OOM, lost
// network) and is taken by any replica's lease reaper, which resumes the
// step. Leases use the wall clock, never the store's test clock: they are
// about processes being alive, not about deployment time.

// ExpiredLease is a step whose runner stopped renewing its lease.
type ExpiredLease struct {
	DeploymentID int64
	Step         int
	Owner        string
}

// AcquireLease claims deploymentID's step for owner until until. It fails
// (false) while another runner holds an unexpired lease on the deployment.
func (tx *Tx) AcquireLease(ctx context.Context, deploymentID int64, step int, owner string, now, until time.Time) (bool, error) {
	n, err := tx.q.exec(ctx, `INSERT INTO step_leases (deployment_id, step, owner, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (deployment_id) DO UPDATE SET step = excluded.step, owner = excluded.owner, expires_at = excluded.expires_at
		WHERE step_leases.expires_at < $5`, deploymentID, step, owner, millis(until), millis(now))
	if err != nil {
		return false, fmt.Errorf("lease step %d of deployment %d: %w", step, deploymentID, err)
	}
	return n == 1, nil
}

// RenewLease moves owner's lease on deploymentID to until; false means the
// lease is no longer owner's (it expired and another replica took it).
func (s *Store) RenewLease(ctx context.Context, deploymentID int64, owner string, until time.Time) (bool, error) {
	n, err := s.view().exec(ctx, `UPDATE step_leases SET expires_at = $1 WHERE deployment_id = $2 AND owner = $3`,
		millis(until), deploymentID, owner)
	if err != nil {
		return false, fmt.Errorf("renew lease of deployment %d: %w", deploymentID, err)
	}
	return n == 1, nil
}

// ReleaseLease ends owner's lease on deploymentID and reports whether owner
// still held it.
func (tx *Tx) ReleaseLease(ctx context.Context, deploymentID int64, owner string) (bool, error) {
	n, err := tx.q.exec(ctx, `DELETE FROM step_leases WHERE deployment_id = $1 AND owner = $2`, deploymentID, owner)
	if err != nil {
		return false, fmt.Errorf("release lease of deployment %d: %w", deploymentID, err)
	}
	return n == 1, nil
}

// ReleaseLease is tx.ReleaseLease in its own transaction.
func (s *Store) ReleaseLease(ctx context.Context, deploymentID int64, owner string) (bool, error) {
	var held bool
	err := s.InTx(ctx, func(tx *Tx) (err error) { held, err = tx.ReleaseLease(ctx, deploymentID, owner); return err })
	return held, err
}

// TakeExpiredLeases deletes up to limit leases that expired before now and
// returns them, so the caller resumes their steps in the same transaction.
// Concurrent reapers on PostgreSQL each get different leases: the row lock
// of the DELETE lets only one of them return a given lease.
func (tx *Tx) TakeExpiredLeases(ctx context.Context, now time.Time, limit int) ([]ExpiredLease, error) {
	rs, err := tx.q.query(ctx, `DELETE FROM step_leases WHERE deployment_id IN (
			SELECT deployment_id FROM step_leases WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)
		AND expires_at < $1 RETURNING deployment_id, step, owner`, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("take expired step leases: %w", err)
	}
	defer rs.Close()
	var out []ExpiredLease
	for rs.Next() {
		var l ExpiredLease
		if err := rs.Scan(&l.DeploymentID, &l.Step, &l.Owner); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rs.Err()
}

// ClearLeases drops every lease. Only for SQLite at start, when no other
// process can be running steps (see RecoverAbandonedJobs).
func (s *Store) ClearLeases(ctx context.Context) error {
	if _, err := s.view().exec(ctx, `DELETE FROM step_leases`); err != nil {
		return fmt.Errorf("clear step leases: %w", err)
	}
	return nil
}
