package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"database/sql"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
)

// QueueConfig configures the durable job queue.
type QueueConfig struct {
	// Workers registers the job kinds this process works. Nil makes an
	// insert-only queue (used by tools and benchmarks).
	Workers    *river.Workers
	MaxWorkers int
	Logger     *slog.Logger
	// ErrorHandler sees every failed attempt (for logs and metrics).
	ErrorHandler river.ErrorHandler
	// PeriodicJobs are durable schedules (the reaper, retention).
	PeriodicJobs []*river.PeriodicJob
	// RetryPolicy spaces the attempts of failed jobs (River's default when nil).
	RetryPolicy river.ClientRetryPolicy
}

// queue hides River's transaction type, which differs per driver.
type queue interface {
	insertTx(ctx context.Context, tx *Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertManyTx(ctx context.Context, tx *Tx, jobs []river.InsertManyParams) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	subscribe() (<-chan *river.Event, func())
}

var allJobEvents = []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed,
	river.EventKindJobCancelled, river.EventKindJobSnoozed}

type sqliteQueue struct{ c *river.Client[*sql.Tx] }

func (q sqliteQueue) insertTx(ctx context.Context, tx *Tx, a river.JobArgs, o *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.c.InsertTx(ctx, tx.sqlTx, a, o)
}
func (q sqliteQueue) insert(ctx context.Context, a river.JobArgs, o *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.c.Insert(ctx, a, o)
}
func (q sqliteQueue) insertManyTx(ctx context.Context, tx *Tx, jobs []river.InsertManyParams) error {
	_, err := q.c.InsertManyFastTx(ctx, tx.sqlTx, jobs)
	return err
}
func (q sqliteQueue) start(ctx context.Context) error { return q.c.Start(ctx) }
func (q sqliteQueue) stop(ctx context.Context) error  { return q.c.Stop(ctx) }
func (q sqliteQueue) stopAndCancel(ctx context.Context) error {
	return q.c.StopAndCancel(ctx)
}
func (q sqliteQueue) subscribe() (<-chan *river.Event, func()) {
	return q.c.Subscribe(allJobEvents...)
}

type pgQueue struct{ c *river.Client[pgx.Tx] }

func (q pgQueue) insertTx(ctx context.Context, tx *Tx, a river.JobArgs, o *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.c.InsertTx(ctx, tx.pgTx, a, o)
}
func (q pgQueue) insert(ctx context.Context, a river.JobArgs, o *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.c.Insert(ctx, a, o)
}
func (q pgQueue) insertManyTx(ctx context.Context, tx *Tx, jobs []river.InsertManyParams) error {
	_, err := q.c.InsertManyFastTx(ctx, tx.pgTx, jobs)
	return err
}
func (q pgQueue) start(ctx context.Context) error { return q.c.Start(ctx) }
func (q pgQueue) stop(ctx context.Context) error  { return q.c.Stop(ctx) }
func (q pgQueue) stopAndCancel(ctx context.Context) error {
	return q.c.StopAndCancel(ctx)
}
func (q pgQueue) subscribe() (<-chan *river.Event, func()) {
	return q.c.Subscribe(allJobEvents...)
}

// SetupQueue builds the River client for this store. Call StartQueue to begin
// working jobs.
func (s *Store) SetupQueue(cfg QueueConfig) error {
	rc := &river.Config{
		Logger:       cfg.Logger,
		ErrorHandler: cfg.ErrorHandler,
		MaxAttempts:  12,
		// Completed jobs are history we keep in our own tables.
		CompletedJobRetentionPeriod: 24 * time.Hour,
		// Webhook handling is quick; pipeline steps set their own timeout
		// (MaxJobRuntime). Nothing holds a job for long: long waits are
		// durable timers and events.
		JobTimeout: 5 * time.Minute,
		// A job running longer than this is presumed dead and run again.
		// Steps do not wait for it: their leases (leases.go) let another
		// replica resume them within seconds.
		RescueStuckJobsAfter: MaxJobRuntime + 5*time.Minute,
		RetryPolicy:          cfg.RetryPolicy,
	}
	if cfg.Workers != nil {
		n := cfg.MaxWorkers
		if n == 0 {
			n = 20
		}
		rc.Workers = cfg.Workers
		rc.PeriodicJobs = cfg.PeriodicJobs
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: n}}
	}
	if s.pool != nil {
		// PostgreSQL wakes producers with LISTEN/NOTIFY. Measured here, a
		// step enqueued inside our transactions still waited for the 1s
		// poll, so a pipeline of eight steps took ~4s; a 100ms poll (an
		// indexed query) keeps step-to-step latency low.
		rc.FetchCooldown = 10 * time.Millisecond
		rc.FetchPollInterval = 100 * time.Millisecond
		c, err := river.NewClient(riverpgxv5.New(s.pool), rc)
		if err != nil {
			return fmt.Errorf("create queue: %w", err)
		}
		s.queue = pgQueue{c}
		return nil
	}
	// SQLite has no LISTEN/NOTIFY, so River polls: a short cooldown and poll
	// interval keep a webhook's latency low (measured: defaults work ~40
	// jobs/s, these keep up with inserts).
	rc.FetchCooldown = 5 * time.Millisecond
	rc.FetchPollInterval = 50 * time.Millisecond
	c, err := river.NewClient(riversqlite.New(s.sqlDB), rc)
	if err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	s.queue = sqliteQueue{c}
	return nil
}

