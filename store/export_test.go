package store

import "context"

// MarkJobsRunningForTest makes every available job look taken by a worker.
func (tx *Tx) MarkJobsRunningForTest(ctx context.Context) error {
	_, err := tx.q.exec(ctx, `UPDATE river_job SET state = 'running' WHERE state = 'available'`)
	return err
}

// CountReplyWindows counts the rows of reply_limits.
func (s *Store) CountReplyWindows(ctx context.Context) (int, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM reply_limits`).Scan(&n)
	return n, err
}
