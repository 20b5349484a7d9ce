package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// The reaper ends deployments that made no progress for longer than their
// longest step may take, so a bug, a lost job or an answer that never comes
// cannot keep an environment locked. Every write of a deployment row moves
// its deadline (store.Deployment.Deadline); a periodic job finds the rows
// past it with one indexed query.

const (
	// ReapEvery is how often the reaper looks for stale deployments.
	ReapEvery = 5 * time.Minute
	// reapMargin is added to the longest step before a deployment is stale.
	reapMargin = 15 * time.Minute
	// minStepQuiet is the longest a healthy step may stay silent whatever
	// its config: a GitHub rate limit snoozes a step until the hourly
	// reset, and a job runs up to store.MaxJobRuntime on top.
	minStepQuiet = time.Hour + store.MaxJobRuntime
	reapBatch    = 100
	// manualPauseLimit is how long a rollout may wait for Promote before
	// the reaper ends it and frees the environment.
	manualPauseLimit = 24 * time.Hour
)

// staleAfter is how long a deployment to env may make no progress before
// the reaper ends it: its longest configured wait or call (executor,
// database backup hook, checks wait, health checks, canary pauses,
// monitoring window), at least minStepQuiet, plus reapMargin.
func staleAfter(env *config.Environment) time.Duration {
	longest := minStepQuiet
	consider := func(d time.Duration) { longest = max(longest, d) }
	executor := func(e config.Executor) {
		switch {
		case e.Webhook != nil:
			consider(e.Webhook.Timeout.Duration)
		case e.Actions != nil:
			consider(e.Actions.Timeout.Duration)
		case e.Command != nil:
			consider(e.Command.Timeout.Duration)
		case e.External != nil:
			consider(max(e.External.Timeout.Duration, time.Hour)) // its documented default
		}
	}
	executor(env.Executor)
	if m := env.Gates.Migrations; m != nil && m.Backup != nil {
		executor(*m.Backup)
	}
	consider(30 * time.Minute) // the checks gate's default wait
	if c := env.Gates.Checks; c != nil {
		consider(c.Wait.Duration)
	}
	consider(env.Verify.Timeout.Duration)
	for _, h := range env.Verify.Health {
		consider(h.Timeout.Duration)
	}
	if c := env.Strategy.Canary; c != nil {
		for _, st := range c.Steps {
			consider(st.Pause.Duration)
			if st.Manual {
				consider(manualPauseLimit)
			}
		}
	}
	if bg := env.Strategy.BlueGreen; bg != nil && !bg.AutoPromote {
		consider(manualPauseLimit)
	}
	consider(env.Monitor.Duration.Duration)
	return longest + reapMargin
}

// ReapArgs is the periodic job that runs the reaper.
type ReapArgs struct{}

func (ReapArgs) Kind() string { return "deploy_reap" }

// ReapedArgs reports a reaped deployment on GitHub (status, check run,
// record, reply), retried like any job.
type ReapedArgs struct {
	DeploymentID int64  `json:"deployment_id"`
	Idle         string `json:"idle"` // how long it made no progress
}

func (ReapedArgs) Kind() string { return "deploy_reaped" }

type reapWorker struct {
	river.WorkerDefaults[ReapArgs]
	svc *Service
}

func (w *reapWorker) Work(ctx context.Context, _ *river.Job[ReapArgs]) error {
	_, err := w.svc.Reap(ctx)
	return err
}

type reapedWorker struct {
	river.WorkerDefaults[ReapedArgs]
	svc *Service
}

func (w *reapedWorker) Work(ctx context.Context, job *river.Job[ReapedArgs]) error {
	return w.svc.reportReaped(ctx, job.Args, job.Attempt > 1)
}

// RegisterReaper adds the reaper's workers and returns its periodic job
// (River keeps the schedule; no goroutine of ours loops).
func (s *Service) RegisterReaper(workers *river.Workers) *river.PeriodicJob {
	river.AddWorker(workers, &reapWorker{svc: s})
	river.AddWorker(workers, &reapedWorker{svc: s})
	return river.NewPeriodicJob(river.PeriodicInterval(ReapEvery),
		func() (river.JobArgs, *river.InsertOpts) { return ReapArgs{}, nil },
		&river.PeriodicJobOpts{ID: ReapArgs{}.Kind()})
}

