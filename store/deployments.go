package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Deployment states.
const (
	StatePending = "pending" // created; not yet at the environment lock
	StateQueued  = "queued"  // waiting for the environment lock
	// StateWaiting holds the lock and waits for an event (pending CI):
	// a webhook or a durable timer wakes it, never polling.
	StateWaiting = "waiting"
	StateRunning = "running" // holds the lock; steps are executing
	StateSuccess = "success"
	StateFailure = "failure"
	StateError   = "error"
)

// Deployment is one run of the pipeline: a GitHub Deployment plus what
// deploybot did for it.
type Deployment struct {
	ID                 int64
	RequestKey         string // dedupes requests (comment id, rollback target)
	Repo               string // owner/name
	InstallationID     int64
	Environment        string
	Ref, SHA           string
	Task               string // deploy | deploy:rollback
	Trigger            string // comment | rollback-button | …
	RequestedBy        string
	PRNumber           int   // issue or pull request holding the record (0: none)
	RollbackOf         int64 // GitHub deployment id this one rolls back
	Strategy           string
	Production         bool
	State              string
	Step               int // index of the step to run next
	GitHubDeploymentID int64
	CommentID          int64
	CheckRunID         int64
	PreviousSHA        string // live in the environment before this deployment
	BackupTag          string
	Reason             string // why it failed or was blocked
	EnvConfig          string // JSON snapshot of the environment's config when requested
	Gates              string // JSON of gate results
	// Wakes counts events for a waiting deployment (read-only here: only
	// Wake changes it). CancelReason, once set, stops the deployment at its
	// next step.
	Wakes        int64
	CancelReason string
	// AbortReason, once set (RequestAbort), stops a rollout at its next
	// step and undoes what it changed; Promoted is the index of the manual
	// pause someone promoted (-1: none). Only their own writes change them.
	AbortReason string
	Promoted    int
	PromotedBy  string
	// Context is JSON of what the trigger brought (deploy.RunContext).
	Context string
	// StaleAfter is how long the deployment may make no progress before the
	// reaper ends it (0: never). Deadline is when that happens, moved on by
	// every write of the row; queued deployments have none (they wait for
	// the holder of the environment, which has one).
	StaleAfter time.Duration
	Deadline   time.Time
	// FinishedAt marks the deployment ended: nothing changes it after that.
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
}

// ErrEnded is returned when a write finds the deployment already ended
// (the reaper ended it while a step was still working).
var ErrEnded = errors.New("deployment already ended")

// Ended reports whether the deployment's end is recorded.
func (d *Deployment) Ended() bool { return !d.FinishedAt.IsZero() }

// deadlineAt is when the reaper may end d if nothing happens from now on.
func (d *Deployment) deadlineAt(now time.Time) time.Time {
	if d.StaleAfter <= 0 || d.State == StateQueued || d.Ended() {
		return time.Time{}
	}
	return now.Add(d.StaleAfter)
}

// Done reports whether the deployment reached a final state.
func (d *Deployment) Done() bool {
	return d.State == StateSuccess || d.State == StateFailure || d.State == StateError
}

const deploymentColumns = `id, request_key, repo, installation_id, environment, ref, sha, task, trigger,
	requested_by, pr_number, rollback_of, strategy, production, state, step, github_deployment_id,
	comment_id, check_run_id, previous_sha, backup_tag, reason, env_config, gates, created_at,
	updated_at, finished_at, wakes, cancel_reason, context, stale_after, deadline, abort_reason, promoted, promoted_by`

func scanDeployment(s scanner) (*Deployment, error) {
	var d Deployment
	var prod int
	var created, updated, finished, staleAfter, deadline int64
	err := s.Scan(&d.ID, &d.RequestKey, &d.Repo, &d.InstallationID, &d.Environment, &d.Ref, &d.SHA,
		&d.Task, &d.Trigger, &d.RequestedBy, &d.PRNumber, &d.RollbackOf, &d.Strategy, &prod, &d.State,
		&d.Step, &d.GitHubDeploymentID, &d.CommentID, &d.CheckRunID, &d.PreviousSHA, &d.BackupTag,
		&d.Reason, &d.EnvConfig, &d.Gates, &created, &updated, &finished, &d.Wakes, &d.CancelReason, &d.Context,
		&staleAfter, &deadline, &d.AbortReason, &d.Promoted, &d.PromotedBy)
	if err != nil {
		return nil, err
	}
	d.Production = prod != 0
	d.CreatedAt, d.UpdatedAt, d.FinishedAt = fromMillis(created), fromMillis(updated), fromMillis(finished)
	d.StaleAfter, d.Deadline = time.Duration(staleAfter)*time.Millisecond, fromMillis(deadline)
	return &d, nil
}

