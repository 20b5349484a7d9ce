package store

import "context"

// LockWaitersForTest counts PostgreSQL backends waiting for a lock.
func (s *Store) LockWaitersForTest(ctx context.Context) (int, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT wakes FROM deployments%'`).Scan(&n)
	return n, err
}
