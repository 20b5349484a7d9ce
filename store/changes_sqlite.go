package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// watchedColumns names, per table the pages show, the columns a Change is
// read from ("" when the table has none: a step names only its deployment,
// a lock no deployment).
var watchedColumns = map[string][3]string{
	"deployments":  {"repo", "environment", "id"},
	"steps":        {"", "", "deployment_id"},
	"monitors":     {"repo", "environment", "deployment_id"},
	"manual_locks": {"repo", "environment", ""},
}

// columnsOf is where a watched table's columns are in its rows (-1: none).
type columnsOf struct{ repo, env, deployment, width int }

// sqliteChanges is the SQLite side of the change feed. SQLite has no
// NOTIFY, and deploybot uses it from one process, so the connection's own
// hooks see every write: the pre-update hook notes the watched rows a
// transaction writes, the commit hook hands them to the dispatcher, the
// rollback hook forgets them. The dispatcher names the repository of rows
// that only carry a deployment id (a step) and publishes.
type sqliteChanges struct {
	feed   *feed
	layout atomic.Pointer[map[string]columnsOf] // set once the schema is migrated

	mu    sync.Mutex
	txn   []Change // written by the open transaction
	inbox []Change // committed, not yet published
	wake  chan struct{}

	known map[int64]Change // deployment id -> its repository and environment (dispatcher only)
}

func newSQLiteChanges(f *feed) *sqliteChanges {
	return &sqliteChanges{feed: f, wake: make(chan struct{}, 1), known: map[int64]Change{}}
}

// hookedConnector opens SQLite connections with the change hooks installed,
// so a connection database/sql opens again keeps them.
type hookedConnector struct {
	driver.Connector
	changes *sqliteChanges
}

func (c hookedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	h, ok := conn.(sqlite.HookRegisterer)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("the sqlite driver's connection has no hooks (%T)", conn)
	}
	h.RegisterPreUpdateHook(c.changes.preUpdate)
	h.RegisterCommitHook(c.changes.commit)
	h.RegisterRollbackHook(c.changes.rollback)
	return conn, nil
}

// preUpdate runs inside SQLite, on the writing goroutine, for every row
// written: it must not touch the database.
func (c *sqliteChanges) preUpdate(d sqlite.SQLitePreUpdateData) {
	layout := c.layout.Load()
	if layout == nil || d.DatabaseName != "main" || c.feed.open.Load() == 0 {
		return // nobody follows: a write costs one atomic load more
	}
	cols, ok := (*layout)[d.TableName]
	// A deleted deployment, step or monitor is history being pruned, not
	// news; a deleted lock is an unlock.
	if !ok || (d.Op == sqlite3.SQLITE_DELETE && d.TableName != "manual_locks") {
		return
	}
	row := make([]any, cols.width)
	var err error
	if d.Op == sqlite3.SQLITE_DELETE {
		err = d.Old(row...)
	} else {
		err = d.New(row...)
	}
	if err != nil {
		return
	}
	var ch Change
	if cols.repo >= 0 {
		ch.Repo, _ = row[cols.repo].(string)
		ch.Environment, _ = row[cols.env].(string)
	}
	if cols.deployment >= 0 {
		ch.Deployment, _ = row[cols.deployment].(int64)
	}
	if d.TableName == "deployments" && ch.Deployment == 0 {
		ch.Deployment = d.NewRowID
	}
	c.mu.Lock()
	c.txn = append(c.txn, ch)
	c.mu.Unlock()
}

func (c *sqliteChanges) commit() int32 {
	c.mu.Lock()
	if len(c.txn) > 0 {
		c.inbox = append(c.inbox, c.txn...)
		c.txn = c.txn[:0]
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	return 0 // let the commit go on
}

func (c *sqliteChanges) rollback() {
	c.mu.Lock()
	c.txn = c.txn[:0]
	c.mu.Unlock()
}

// run publishes committed changes until ctx ends. It reads the database
// only for steps of deployments it has not seen written since start.
func (c *sqliteChanges) run(ctx context.Context, s *Store) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		c.mu.Lock()
		batch := c.inbox
		c.inbox = nil
		c.mu.Unlock()
		if err := c.name(ctx, s, batch); err != nil {
			c.feed.publish(nil, true) // cannot say which: everything may have changed
			continue
		}
		c.feed.publish(batch, false)
	}
}

// name fills in the repository and environment of changes that carry only
// a deployment id.
func (c *sqliteChanges) name(ctx context.Context, s *Store, batch []Change) error {
	if len(c.known) > 10000 {
		clear(c.known)
	}
	var missing []int64
	for _, ch := range batch {
		if ch.Repo != "" && ch.Deployment > 0 {
			c.known[ch.Deployment] = Change{Repo: ch.Repo, Environment: ch.Environment, Deployment: ch.Deployment}
		}
	}
	for _, ch := range batch {
		if _, ok := c.known[ch.Deployment]; ch.Repo == "" && !ok {
			missing = append(missing, ch.Deployment)
		}
	}
	if len(missing) > 0 {
		in, args := inList(1, missing)
		rs, err := s.view().query(ctx, `SELECT id, repo, environment FROM deployments WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return fmt.Errorf("name changed deployments: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			var ch Change
			if err := rs.Scan(&ch.Deployment, &ch.Repo, &ch.Environment); err != nil {
				return err
			}
			c.known[ch.Deployment] = ch
		}
		if err := rs.Err(); err != nil {
			return err
		}
	}
	for i, ch := range batch {
		if ch.Repo == "" {
			batch[i] = c.known[ch.Deployment]
		}
	}
	return nil
}

// learnLayout reads where the watched columns are, once the schema is
// migrated; until then the hooks ignore every write.
func (c *sqliteChanges) learnLayout(ctx context.Context, s *Store) error {
	layout := map[string]columnsOf{}
	for table, names := range watchedColumns {
		rs, err := s.view().query(ctx, `SELECT cid, name FROM pragma_table_info($1)`, table)
		if err != nil {
			return fmt.Errorf("read the columns of %s: %w", table, err)
		}
		at := map[string]int{}
		for rs.Next() {
			var cid int
			var name string
			if err := rs.Scan(&cid, &name); err != nil {
				rs.Close()
				return err
			}
			at[name] = cid
		}
		rs.Close()
		cols := columnsOf{repo: -1, env: -1, deployment: -1}
		for i, name := range names {
			idx, ok := at[name]
			if name == "" {
				continue
			}
			if !ok {
				return fmt.Errorf("table %s has no column %s", table, name)
			}
			*[]*int{&cols.repo, &cols.env, &cols.deployment}[i] = idx
			cols.width = max(cols.width, idx+1)
		}
		layout[table] = cols
	}
	c.layout.Store(&layout)
	return nil
}
