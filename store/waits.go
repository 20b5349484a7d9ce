package store

import (
	"context"
	"fmt"
)

// Wake records that an event arrived for the unfinished deployments of repo
// at sha and returns the ids of those that were waiting; they are claimed
// (state running) so exactly one wake resumes each. Deployments that are
// running have their wake counter bumped: a gates step that is evaluating
// right now sees the bump when it tries to wait and re-evaluates instead.
func (tx *Tx) Wake(ctx context.Context, repo, sha string) ([]*Deployment, error) {
	return tx.wakeWhere(ctx, `repo = $1 AND sha = $2`, repo, sha)
}

// WakeGitHubDeployment is Wake for the deployment driving GitHub
// deployment id (a status another system reported on it).
func (tx *Tx) WakeGitHubDeployment(ctx context.Context, repo string, id int64) ([]*Deployment, error) {
	return tx.wakeWhere(ctx, `repo = $1 AND github_deployment_id = $2`, repo, id)
}

// WakeAtStep is Wake for the deployments of repo whose current step is
// named step (a workflow run completed: deployments running an Actions
// step look for theirs).
func (tx *Tx) WakeAtStep(ctx context.Context, repo, step string) ([]*Deployment, error) {
	return tx.wakeWhere(ctx, `repo = $1 AND EXISTS (SELECT 1 FROM steps
		WHERE steps.deployment_id = deployments.id AND steps.idx = deployments.step AND steps.name = $2)`, repo, step)
}

func (tx *Tx) wakeWhere(ctx context.Context, where string, args ...any) ([]*Deployment, error) {
	n := len(args)
	states := fmt.Sprintf(` AND state IN ($%d, $%d)`, n+1, n+2)
	if _, err := tx.q.exec(ctx, `UPDATE deployments SET wakes = wakes + 1 WHERE `+where+states,
		append(args, StateWaiting, StateRunning)...); err != nil {
		return nil, fmt.Errorf("wake deployments (%s): %w", where, err)
	}
	waiting, err := tx.deploymentsWhere(ctx, where+fmt.Sprintf(` AND state = $%d ORDER BY id`, n+1), append(args, StateWaiting)...)
	if err != nil {
		return nil, err
	}
	var claimed []*Deployment
	for _, d := range waiting {
		ok, err := tx.ClaimWaiting(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			d.State = StateRunning
			claimed = append(claimed, d)
		}
	}
	return claimed, nil
}

// ClaimWaiting moves deployment id from waiting to running; it reports
// false when it was not waiting (another wake or the timer got it first).
func (tx *Tx) ClaimWaiting(ctx context.Context, id int64) (bool, error) {
	n, err := tx.q.exec(ctx, `UPDATE deployments SET state = $1, updated_at = $4,
		deadline = CASE WHEN stale_after > 0 THEN $4 + stale_after ELSE 0 END WHERE id = $2 AND state = $3`,
		StateRunning, id, StateWaiting, millis(tx.s.now()))
	if err != nil {
		return false, fmt.Errorf("claim deployment %d: %w", id, err)
	}
	return n == 1, nil
}

// WakesOf reads deployment id's wake counter. On PostgreSQL it locks the
// row until tx ends: a wake committing meanwhile (its UPDATE holds the
// lock) is seen, and one that comes later finds the state tx writes, so a
// step that parks cannot miss a wake between the two.
func (tx *Tx) WakesOf(ctx context.Context, id int64) (int64, error) {
	q := `SELECT wakes FROM deployments WHERE id = $1`
	if tx.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var n int64
	err := tx.q.queryRow(ctx, q, id).Scan(&n)
	return n, err
}

// CancelStale marks the unfinished deployments requested from pull request
// pr whose SHA is not head as cancelled with reason. The pipeline honours
// the mark only in steps before anything is deployed. It returns them; the
// queued and waiting ones become running so the caller can enqueue their
// current step, which then stops them (pending and running ones see the mark
// at their next step).
func (tx *Tx) CancelStale(ctx context.Context, repo string, pr int, head, reason string) (all, resume []*Deployment, err error) {
	ds, err := tx.deploymentsWhere(ctx, `repo = $1 AND pr_number = $2 AND sha <> $3 AND state IN ($4, $5, $6, $7) AND cancel_reason = '' ORDER BY id`,
		repo, pr, head, StatePending, StateQueued, StateWaiting, StateRunning)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range ds {
		state := d.State
		if state == StateQueued || state == StateWaiting {
			state = StateRunning
			resume = append(resume, d)
		}
		// wakes moves too: a step evaluating right now must not park
		// without seeing the cancel (it compares wakes before parking).
		if _, err := tx.q.exec(ctx, `UPDATE deployments SET cancel_reason = $1, state = $2, wakes = wakes + 1 WHERE id = $3`, reason, state, d.ID); err != nil {
			return nil, nil, fmt.Errorf("cancel deployment %d: %w", d.ID, err)
		}
		if state != d.State {
			if err := tx.setDeadline(ctx, d); err != nil { // resumed: its next step runs now
				return nil, nil, err
			}
		}
		d.CancelReason, d.State = reason, state
	}
	return ds, resume, nil
}

// LastSuccess returns the SHA of the latest successful deployment (not a dry
// run) of repo to env, or "" when there is none.
func (s *Store) LastSuccess(ctx context.Context, repo, env string) (string, error) {
	var sha string
	err := s.view().queryRow(ctx, `SELECT sha FROM deployments WHERE repo = $1 AND environment = $2 AND state = $3
		AND task <> 'dry-run' ORDER BY finished_at DESC, id DESC LIMIT 1`, repo, env, StateSuccess).Scan(&sha)
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last success in %s/%s: %w", repo, env, err)
	}
	return sha, nil
}

// Deployed reports whether sha was deployed successfully to env (not a dry run).
func (s *Store) Deployed(ctx context.Context, repo, env, sha string) (bool, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM deployments WHERE repo = $1 AND environment = $2 AND sha = $3
		AND state = $4 AND task <> 'dry-run'`, repo, env, sha, StateSuccess).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("deployments of %s to %s/%s: %w", sha, repo, env, err)
	}
	return n > 0, nil
}

func (tx *Tx) deploymentsWhere(ctx context.Context, where string, args ...any) ([]*Deployment, error) {
	rs, err := tx.q.query(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments (%s): %w", where, err)
	}
	defer rs.Close()
	var out []*Deployment
	for rs.Next() {
		d, err := scanDeployment(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rs.Err()
}
