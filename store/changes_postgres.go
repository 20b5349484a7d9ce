package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The change feed's NOTIFY channel is "deploybot:" and the schema's name
// (cut to fit PostgreSQL's 63-byte names): channels are database-wide, and
// two deploybots, or two tests, in schemas of one database must not hear
// each other.
const changesChannel = "deploybot:"

func changesChannelOf(schema string) string { return changesChannel + schema[:min(len(schema), 53)] }

// listenerName is the application_name of a replica's listening connection.
func listenerName(schema string) string { return "deploybot changes " + schema }

// postgresChangeTriggers notify the schema's channel when a watched row is
// written. NOTIFY is transactional: listeners on every replica hear of a
// change when, and only if, it commits, and PostgreSQL folds identical
// notifications of one transaction into one. Deleted deployments, steps
// and monitors are history being pruned, so only a lock's deletion (an
// unlock) is news.
var postgresChangeTriggers = []string{
	`CREATE OR REPLACE FUNCTION deploybot_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	r RECORD;
	repo TEXT;
	env TEXT;
	dep BIGINT := 0;
BEGIN
	IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
	IF TG_TABLE_NAME = 'deployments' THEN
		repo := r.repo; env := r.environment; dep := r.id;
	ELSIF TG_TABLE_NAME = 'monitors' THEN
		repo := r.repo; env := r.environment; dep := r.deployment_id;
	ELSIF TG_TABLE_NAME = 'manual_locks' THEN
		repo := r.repo; env := r.environment;
	ELSE
		dep := r.deployment_id;
		SELECT d.repo, d.environment INTO repo, env FROM deployments d WHERE d.id = dep;
	END IF;
	PERFORM pg_notify('` + changesChannel + `' || left(TG_TABLE_SCHEMA, 53), json_build_object('repo', repo, 'environment', env, 'deployment', dep)::text);
	RETURN NULL;
END
$$`,
	`CREATE TRIGGER deploybot_changes AFTER INSERT OR UPDATE ON deployments FOR EACH ROW EXECUTE FUNCTION deploybot_notify_change()`,
	`CREATE TRIGGER deploybot_changes AFTER INSERT OR UPDATE ON steps FOR EACH ROW EXECUTE FUNCTION deploybot_notify_change()`,
	`CREATE TRIGGER deploybot_changes AFTER INSERT OR UPDATE ON monitors FOR EACH ROW EXECUTE FUNCTION deploybot_notify_change()`,
	`CREATE TRIGGER deploybot_changes AFTER INSERT OR UPDATE OR DELETE ON manual_locks FOR EACH ROW EXECUTE FUNCTION deploybot_notify_change()`,
}

// listenPostgres starts following the schema's channel on a connection of
// its own, until ctx ends. A lost connection is opened again; since
// notifications sent meanwhile are lost, subscribers are then told to
// reload everything.
func (s *Store) listenPostgres(ctx context.Context) error {
	conn, err := s.listen(ctx)
	if err != nil {
		return err
	}
	go func() {
		backoff := time.Second
		for {
			err := s.follow(ctx, conn)
			if ctx.Err() != nil {
				return
			}
			s.feed.publish(nil, true)
			if s.feedErrors != nil {
				s.feedErrors(fmt.Errorf("change feed: %w", err))
			}
			for conn = nil; conn == nil; {
				// Wait before trying again, so a database that is down
				// is not hammered.
				t := time.NewTimer(backoff)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				backoff = min(2*backoff, 30*time.Second)
				if conn, err = s.listen(ctx); err != nil && s.feedErrors != nil {
					s.feedErrors(fmt.Errorf("change feed: %w", err))
				}
			}
			backoff = time.Second
			s.feed.publish(nil, true) // what was said while not listening is lost
		}
	}()
	return nil
}

// listen takes a connection out of the pool for good (it stays in LISTEN
// mode) and listens on the schema's channel.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	conn := pc.Hijack()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // already failing
		return nil, err
	}
	// Named, so an operator sees what the long-lived connection is for.
	if _, err := conn.Exec(ctx, "SELECT set_config('application_name', $1, false)", listenerName(schema)); err != nil {
		conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // already failing
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{changesChannelOf(schema)}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // already failing
		return nil, err
	}
	return conn, nil
}

// follow publishes the notifications conn receives until it fails.
func (s *Store) follow(ctx context.Context, conn *pgx.Conn) error {
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a dead connection
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var ch Change
		if json.Unmarshal([]byte(n.Payload), &ch) != nil || ch.Repo == "" {
			continue // a row whose deployment is gone
		}
		s.feed.publish([]Change{ch}, false)
	}
}