// Reap ends the deployments past their deadline, frees environments held
// by deployments that already ended, and returns how many deployments it
// ended.
func (s *Service) Reap(ctx context.Context) (int, error) {
	now := s.now()
	stale, err := s.Store.StaleDeployments(ctx, now, reapBatch)
	if err != nil {
		return 0, err
	}
	var errs []error
	ended := 0
	for _, d := range stale {
		ok, err := s.reap(ctx, d, now)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			ended++
		}
	}
	orphans, err := s.Store.OrphanedLocks(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, l := range orphans {
		err := s.Store.InTx(ctx, func(tx *store.Tx) error {
			next, err := tx.ReleaseLock(ctx, l.Repo, l.Environment, l.DeploymentID)
			if err != nil || next == nil {
				return err
			}
			return tx.Enqueue(ctx, StepArgs{DeploymentID: next.ID, Step: next.Step}, stepOpts(time.Time{}))
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("free %s/%s held by ended deployment %d: %w", l.Repo, l.Environment, l.DeploymentID, err))
		}
	}
	return ended, errors.Join(errs...)
}

// reap ends d (state error, its current step failed) and hands its
// environment on, in one transaction; the GitHub notices follow as a job.
// It reports false when d made progress or ended meanwhile.
func (s *Service) reap(ctx context.Context, d *store.Deployment, now time.Time) (bool, error) {
	idle := now.Sub(d.UpdatedAt).Round(time.Minute)
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		steps, err := tx.Steps(ctx, d.ID)
		if err != nil {
			return err
		}
		for i := d.Step; i < len(steps); i++ {
			st := steps[i]
			st.State = store.StepSkipped
			if i == d.Step {
				st.State, st.Detail, st.FinishedAt = store.StepFailed, "no progress for "+formatIdle(idle), now
			}
			if err := tx.UpdateStep(ctx, st); err != nil {
				return err
			}
		}
		d.State, d.Reason, d.Step = store.StateError, reapedReason(idle), len(steps)
		if err := s.endTx(ctx, tx, d); err != nil {
			return err
		}
		if err := tx.UpdateDeployment(ctx, d); err != nil {
			return err
		}
		return tx.Enqueue(ctx, ReapedArgs{DeploymentID: d.ID, Idle: formatIdle(idle)}, nil)
	})
	if errors.Is(err, store.ErrEnded) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reap deployment %d: %w", d.ID, err)
	}
	return true, nil
}

func reapedReason(idle time.Duration) string {
	return "deploybot ended this deployment: no progress for " + formatIdle(idle) + "; the environment is free again"
}

// formatIdle prints a duration in whole minutes ("2h5m", "45m").
func formatIdle(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// reportReaped tells GitHub and the requester that the reaper ended a
// deployment. GitHub refusing one notice (4xx) does not stop the others.
func (s *Service) reportReaped(ctx context.Context, a ReapedArgs, retry bool) error {
	d, err := s.Store.Deployment(ctx, a.DeploymentID)
	if err != nil {
		return err
	}
	steps, err := s.Store.Steps(ctx, d.ID)
	if err != nil || len(steps) == 0 {
		return err
	}
	// Notices belong to no step: they act as the finish step that never ran.
	notice := steps[len(steps)-1]
	notice.StartedAt, notice.Attempts = d.FinishedAt, 1
	r, err := s.newRun(ctx, d, steps, &notice)
	if err != nil {
		return err
	}
	r.recovering = retry
	var errs []error
	do := func(what string, err error) {
		if err := r.tolerate(what, err); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	do("report the deployment status", r.status(ctx, "error", d.Reason))
	if pr := r.rc.ProtectionRun; pr != nil {
		do("answer the deployment protection rule", s.answerProtection(ctx, r.gh, r.owner, r.repo, pr, d.Environment, false, d.Reason))
	}
	do("close the waiting gate check runs", r.closeWaitingGates(ctx))
	do("complete the check run", r.completeCheckRun(ctx, false))
	do("update the record comment", r.updateComment(ctx))
	if d.PRNumber != 0 && d.Task != TaskDryRun {
		do("reply on the pull request", r.replyOnce(ctx, "reaped", fmt.Sprintf(
			"deploybot ended the deployment of `%s` to **%s**: no progress for %s; the environment is free again. "+
				"Check the environment, then comment `/deploy %s` to try again.", short(d.SHA), d.Environment, a.Idle, d.Environment)))
	}
	return errors.Join(errs...)
}
