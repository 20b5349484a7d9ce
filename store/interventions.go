package store

import (
	"context"
	"fmt"
	"time"
)

// RequestAbort marks unfinished deployment id to stop at its next step
// with reason. It reports false (and changes nothing) when the deployment
// has ended or is already aborting. A deployment that was waiting (a
// pause) is claimed, so resume is true and the caller enqueues its step.
func (tx *Tx) RequestAbort(ctx context.Context, id int64, reason string) (changed, resume bool, err error) {
	// wakes moves too: a step evaluating right now must not park without
	// seeing the abort (it compares wakes before parking).
	n, err := tx.q.exec(ctx, `UPDATE deployments SET abort_reason = $1, wakes = wakes + 1 WHERE id = $2 AND finished_at = 0 AND abort_reason = ''`, reason, id)
	if err != nil {
		return false, false, fmt.Errorf("abort deployment %d: %w", id, err)
	}
	if n == 0 {
		return false, false, nil
	}
	resume, err = tx.ClaimWaiting(ctx, id)
	return true, resume, err
}

// RequestPromote records that the manual pause at step was promoted, when
// deployment id is waiting at that step and not aborting; it then claims
// the deployment, so the caller enqueues the step. False: the pause is not
// (or no longer) waiting — a second press, or a press after the phase moved on.
func (tx *Tx) RequestPromote(ctx context.Context, id int64, step int, by string) (bool, error) {
	n, err := tx.q.exec(ctx, `UPDATE deployments SET promoted = $1, promoted_by = $4 WHERE id = $2 AND step = $1 AND state = $3
		AND finished_at = 0 AND abort_reason = '' AND promoted <> $1`, step, id, StateWaiting, by)
	if err != nil {
		return false, fmt.Errorf("promote deployment %d: %w", id, err)
	}
	if n == 0 {
		return false, nil
	}
	return tx.ClaimWaiting(ctx, id)
}

// EnvSlot is the blue-green state of an environment: which slot is live,
// with which SHA, and what the other slot still holds.
type EnvSlot struct {
	Live         string // blue | green
	LiveSHA      string
	PreviousSHA  string // what the idle slot holds (live before the last switch)
	DeploymentID int64  // the deployment that switched
	SwitchedAt   time.Time
}

// EnvSlot returns repo/env's blue-green state, or nil before its first switch.
func (s *Store) EnvSlot(ctx context.Context, repo, env string) (*EnvSlot, error) {
	var e EnvSlot
	var at int64
	err := s.view().queryRow(ctx, `SELECT live_slot, live_sha, previous_sha, deployment_id, switched_at FROM env_slots
		WHERE repo = $1 AND environment = $2`, repo, env).Scan(&e.Live, &e.LiveSHA, &e.PreviousSHA, &e.DeploymentID, &at)
	if err == ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read slots of %s/%s: %w", repo, env, err)
	}
	e.SwitchedAt = fromMillis(at)
	return &e, nil
}

// SwitchSlot records that slot became live in repo/env with sha, the
// other slot keeping previousSHA.
func (tx *Tx) SwitchSlot(ctx context.Context, repo, env, slot, sha, previousSHA string, deploymentID int64) error {
	_, err := tx.q.exec(ctx, `INSERT INTO env_slots (repo, environment, live_slot, live_sha, previous_sha, deployment_id, switched_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repo, environment) DO UPDATE SET live_slot = excluded.live_slot,
		live_sha = excluded.live_sha, previous_sha = excluded.previous_sha, deployment_id = excluded.deployment_id,
		switched_at = excluded.switched_at`, repo, env, slot, sha, previousSHA, deploymentID, millis(tx.s.now()))
	if err != nil {
		return fmt.Errorf("switch %s/%s to %s: %w", repo, env, slot, err)
	}
	return nil
}
