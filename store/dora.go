package store

import (
	"context"
	"fmt"
	"time"
)

// DoraDeployment is one finished deploy or rollback as the delivery
// metrics (DORA) need it.
type DoraDeployment struct {
	ID                 int64
	Repo, Environment  string
	SHA, Task, State   string
	GitHubDeploymentID int64
	RollbackOf         int64 // GitHub deployment id this one rolls back
	// FirstSeen is when deploybot was first asked to deploy this SHA of
	// the repository (any environment): the start of its lead time.
	FirstSeen  time.Time
	FinishedAt time.Time
	// Changed is false for a failure that stopped before its execute step
	// (a gate refused it): the environment never saw it.
	Changed bool
}

// doraCap bounds the rows one read returns.
const doraCap = 200_000

// DoraDeployments returns the deployments (tasks deploy and
// deploy:rollback; never dry runs or protection-rule answers) that ended
// at or after since, of repo or of every repository when repo is "",
// ordered by repository, environment and end. One query: the range is
// served by deployments_deadline (finished_at, …) or, for one repository,
// deployments_env (repo, …); the first-seen and changed sub-queries by
// deployments_sha (repo, sha, …) and the steps' primary key.
func (s *Store) DoraDeployments(ctx context.Context, repo string, since time.Time) ([]*DoraDeployment, error) {
	where := `d.finished_at >= $1`
	args := []any{millis(since), StateSuccess, StateFailure, StateError, doraCap}
	if repo != "" {
		where = `d.repo = $6 AND ` + where
		args = append(args, repo)
	}
	rs, err := s.view().query(ctx, `SELECT d.id, d.repo, d.environment, d.sha, d.task, d.state,
		d.github_deployment_id, d.rollback_of, d.finished_at,
		(SELECT MIN(f.created_at) FROM deployments f WHERE f.repo = d.repo AND f.sha = d.sha AND f.task IN ('deploy', 'deploy:rollback')),
		CASE WHEN d.state = $2 OR EXISTS (SELECT 1 FROM steps x WHERE x.deployment_id = d.id AND x.name = 'execute'
			AND x.state NOT IN ('pending', 'skipped')) THEN 1 ELSE 0 END
		FROM deployments d WHERE `+where+` AND d.task IN ('deploy', 'deploy:rollback') AND d.state IN ($2, $3, $4)
		ORDER BY d.repo, d.environment, d.finished_at, d.id LIMIT $5`, args...)
	if err != nil {
		return nil, fmt.Errorf("delivery metrics: %w", err)
	}
	defer rs.Close()
	var out []*DoraDeployment
	for rs.Next() {
		var d DoraDeployment
		var first, finished int64
		var changed int
		if err := rs.Scan(&d.ID, &d.Repo, &d.Environment, &d.SHA, &d.Task, &d.State, &d.GitHubDeploymentID,
			&d.RollbackOf, &finished, &first, &changed); err != nil {
			return nil, fmt.Errorf("delivery metrics: %w", err)
		}
		d.FirstSeen, d.FinishedAt, d.Changed = fromMillis(first), fromMillis(finished), changed != 0
		out = append(out, &d)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("delivery metrics: %w", err)
	}
	return out, nil
}
