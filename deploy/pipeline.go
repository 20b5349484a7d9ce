package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// The pipeline is a durable step machine. Each deploy_step job runs exactly
// the step the deployment row points at:
//
//  1. the step is marked running (committed) before it touches anything;
//  2. it does its work; a step found already running on entry is
//     "recovering" — it first looks for the effect of the interrupted attempt
//     (a deployment, comment or check run carrying this deployment's id) so a
//     crash never repeats or skips work;
//  3. its outcome, the deployment's new cursor and the next step's job are
//     committed in one transaction.
//
// Waits (health retries, rate limits) snooze the job: durable timers in the
// queue. Waiting for the environment parks the deployment until the holder's
// finish step hands the slot over and enqueues it.

type stepWorker struct {
	river.WorkerDefaults[StepArgs]
	svc *Service
	// fastRetry carries, from Work to NextRetry (which River calls in this
	// process right after the failed attempt), when a step that GitHub
	// failed for a moment runs again: job id → time.Time.
	fastRetry sync.Map
}

// Timeout leaves room for the longest single request of a step (an
// executor call, at most 5 minutes); longer work waits durably.
func (w *stepWorker) Timeout(*river.Job[StepArgs]) time.Duration { return store.MaxJobRuntime }

func (w *stepWorker) Work(ctx context.Context, job *river.Job[StepArgs]) error {
	err := w.svc.runStep(ctx, job.Args, stepAttempt{last: job.Attempt >= job.MaxAttempts, job: job.JobRow})
	w.planRetry(job, err, time.Now())
	return err
}

// planRetry notes when a step that failed with err runs again, if GitHub
// failed for a moment (StepRetryDelay); NextRetry hands it to River.
func (w *stepWorker) planRetry(job *river.Job[StepArgs], err error, now time.Time) {
	if d, ok := StepRetryDelay(job.Attempt, isTransient(err)); ok {
		w.fastRetry.Store(job.ID, now.Add(d))
	}
}

// NextRetry schedules the retry of a step GitHub failed for a moment
// (StepRetryDelay); the zero time leaves other failures to River's backoff.
func (w *stepWorker) NextRetry(job *river.Job[StepArgs]) time.Time {
	if at, ok := w.fastRetry.LoadAndDelete(job.ID); ok {
		return at.(time.Time)
	}
	return time.Time{}
}

// stepAttempt is what runStep needs to know about its job.
type stepAttempt struct {
	last bool              // River will not run the job again
	job  *rivertype.JobRow // its metadata counts rate-limit repeats
}

type outcomeKind int

const (
	outcomeDone outcomeKind = iota
	outcomeWait
	outcomePark
	outcomeFail
	// outcomeAwait parks the step until an event or a durable timer wakes
	// the deployment (gates waiting for CI).
	outcomeAwait
)

type outcome struct {
	kind   outcomeKind
	detail string        // one line for the record
	result any           // JSON kept on the step
	after  time.Duration // outcomeWait; outcomeAwait: the timer (0: none)
	reason string        // outcomeFail
	// inTx runs inside the transaction that records the outcome and may
	// change it (the lock step decides there, atomically with parking).
	inTx func(ctx context.Context, tx *store.Tx, o *outcome) error
	// afterCommit runs once the outcome is committed (best-effort notices).
	afterCommit func(ctx context.Context, o outcome) error
}

func done(detail string) outcome { return outcome{kind: outcomeDone, detail: detail} }
func fail(reason string) outcome { return outcome{kind: outcomeFail, reason: reason, detail: reason} }

// run is one step execution.
type run struct {
	svc         *Service
	d           *store.Deployment
	steps       []store.Step
	st          *store.Step
	env         *config.Environment
	rc          RunContext // what the trigger brought (d.Context)
	gh          *github.Client
	owner, repo string
	recovering  bool
	log         zerolog.Logger
	// finishTxHook runs in the transaction that ends the deployment (the
	// next environment of a chain starts there).
	finishTxHook func(ctx context.Context, tx *store.Tx) error
	notes        []string // what GitHub refused while finishing
	lease        string   // owner of the step's lease ("" outside a step job)
}

