package store

import (
	"context"
	"fmt"
	"time"
)

// Step states.
const (
	StepPending = "pending"
	StepRunning = "running" // started; its effect may or may not have happened
	StepDone    = "done"
	StepFailed  = "failed"
	StepSkipped = "skipped"
)

// Step is one durable step of a deployment's pipeline.
type Step struct {
	DeploymentID int64
	Index        int
	Name         string // e.g. create-deployment, gates, backup, deploy, verify, finish
	Spec         string // JSON parameters of the step (strategy weight, slot, batch…)
	State        string
	Attempts     int
	Detail       string // one line for the record
	Result       string // JSON the step produced
	StartedAt    time.Time
	FinishedAt   time.Time
}

// Steps lists a deployment's steps in order.
func (s *Store) Steps(ctx context.Context, deploymentID int64) ([]Step, error) {
	return steps(ctx, s.view(), deploymentID)
}

// Steps lists a deployment's steps in order inside tx.
func (tx *Tx) Steps(ctx context.Context, deploymentID int64) ([]Step, error) {
	return steps(ctx, tx.q, deploymentID)
}

func steps(ctx context.Context, q querier, deploymentID int64) ([]Step, error) {
	rs, err := q.query(ctx, `SELECT deployment_id, idx, name, spec, state, attempts, detail, result, started_at, finished_at
		FROM steps WHERE deployment_id = $1 ORDER BY idx`, deploymentID)
	if err != nil {
		return nil, fmt.Errorf("list steps of %d: %w", deploymentID, err)
	}
	defer rs.Close()
	var out []Step
	for rs.Next() {
		var st Step
		var started, finished int64
		if err := rs.Scan(&st.DeploymentID, &st.Index, &st.Name, &st.Spec, &st.State, &st.Attempts, &st.Detail,
			&st.Result, &started, &finished); err != nil {
			return nil, err
		}
		st.StartedAt, st.FinishedAt = fromMillis(started), fromMillis(finished)
		out = append(out, st)
	}
	return out, rs.Err()
}

// UpdateStep writes a step's progress.
func (tx *Tx) UpdateStep(ctx context.Context, st Step) error {
	_, err := tx.q.exec(ctx, `UPDATE steps SET state = $1, attempts = $2, detail = $3, result = $4, started_at = $5,
		finished_at = $6 WHERE deployment_id = $7 AND idx = $8`,
		st.State, st.Attempts, st.Detail, st.Result, millis(st.StartedAt), millis(st.FinishedAt), st.DeploymentID, st.Index)
	if err != nil {
		return fmt.Errorf("update step %d/%d: %w", st.DeploymentID, st.Index, err)
	}
	return nil
}

// UpdateStep writes a step's progress in its own transaction.
func (s *Store) UpdateStep(ctx context.Context, st Step) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.UpdateStep(ctx, st) })
}

// RunClaimed reports whether an execute step of another deployment step of
// repo recorded workflow run runID as its own (steps keep it in their result
// JSON as "run_id"). Actions runs carry no trace of who dispatched them, so
// this keeps two deployments from following the same run.
func (s *Store) RunClaimed(ctx context.Context, repo string, runID, deploymentID int64, idx int) (bool, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM steps JOIN deployments ON deployments.id = steps.deployment_id
		WHERE deployments.repo = $1 AND steps.name IN ('execute', 'smoke-workflow') AND (steps.result LIKE $2 OR steps.result LIKE $3)
		AND NOT (steps.deployment_id = $4 AND steps.idx = $5)`,
		repo, fmt.Sprintf(`%%"run_id":%d,%%`, runID), fmt.Sprintf(`%%"run_id":%d}%%`, runID), deploymentID, idx).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("is run %d claimed: %w", runID, err)
	}
	return n > 0, nil
}
