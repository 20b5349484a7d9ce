package store

import (
	"context"
	"fmt"
)

// Results a webhook executor may report by callback.
const (
	CallbackSuccess = "success"
	CallbackFailure = "failure"
)

// ExecutorCallback reads the result reported by callback for step idx of
// deployment id ("" when none arrived).
func (s *Store) ExecutorCallback(ctx context.Context, id int64, idx int) (string, error) {
	return executorCallback(ctx, s.view(), id, idx)
}

// ExecutorCallback is Store.ExecutorCallback inside tx.
func (tx *Tx) ExecutorCallback(ctx context.Context, id int64, idx int) (string, error) {
	return executorCallback(ctx, tx.q, id, idx)
}

func executorCallback(ctx context.Context, q querier, id int64, idx int) (string, error) {
	var state string
	err := q.queryRow(ctx, `SELECT state FROM executor_callbacks WHERE deployment_id = $1 AND idx = $2`, id, idx).Scan(&state)
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read callback of step %d/%d: %w", id, idx, err)
	}
	return state, nil
}

// RecordExecutorCallback keeps state as the result of step idx of
// deployment id, unless one is recorded already (the first result stands).
// It reports whether it recorded this one.
func (tx *Tx) RecordExecutorCallback(ctx context.Context, id int64, idx int, state string) (bool, error) {
	n, err := tx.q.exec(ctx, `INSERT INTO executor_callbacks (deployment_id, idx, state, received_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (deployment_id, idx) DO NOTHING`, id, idx, state, millis(tx.s.now()))
	if err != nil {
		return false, fmt.Errorf("record callback of step %d/%d: %w", id, idx, err)
	}
	return n == 1, nil
}

// WakeDeployment is Wake for deployment id alone (its executor reported a
// result): it is claimed if it was waiting, and its wake counter bumped if
// it was running.
func (tx *Tx) WakeDeployment(ctx context.Context, id int64) ([]*Deployment, error) {
	return tx.wakeWhere(ctx, `id = $1`, id)
}