func (s *Service) runStep(ctx context.Context, args StepArgs, at stepAttempt) error {
	d, err := s.Store.Deployment(ctx, args.DeploymentID)
	if err != nil {
		return err
	}
	// (A deployment in state error still runs its finish step: only a
	// recorded end stops it.)
	if d.Ended() || d.Step != args.Step || d.State == store.StateWaiting {
		return nil // a stale or duplicate job: the cursor has moved on, or only a wake may resume it
	}
	steps, err := s.Store.Steps(ctx, d.ID)
	if err != nil {
		return err
	}
	if d.Step >= len(steps) {
		return nil
	}
	r, err := s.newRun(ctx, d, steps, &steps[d.Step])
	if err != nil {
		return err
	}

	r.recovering = r.st.State == store.StepRunning
	r.st.State, r.st.Attempts = store.StepRunning, r.st.Attempts+1
	if r.st.StartedAt.IsZero() {
		r.st.StartedAt = s.now()
	}
	// The step is leased and marked running together: a replica holding an
	// unexpired lease on it is running it now, and this job is a duplicate.
	r.lease = s.leaseOwner()
	leased := false
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		now := time.Now()
		if leased, err = tx.AcquireLease(ctx, d.ID, d.Step, r.lease, now, now.Add(s.leaseTTL())); err != nil || !leased {
			return err
		}
		return tx.UpdateStep(ctx, *r.st)
	})
	if err != nil || !leased {
		return err
	}
	ctx, stopLease := s.keepLease(ctx, d.ID, r.lease)
	defer stopLease()
	err = r.runLeased(ctx, at)
	if err == nil || ctx.Err() == nil {
		if err != nil {
			// River runs the job again after its back-off: until then no
			// replica runs the step, so no lease may make the reaper resume it.
			_, _ = s.Store.ReleaseLease(context.WithoutCancel(ctx), d.ID, r.lease)
		}
		return err
	}
	switch {
	case errors.Is(context.Cause(ctx), errLeaseLost):
		r.log.Warn().Msg("another replica resumed this step; this run stops")
		return nil
	case s.draining.Load():
		if herr := s.handOver(d, r.lease); herr != nil {
			return fmt.Errorf("hand over step %s of deployment %d: %w (after: %v)", r.st.Name, d.ID, herr, err)
		}
		r.log.Info().Msg("deploybot is stopping: step handed over to another replica")
		return nil
	}
	_, _ = s.Store.ReleaseLease(context.WithoutCancel(ctx), d.ID, r.lease)
	return err
}

// runLeased does the step run r holds the lease for and records its outcome.
func (r *run) runLeased(ctx context.Context, at stepAttempt) error {
	d := r.d
	var err error

	var o outcome
	switch {
	case d.CancelReason != "" && beforeDeploying(r.st.Name):
		o = fail(d.CancelReason)
	case d.AbortReason != "" && !r.undoing():
		// Aborted: the forward steps stop here and the undo steps run.
		o = fail(d.AbortReason)
	default:
		o, err = r.do(ctx)
	}
	if err != nil {
		if snooze, wait, ok := RateLimitSnooze(ctx, at.job, err); ok {
			r.log.Warn().Dur("retry_in", wait).Msg("GitHub rate limit; step will resume when it resets")
			return snooze
		}
		if !at.last && !permanent(err) {
			err = fmt.Errorf("deployment %d step %s: %w", d.ID, r.st.Name, err)
			if transientGitHub(err, r.gh.BaseURL) {
				return transientError{err}
			}
			return err
		}
		r.log.Error().Err(err).Msg("step failed for good")
		o = fail("deploybot error in " + r.st.Name + ": " + err.Error())
		r.d.State = store.StateError
		if r.st.Name == stepFinish {
			// The deployment ends without its notices: try them once more.
			o.afterCommit = func(ctx context.Context, _ outcome) error { return r.lastNotices(ctx) }
		}
	}
	return r.apply(ctx, o)
}

// newRun prepares work on deployment d at step st: its config snapshot,
// trigger context and GitHub client.
func (s *Service) newRun(ctx context.Context, d *store.Deployment, steps []store.Step, st *store.Step) (*run, error) {
	r := &run{svc: s, d: d, steps: steps, st: st}
	r.owner, r.repo = splitRepo(d.Repo)
	r.log = zerolog.Ctx(ctx).With().Int64("deployment", d.ID).Str("step", st.Name).Logger()
	r.rc = decodeContext(d.Context)
	r.env = new(config.Environment)
	if err := json.Unmarshal([]byte(d.EnvConfig), r.env); err != nil {
		return nil, fmt.Errorf("decode environment snapshot of deployment %d: %w", d.ID, err)
	}
	var err error
	if r.gh, err = s.Clients.NewInstallationClient(d.InstallationID); err != nil {
		return nil, fmt.Errorf("github client for installation %d: %w", d.InstallationID, err)
	}
	return r, nil
}

// beforeDeploying reports whether a step comes before anything is changed
// in the environment; only there may a deployment still be cancelled.
func beforeDeploying(step string) bool {
	switch step {
	case stepCreateDeployment, stepComment, stepLock, stepGates:
		return true
	}
	return false
}

func (r *run) do(ctx context.Context) (outcome, error) {
	switch r.st.Name {
	case stepCreateDeployment:
		return r.createDeployment(ctx)
	case stepComment:
		return r.commentStep(ctx)
	case stepLock:
		return r.lock(ctx)
	case stepGates:
		return r.gates(ctx)
	case stepBackup:
		return r.backup(ctx)
	case stepDBBackup:
		return r.databaseBackup(ctx)
	case stepExecute:
		return r.execute(ctx)
	case stepCheck:
		return r.check(ctx)
	case stepPause:
		return r.pause(ctx)
	case stepVerify:
		return r.verify(ctx)
	case stepSmoke:
		return r.smoke(ctx)
	case stepSmokeWorkflow:
		return r.smokeWorkflow(ctx)
	case stepAnalysis:
		return r.analysis(ctx)
	case stepFinish:
		return r.finish(ctx)
	}
	return outcome{}, permanentError{fmt.Errorf("unknown step %q", r.st.Name)}
}