// MaxJobRuntime is the longest a step's job may run: the longest single
// request a step makes (an executor call, bounded to 5 minutes; longer
// executors answer 202 and call back) plus margin.
const MaxJobRuntime = 10 * time.Minute

// StartQueue starts working jobs. On SQLite, which only one process can
// use, jobs still marked running were abandoned by a crashed process: they
// are made available again at once rather than after RescueStuckJobsAfter.
// (On PostgreSQL other replicas may be running them; River's rescuer
// handles those.)
func (s *Store) StartQueue(ctx context.Context) error {
	if s.queue == nil {
		return errors.New("queue not set up")
	}
	if s.dialect == SQLite {
		if _, err := s.RecoverAbandonedJobs(ctx); err != nil {
			return err
		}
		// The abandoned steps' leases died with their process: the
		// recovered jobs resume them now, not after the leases expire.
		if err := s.ClearLeases(ctx); err != nil {
			return err
		}
	}
	return s.queue.start(ctx)
}

// RecoverAbandonedJobs makes jobs left running by a dead process available
// again and returns how many there were. Only call it when no other process
// can be working the queue.
func (s *Store) RecoverAbandonedJobs(ctx context.Context) (int64, error) {
	n, err := s.view().exec(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("recover abandoned jobs: %w", err)
	}
	return n, nil
}

// StopQueue waits for running jobs to finish (or ctx to end).
func (s *Store) StopQueue(ctx context.Context) error {
	if s.queue == nil {
		return nil
	}
	return s.queue.stop(ctx)
}

// StopQueueAndCancel stops fetching jobs, cancels the running ones'
// contexts and waits for them to return (or ctx to end).
func (s *Store) StopQueueAndCancel(ctx context.Context) error {
	if s.queue == nil {
		return nil
	}
	return s.queue.stopAndCancel(ctx)
}

// Enqueue inserts a job outside any transaction.
func (s *Store) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if s.queue == nil {
		return errors.New("queue not set up")
	}
	_, err := s.queue.insert(ctx, args, opts)
	return err
}

// Enqueue inserts a job that becomes visible when tx commits.
func (tx *Tx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if tx.s.queue == nil {
		return errors.New("queue not set up")
	}
	if _, err := tx.s.queue.insertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// PendingJobs counts queued jobs not yet finished (available, running,
// retryable, scheduled or pending), leaving out scheduled jobs of the kinds
// in timers (durable timers that may lie far ahead).
func (s *Store) PendingJobs(ctx context.Context, timers ...string) (int, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending')`).Scan(&n)
	if err != nil || len(timers) == 0 {
		return n, err
	}
	for _, kind := range timers {
		m, err := s.ScheduledJobs(ctx, kind)
		if err != nil {
			return 0, err
		}
		n -= m
	}
	return n, nil
}

// ScheduledJobs counts jobs of kind waiting for their scheduled time.
func (s *Store) ScheduledJobs(ctx context.Context, kind string) (int, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE state = 'scheduled' AND kind = $1`, kind).Scan(&n)
	return n, err
}

// WaitIdle returns once no job is pending (apart from scheduled jobs of the
// kinds in timers), re-checking on every job event the queue reports (no
// polling). Tests and the demo use it to let echoed webhooks settle.
func (s *Store) WaitIdle(ctx context.Context, timers ...string) error {
	events, cancel := s.queue.subscribe()
	defer cancel()
	for {
		n, err := s.PendingJobs(ctx, timers...)
		if err != nil || n == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("queue still has %d pending jobs: %w", n, ctx.Err())
		case <-events:
		}
	}
}
