// Package store persists deploybot's state: webhook deliveries, deployments and
// their steps, and environment locks. It runs on SQLite (the default, pure Go)
// or PostgreSQL; both use the same SQL (`$N` placeholders work in both) and the
// same River queue, so a delivery is stored and enqueued in one transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"
)

// Dialect names the database engine behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the handle on the database. It is safe for concurrent use.
type Store struct {
	dialect Dialect
	sqlDB   *sql.DB       // SQLite
	pool    *pgxpool.Pool // PostgreSQL
	queue   queue         // set by StartQueue
	clock   func() time.Time

	feed       *feed          // what changed, for the pages (changes.go)
	sqliteFeed *sqliteChanges // SQLite: the connection hooks behind feed
	stopFeed   context.CancelFunc
	feedErrors func(error)
}

// SetFeedErrors makes the change feed report a lost database connection to
// report (it reconnects by itself); by default such errors are not shown.
func (s *Store) SetFeedErrors(report func(error)) { s.feedErrors = report }

// SetClock makes the store stamp progress and deadlines with now instead of
// time.Now (tests move deploybot's clock instead of sleeping).
func (s *Store) SetClock(now func() time.Time) { s.clock = now }

func (s *Store) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// Open connects to databaseURL: "sqlite:<path>" (or a bare path, or
// "sqlite::memory:") or "postgres://…". It does not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		pool, err := pgxpool.New(ctx, databaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		st := &Store{dialect: Postgres, pool: pool, feed: newFeed()}
		feedCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		st.stopFeed = stop
		st.feed.start = func() error { return st.listenPostgres(feedCtx) }
		return st, nil
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite://"), "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("DATABASE_URL %q names no SQLite file (use sqlite:deploybot.db)", databaseURL)
		}
		dsn := path
		if path != ":memory:" {
			dsn = "file:" + path
		}
		dsn += "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
		connector, err := sqlite.NewConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		f := newFeed()
		changes := newSQLiteChanges(f)
		db := sql.OpenDB(hookedConnector{Connector: connector, changes: changes})
		// SQLite allows one writer; River's SQLite driver asks for a single
		// connection so its maintenance never collides with our writes.
		db.SetMaxOpenConns(1)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		st := &Store{dialect: SQLite, sqlDB: db, feed: f, sqliteFeed: changes}
		feedCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		st.stopFeed = stop
		go changes.run(feedCtx, st)
		return st, nil
	}
}

// Dialect reports the engine in use.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks that the database answers (used by /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if s.pool != nil {
		return s.pool.Ping(ctx)
	}
	return s.sqlDB.PingContext(ctx)
}

// Close releases the connections. Stop the queue first.
func (s *Store) Close() {
	s.stopFeed()
	s.feed.close()
	if s.pool != nil {
		s.pool.Close()
	}
	if s.sqlDB != nil {
		s.sqlDB.Close()
	}
}

// Tx is one database transaction. Its methods are the store's operations, so
// several of them (and job inserts) commit or roll back together.
type Tx struct {
	s     *Store
	q     querier
	sqlTx *sql.Tx
	pgTx  pgx.Tx
}

// InTx runs fn in a transaction and commits it if fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.pool != nil {
		ptx, err := s.pool.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer ptx.Rollback(ctx) //nolint:errcheck // no-op after commit
		if err := fn(&Tx{s: s, q: pgxQuerier{ptx}, pgTx: ptx}); err != nil {
			return err
		}
		return ptx.Commit(ctx)
	}
	stx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer stx.Rollback() //nolint:errcheck // no-op after commit
	if err := fn(&Tx{s: s, q: sqlQuerier{stx}, sqlTx: stx}); err != nil {
		return err
	}
	return stx.Commit()
}

// view runs a read outside an explicit transaction.
func (s *Store) view() querier {
	if s.pool != nil {
		return pgxQuerier{s.pool}
	}
	return sqlQuerier{s.sqlDB}
}

// querier hides the difference between database/sql and pgx.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	queryRow(ctx context.Context, q string, args ...any) scanner
	query(ctx context.Context, q string, args ...any) (rows, error)
}

type scanner interface{ Scan(dest ...any) error }

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type sqlConn interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type sqlQuerier struct{ c sqlConn }

func (q sqlQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	res, err := q.c.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqlQuerier) queryRow(ctx context.Context, s string, args ...any) scanner {
	return sqlRow{q.c.QueryRowContext(ctx, s, args...)}
}

func (q sqlQuerier) query(ctx context.Context, s string, args ...any) (rows, error) {
	r, err := q.c.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	if err := r.r.Scan(dest...); errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	} else {
		return err
	}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

type pgxConn interface {
	Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, q string, args ...any) pgx.Row
	Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
}

type pgxQuerier struct{ c pgxConn }

func (q pgxQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	tag, err := q.c.Exec(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pgxQuerier) queryRow(ctx context.Context, s string, args ...any) scanner {
	return pgxRow{q.c.QueryRow(ctx, s, args...)}
}

func (q pgxQuerier) query(ctx context.Context, s string, args ...any) (rows, error) {
	return q.c.Query(ctx, s, args...)
}

type pgxRow struct{ r pgx.Row }

func (r pgxRow) Scan(dest ...any) error {
	if err := r.r.Scan(dest...); errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	} else {
		return err
	}
}
