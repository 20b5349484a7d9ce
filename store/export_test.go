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

// DropChangeListener ends this store's change-feed connection from the
// server side, as a failover or a network cut would.
func (s *Store) DropChangeListener(ctx context.Context) (int, error) {
	var schema string
	if err := s.view().queryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, err
	}
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, listenerName(schema)).Scan(&n)
	return n, err
}
