package store

import (
	"context"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// migrations are applied in order; each runs once. `{{id}}` becomes the
// engine's auto-increment primary key. Times are Unix milliseconds so both
// engines store and compare them the same way.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS deliveries (
		id TEXT PRIMARY KEY,
		event TEXT NOT NULL,
		installation_id BIGINT NOT NULL DEFAULT 0,
		payload TEXT NOT NULL,
		received_at BIGINT NOT NULL
	);
	CREATE TABLE IF NOT EXISTS deployments (
		id {{id}},
		request_key TEXT NOT NULL UNIQUE,
		repo TEXT NOT NULL,
		installation_id BIGINT NOT NULL,
		environment TEXT NOT NULL,
		ref TEXT NOT NULL,
		sha TEXT NOT NULL,
		task TEXT NOT NULL,
		trigger TEXT NOT NULL,
		requested_by TEXT NOT NULL,
		pr_number BIGINT NOT NULL DEFAULT 0,
		rollback_of BIGINT NOT NULL DEFAULT 0,
		strategy TEXT NOT NULL,
		production INTEGER NOT NULL DEFAULT 0,
		state TEXT NOT NULL,
		step INTEGER NOT NULL DEFAULT 0,
		github_deployment_id BIGINT NOT NULL DEFAULT 0,
		comment_id BIGINT NOT NULL DEFAULT 0,
		check_run_id BIGINT NOT NULL DEFAULT 0,
		previous_sha TEXT NOT NULL DEFAULT '',
		backup_tag TEXT NOT NULL DEFAULT '',
		reason TEXT NOT NULL DEFAULT '',
		env_config TEXT NOT NULL,
		gates TEXT NOT NULL DEFAULT '[]',
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		finished_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX IF NOT EXISTS deployments_env ON deployments (repo, environment, state, id);
	CREATE INDEX IF NOT EXISTS deployments_check_run ON deployments (check_run_id);
	CREATE TABLE IF NOT EXISTS steps (
		deployment_id BIGINT NOT NULL REFERENCES deployments(id),
		idx INTEGER NOT NULL,
		name TEXT NOT NULL,
		spec TEXT NOT NULL DEFAULT '{}',
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		detail TEXT NOT NULL DEFAULT '',
		result TEXT NOT NULL DEFAULT '{}',
		started_at BIGINT NOT NULL DEFAULT 0,
		finished_at BIGINT NOT NULL DEFAULT 0,
		PRIMARY KEY (deployment_id, idx)
	);
	CREATE TABLE IF NOT EXISTS env_locks (
		repo TEXT NOT NULL,
		environment TEXT NOT NULL,
		deployment_id BIGINT NOT NULL,
		acquired_at BIGINT NOT NULL,
		PRIMARY KEY (repo, environment)
	);`,
	// Event-driven waits: wakes counts webhooks that arrived for a
	// deployment (so one arriving while its gates are being evaluated is not
	// lost); cancel_reason is set when the deployment must stop (its pull
	// request's head moved).
	`ALTER TABLE deployments ADD COLUMN wakes BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE deployments ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';
	CREATE INDEX IF NOT EXISTS deployments_sha ON deployments (repo, sha, state);
	CREATE INDEX IF NOT EXISTS deployments_pr ON deployments (repo, pr_number, state);`,
	// context holds what a trigger brought (release, protection-rule run,
	// environments to deploy next); manual_locks are /lock's.
	`ALTER TABLE deployments ADD COLUMN context TEXT NOT NULL DEFAULT '{}';
	CREATE INDEX IF NOT EXISTS deployments_github ON deployments (repo, github_deployment_id);
	CREATE TABLE IF NOT EXISTS manual_locks (
		repo TEXT NOT NULL,
		environment TEXT NOT NULL,
		owner TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL DEFAULT 0,
		PRIMARY KEY (repo, environment)
	);`,
	// Nothing wedges, storage is bounded: stale_after and deadline let the
	// reaper find deployments that made no progress with one indexed query
	// (deployments unfinished before this migration get 85 minutes from
	// their last write); processed_at marks deliveries whose payload was
	// dropped, received_at bounds how long their ids are kept.
	`ALTER TABLE deployments ADD COLUMN stale_after BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE deployments ADD COLUMN deadline BIGINT NOT NULL DEFAULT 0;
	UPDATE deployments SET stale_after = 5100000 WHERE finished_at = 0;
	UPDATE deployments SET deadline = updated_at + stale_after WHERE finished_at = 0 AND state <> 'queued';
	CREATE INDEX IF NOT EXISTS deployments_deadline ON deployments (finished_at, deadline);
	ALTER TABLE deliveries ADD COLUMN processed_at BIGINT NOT NULL DEFAULT 0;
	CREATE INDEX IF NOT EXISTS deliveries_received ON deliveries (received_at);`,
	// reply_limits counts deploybot's replies to one user on one pull
	// request or issue in a window (no amplification; DESIGN.md §4). kind
	// names the budget: "untrusted" (below triage) or "reply" (everyone).
	`CREATE TABLE IF NOT EXISTS reply_limits (
		repo TEXT NOT NULL,
		pr_number BIGINT NOT NULL,
		login TEXT NOT NULL,
		kind TEXT NOT NULL,
		window_start BIGINT NOT NULL,
		replies INTEGER NOT NULL,
		PRIMARY KEY (repo, pr_number, login, kind)
	);
	CREATE INDEX IF NOT EXISTS reply_limits_window ON reply_limits (window_start);`,
	// step_leases: the replica running a deployment's current step renews
	// its lease every few seconds; a lease past expires_at belongs to a
	// replica that died, and any replica's lease reaper resumes the step.
	`CREATE TABLE IF NOT EXISTS step_leases (
		deployment_id BIGINT PRIMARY KEY,
		step INTEGER NOT NULL,
		owner TEXT NOT NULL,
		expires_at BIGINT NOT NULL
	);
	CREATE INDEX IF NOT EXISTS step_leases_expiry ON step_leases (expires_at);`,
	// Interventions in a progressive rollout: abort_reason stops it at its
	// next step (and undoes what it changed); promoted is the index of the
	// manual pause someone promoted (-1: none); env_slots holds which
	// blue-green slot is live per environment.
	`ALTER TABLE deployments ADD COLUMN abort_reason TEXT NOT NULL DEFAULT '';
	ALTER TABLE deployments ADD COLUMN promoted INTEGER NOT NULL DEFAULT -1;
	ALTER TABLE deployments ADD COLUMN promoted_by TEXT NOT NULL DEFAULT '';
	CREATE TABLE IF NOT EXISTS env_slots (
		repo TEXT NOT NULL,
		environment TEXT NOT NULL,
		live_slot TEXT NOT NULL,
		live_sha TEXT NOT NULL DEFAULT '',
		previous_sha TEXT NOT NULL DEFAULT '',
		deployment_id BIGINT NOT NULL DEFAULT 0,
		switched_at BIGINT NOT NULL DEFAULT 0,
		PRIMARY KEY (repo, environment)
	);`,
	// monitors: the watch over a successful deployment for its monitoring
	// window (it no longer holds the environment). state: watching, then
	// passed, breached or superseded; ticks are durable timer jobs.
	`CREATE TABLE IF NOT EXISTS monitors (
		deployment_id BIGINT PRIMARY KEY,
		repo TEXT NOT NULL,
		environment TEXT NOT NULL,
		started_at BIGINT NOT NULL,
		ends_at BIGINT NOT NULL,
		reported_at BIGINT NOT NULL,
		state TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		labels TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX IF NOT EXISTS monitors_watching ON monitors (repo, state, environment);`,
	// executor_callbacks keeps the result a webhook executor reported by a
	// signed callback for one step (DESIGN.md §7): its state only.
	`CREATE TABLE IF NOT EXISTS executor_callbacks (
		deployment_id BIGINT NOT NULL REFERENCES deployments(id),
		idx INTEGER NOT NULL,
		state TEXT NOT NULL,
		received_at BIGINT NOT NULL,
		PRIMARY KEY (deployment_id, idx)
	);`,
	// The change feed the pages follow (changes.go): PostgreSQL notifies
	// from triggers (postgresMigrations); SQLite needs nothing in the
	// schema, its connection hooks watch the same tables.
	``,
}

// postgresMigrations replace, on PostgreSQL, the shared text of the
// migration at that index; each is one statement, so a function body may
// hold semicolons.
var postgresMigrations = map[int][]string{
	9: postgresChangeTriggers, // the change feed
}

// Migrate creates or upgrades deploybot's schema and River's.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrateRiver(ctx); err != nil {
		return fmt.Errorf("migrate queue schema: %w", err)
	}
	idType := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if s.dialect == Postgres {
		idType = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		if s.dialect == Postgres {
			// Serialise concurrent start-ups of several replicas.
			if _, err := tx.q.exec(ctx, `SELECT pg_advisory_xact_lock(727274)`); err != nil {
				return err
			}
		}
		if _, err := tx.q.exec(ctx, `CREATE TABLE IF NOT EXISTS deploybot_schema (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("create schema table: %w", err)
		}
		var version int
		if err := tx.q.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM deploybot_schema`).Scan(&version); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for i := version; i < len(migrations); i++ {
			stmts := splitStatements(migrations[i])
			if pg, ok := postgresMigrations[i]; ok && s.dialect == Postgres {
				stmts = pg
			}
			for _, stmt := range stmts {
				stmt = replaceAll(stmt, "{{id}}", idType)
				if _, err := tx.q.exec(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", i+1, err)
				}
			}
			if _, err := tx.q.exec(ctx, `INSERT INTO deploybot_schema (version) VALUES ($1)`, i+1); err != nil {
				return fmt.Errorf("record migration %d: %w", i+1, err)
			}
		}
		return nil
	})
	if err != nil || s.sqliteFeed == nil {
		return err
	}
	return s.sqliteFeed.learnLayout(ctx, s)
}

func (s *Store) migrateRiver(ctx context.Context) error {
	if s.pool != nil {
		m, err := rivermigrate.New(riverpgxv5.New(s.pool), nil)
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}
	m, err := rivermigrate.New(riversqlite.New(s.sqlDB), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}