// apply commits a step's outcome and schedules what follows.
func (r *run) apply(ctx context.Context, o outcome) error {
	err := r.svc.Store.InTx(ctx, func(tx *store.Tx) error {
		if r.lease != "" {
			// The outcome counts only while the step is still ours: after a
			// takeover the other replica's run decides.
			if held, err := tx.ReleaseLease(ctx, r.d.ID, r.lease); err != nil {
				return err
			} else if !held {
				return errLeaseLost
			}
		}
		if o.inTx != nil {
			if err := o.inTx(ctx, tx, &o); err != nil {
				return err
			}
		}
		if o.result != nil {
			b, _ := json.Marshal(o.result)
			r.st.Result = string(b)
		}
		r.st.Detail = o.detail
		enqueue := false
		switch o.kind {
		case outcomeDone:
			r.st.State, r.st.FinishedAt = store.StepDone, r.svc.now()
			for _, i := range r.nextAfterDone() {
				skipped := r.steps[i]
				skipped.State = store.StepSkipped
				if err := tx.UpdateStep(ctx, skipped); err != nil {
					return err
				}
			}
			enqueue = r.d.Step < len(r.steps)
		case outcomeWait:
			// the job is snoozed below; the step stays running
		case outcomeAwait:
			r.st.State = store.StepPending
			wakes, err := tx.WakesOf(ctx, r.d.ID)
			if err != nil {
				return err
			}
			if wakes != r.d.Wakes {
				// An event arrived while the gates were evaluated: look again now.
				r.d.State, enqueue = store.StateRunning, true
			} else {
				r.d.State = store.StateWaiting
			}
			if o.after > 0 {
				if err := tx.Enqueue(ctx, WakeArgs{DeploymentID: r.d.ID}, stepOpts(r.svc.now().Add(o.after))); err != nil {
					return err
				}
			}
		case outcomePark:
			r.st.State = store.StepPending
			r.d.State = store.StateQueued
		case outcomeFail:
			r.st.State, r.st.FinishedAt = store.StepFailed, r.svc.now()
			if r.d.Reason == "" {
				r.d.Reason = o.reason
			}
			last := len(r.steps) - 1
			if r.st.Name == stepFinish || r.d.Step >= last {
				r.d.Step = len(r.steps) // the finish step itself failed: the deployment ends here
				break
			}
			if undo := r.firstUndo(); undo > 0 {
				last = undo // a rollout undoes what it changed before finishing
			}
			for i := r.d.Step + 1; i < last; i++ {
				skipped := r.steps[i]
				skipped.State = store.StepSkipped
				if err := tx.UpdateStep(ctx, skipped); err != nil {
					return err
				}
			}
			r.d.Step, enqueue = last, true
		}
		if r.d.Step >= len(r.steps) {
			// The deployment ends, however its last step went: the
			// environment goes to the next queued deployment in this
			// transaction, so nothing can leave it locked.
			if err := r.svc.endTx(ctx, tx, r.d); err != nil {
				return err
			}
		}
		if err := tx.UpdateStep(ctx, *r.st); err != nil {
			return err
		}
		if err := tx.UpdateDeployment(ctx, r.d); err != nil {
			return err
		}
		if r.finishTxHook != nil {
			if err := r.finishTxHook(ctx, tx); err != nil {
				return err
			}
		}
		if enqueue {
			return tx.Enqueue(ctx, StepArgs{DeploymentID: r.d.ID, Step: r.d.Step}, stepOpts(time.Time{}))
		}
		return nil
	})
	if errors.Is(err, store.ErrEnded) {
		// The reaper ended the deployment while this step worked: its
		// outcome no longer matters, and the environment is someone else's.
		r.log.Warn().Msg("deployment was ended while this step ran; its outcome is dropped")
		return nil
	}
	if errors.Is(err, errLeaseLost) {
		r.log.Warn().Msg("another replica resumed this step meanwhile; this run's outcome is dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("record step %s of deployment %d: %w", r.st.Name, r.d.ID, err)
	}
	ev := r.log.Info()
	if o.kind == outcomeFail {
		ev = r.log.Warn().Str("reason", o.reason)
	}
	ev.Int("attempt", r.st.Attempts).Str("outcome", [...]string{"done", "wait", "park", "fail", "await"}[o.kind]).Msg(o.detail)
	if o.afterCommit != nil {
		if err := o.afterCommit(ctx, o); err != nil {
			r.log.Warn().Err(err).Msg("notice after step failed")
		}
	}
	if o.kind == outcomeWait {
		return river.JobSnooze(o.after)
	}
	return nil
}

// permanentError marks failures a retry cannot fix (4xx answers, bad config).
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(err error) bool {
	var p permanentError
	if errors.As(err, &p) {
		return true
	}
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil {
		code := ge.Response.StatusCode
		return code >= 400 && code < 500 && code != 408 && code != 409 && code != 429
	}
	return false
}