// CreateDeployment inserts d and its steps unless a deployment with the same
// RequestKey exists; then it returns that one and false.
func (tx *Tx) CreateDeployment(ctx context.Context, d *Deployment, steps []Step) (*Deployment, bool, error) {
	now := tx.s.now()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	d.UpdatedAt, d.Deadline = now, d.deadlineAt(now)
	if d.Gates == "" {
		d.Gates = "[]"
	}
	if d.Context == "" {
		d.Context = "{}"
	}
	var id int64
	err := tx.q.queryRow(ctx, `INSERT INTO deployments (request_key, repo, installation_id, environment, ref, sha,
		task, trigger, requested_by, pr_number, rollback_of, strategy, production, state, step, env_config, gates,
		previous_sha, created_at, updated_at, context, github_deployment_id, stale_after, deadline)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
		ON CONFLICT (request_key) DO NOTHING RETURNING id`,
		d.RequestKey, d.Repo, d.InstallationID, d.Environment, d.Ref, d.SHA, d.Task, d.Trigger, d.RequestedBy,
		d.PRNumber, d.RollbackOf, d.Strategy, boolInt(d.Production), d.State, d.Step, d.EnvConfig, d.Gates,
		d.PreviousSHA, millis(d.CreatedAt), millis(d.UpdatedAt), d.Context, d.GitHubDeploymentID,
		d.StaleAfter.Milliseconds(), millis(d.Deadline)).Scan(&id)
	if err == ErrNotFound {
		existing, err := tx.deploymentWhere(ctx, `request_key = $1`, d.RequestKey)
		return existing, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("insert deployment: %w", err)
	}
	d.ID, d.Promoted = id, -1
	for i, st := range steps {
		st.DeploymentID, st.Index = id, i
		if st.State == "" {
			st.State = StepPending
		}
		if st.Spec == "" {
			st.Spec = "{}"
		}
		if _, err := tx.q.exec(ctx, `INSERT INTO steps (deployment_id, idx, name, spec, state) VALUES ($1, $2, $3, $4, $5)`,
			id, i, st.Name, st.Spec, st.State); err != nil {
			return nil, false, fmt.Errorf("insert step %d: %w", i, err)
		}
	}
	return d, true, nil
}

// UpdateDeployment writes the mutable fields of d: progress, which moves
// its deadline on. It returns ErrEnded when the deployment's end is already
// recorded; nothing changes then.
func (tx *Tx) UpdateDeployment(ctx context.Context, d *Deployment) error {
	d.UpdatedAt = tx.s.now()
	d.Deadline = d.deadlineAt(d.UpdatedAt)
	n, err := tx.q.exec(ctx, `UPDATE deployments SET state = $1, step = $2, github_deployment_id = $3, comment_id = $4,
		check_run_id = $5, previous_sha = $6, backup_tag = $7, reason = $8, gates = $9, updated_at = $10,
		finished_at = $11, context = $12, deadline = $13 WHERE id = $14 AND finished_at = 0`,
		d.State, d.Step, d.GitHubDeploymentID, d.CommentID, d.CheckRunID, d.PreviousSHA, d.BackupTag, d.Reason,
		d.Gates, millis(d.UpdatedAt), millis(d.FinishedAt), d.Context, millis(d.Deadline), d.ID)
	if err != nil {
		return fmt.Errorf("update deployment %d: %w", d.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update deployment %d: %w", d.ID, ErrEnded)
	}
	return nil
}

// setDeadline starts d's reaper clock again now (a queued deployment was
// handed the environment, or a waiting one was woken).
func (tx *Tx) setDeadline(ctx context.Context, d *Deployment) error {
	now := tx.s.now()
	if _, err := tx.q.exec(ctx, `UPDATE deployments SET updated_at = $1,
		deadline = CASE WHEN stale_after > 0 THEN $1 + stale_after ELSE 0 END WHERE id = $2 AND finished_at = 0`,
		millis(now), d.ID); err != nil {
		return fmt.Errorf("move deadline of deployment %d: %w", d.ID, err)
	}
	d.UpdatedAt = now
	if d.StaleAfter > 0 {
		d.Deadline = now.Add(d.StaleAfter)
	}
	return nil
}

// StaleDeployments returns up to limit unfinished deployments whose
// deadline passed before now, oldest deadline first.
func (s *Store) StaleDeployments(ctx context.Context, now time.Time, limit int) ([]*Deployment, error) {
	return s.reader().deploymentsWhere(ctx, `finished_at = 0 AND deadline > 0 AND deadline < $1 ORDER BY deadline LIMIT $2`,
		millis(now), limit)
}

// Deployment loads one deployment by id.
func (s *Store) Deployment(ctx context.Context, id int64) (*Deployment, error) {
	return deploymentWhere(ctx, s.view(), `id = $1`, id)
}

// Deployment loads one deployment by id inside tx.
func (tx *Tx) Deployment(ctx context.Context, id int64) (*Deployment, error) {
	return tx.deploymentWhere(ctx, `id = $1`, id)
}

// DeploymentByCheckRun finds the deployment whose summary check run is id.
func (s *Store) DeploymentByCheckRun(ctx context.Context, repo string, checkRunID int64) (*Deployment, error) {
	return deploymentWhere(ctx, s.view(), `repo = $1 AND check_run_id = $2`, repo, checkRunID)
}

func (tx *Tx) deploymentWhere(ctx context.Context, where string, args ...any) (*Deployment, error) {
	return deploymentWhere(ctx, tx.q, where, args...)
}

func deploymentWhere(ctx context.Context, q querier, where string, args ...any) (*Deployment, error) {
	d, err := scanDeployment(q.queryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE `+where, args...))
	if err != nil {
		return nil, fmt.Errorf("load deployment (%s %v): %w", where, args, err)
	}
	return d, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
