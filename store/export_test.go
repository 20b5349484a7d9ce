package store

import "context"

// MarkJobsRunningForTest makes every available job look taken by a worker.
func (tx *Tx) MarkJobsRunningForTest(ctx context.Context) error {
	_, err := tx.q.exec(ctx, `UPDATE river_job SET state = 'running' WHERE state = 'available'`)
	return err
}
