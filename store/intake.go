package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/riverqueue/river"
)

// InsertDeliveries stores ds and, for each one that is new, the job job(d)
// in ONE transaction (group commit: the webhook intake batches the
// deliveries that arrive together). It reports, per delivery, whether it
// was new. A delivery whose ID is already stored, or appears earlier in ds,
// is not new and gets no job: deduplication by X-GitHub-Delivery holds
// inside a batch and across batches.
func (s *Store) InsertDeliveries(ctx context.Context, ds []Delivery, job func(Delivery) river.JobArgs) ([]bool, error) {
	isNew := make([]bool, len(ds))
	if len(ds) == 0 {
		return isNew, nil
	}
	if s.queue == nil {
		return nil, errors.New("queue not set up")
	}
	// Rows go in id order: two replicas' batches that share ids then lock
	// them in the same order (PostgreSQL), instead of deadlocking.
	order := make([]int, len(ds))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(ds[a].ID, ds[b].ID) })
	first := make(map[string]int, len(ds)) // delivery id → index of its first occurrence
	var sb strings.Builder
	sb.WriteString(`INSERT INTO deliveries (id, event, installation_id, payload, received_at) VALUES `)
	args := make([]any, 0, 5*len(ds))
	for _, i := range order {
		d := ds[i]
		if _, dup := first[d.ID]; dup {
			continue
		}
		first[d.ID] = i
		if len(args) > 0 {
			sb.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, d.ID, d.Event, d.InstallationID, string(d.Payload), millis(d.ReceivedAt))
	}
	sb.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING id`)
	err := s.InTx(ctx, func(tx *Tx) error {
		rs, err := tx.q.query(ctx, sb.String(), args...)
		if err != nil {
			return fmt.Errorf("insert %d deliveries: %w", len(first), err)
		}
		defer rs.Close()
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				return fmt.Errorf("insert deliveries: %w", err)
			}
			isNew[first[id]] = true
		}
		if err := rs.Err(); err != nil {
			return fmt.Errorf("insert deliveries: %w", err)
		}
		rs.Close() // SQLite: free the connection's statement before River's insert
		var jobs []river.InsertManyParams
		for i, d := range ds {
			if isNew[i] {
				jobs = append(jobs, river.InsertManyParams{Args: job(d)})
			}
		}
		if len(jobs) == 0 {
			return nil
		}
		if err := s.queue.insertManyTx(ctx, tx, jobs); err != nil {
			return fmt.Errorf("enqueue %d delivery jobs: %w", len(jobs), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return isNew, nil
}

// Commit is a commit of a repository (owner/name and SHA).
type Commit struct{ Repo, SHA string }

// UnfinishedCommits lists the commits that unfinished deployments are on
// (any state before success, failure or error): the only commits whose
// check runs, check suites and statuses can wake a deployment (Wake).
func (s *Store) UnfinishedCommits(ctx context.Context) ([]Commit, error) {
	rs, err := s.view().query(ctx, `SELECT DISTINCT repo, sha FROM deployments WHERE finished_at = 0`)
	if err != nil {
		return nil, fmt.Errorf("list commits of unfinished deployments: %w", err)
	}
	defer rs.Close()
	var out []Commit
	for rs.Next() {
		var c Commit
		if err := rs.Scan(&c.Repo, &c.SHA); err != nil {
			return nil, fmt.Errorf("list commits of unfinished deployments: %w", err)
		}
		out = append(out, c)
	}
	return out, rs.Err()
}
