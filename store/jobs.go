package store

import (
	"context"
	"fmt"
)

// JobAttempts is what the queue did with one job: its state and how many
// times it was attempted.
type JobAttempts struct {
	State   string
	Attempt int
}

// JobsOfKind lists the queued jobs of kind, oldest first.
func (s *Store) JobsOfKind(ctx context.Context, kind string) ([]JobAttempts, error) {
	rs, err := s.view().query(ctx, `SELECT state, attempt FROM river_job WHERE kind = $1 ORDER BY id`, kind)
	if err != nil {
		return nil, fmt.Errorf("list %s jobs: %w", kind, err)
	}
	defer rs.Close()
	var out []JobAttempts
	for rs.Next() {
		var j JobAttempts
		if err := rs.Scan(&j.State, &j.Attempt); err != nil {
			return nil, fmt.Errorf("list %s jobs: %w", kind, err)
		}
		out = append(out, j)
	}
	return out, rs.Err()
}
