package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/verify"
)

// The monitoring window (`monitor:`): after the success status the new
// version is watched for `duration`. Every `interval` a durable timer job
// re-runs the health checks and the metrics; an issue opened or labelled
// with one of `issues.labels` by a user with at least triage is a breach
// too. The deployment no longer holds the environment. Its deploy/<env>
// check run stays in_progress ("monitoring 12 of 30 min, all normal", a
// Rollback button) and is updated at most every monitorReportEvery; a
// newer deployment to the environment ends the window. The end — passed,
// breached or superseded — is reported once by a unique job.

const monitorReportEvery = 10 * time.Minute

// MonitorTickArgs is one look at a monitored deployment (durable timer).
type MonitorTickArgs struct {
	DeploymentID int64 `json:"deployment_id"`
}

func (MonitorTickArgs) Kind() string { return "deploy_monitor_tick" }

// MonitorEndArgs reports the end of a monitoring window on GitHub; one per
// deployment (River uniqueness), retried until it lands.
type MonitorEndArgs struct {
	DeploymentID int64 `json:"deployment_id"`
}

func (MonitorEndArgs) Kind() string { return "deploy_monitor_end" }

func monitorEndOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type monitorTickWorker struct {
	river.WorkerDefaults[MonitorTickArgs]
	svc *Service
}

func (w *monitorTickWorker) Work(ctx context.Context, job *river.Job[MonitorTickArgs]) error {
	return w.svc.monitorTick(ctx, job.Args.DeploymentID)
}

type monitorEndWorker struct {
	river.WorkerDefaults[MonitorEndArgs]
	svc *Service
}

func (w *monitorEndWorker) Work(ctx context.Context, job *river.Job[MonitorEndArgs]) error {
	return w.svc.reportMonitorEnd(ctx, job.Args.DeploymentID)
}

// monitored reports whether r's successful deployment starts a window.
func (r *run) monitored() bool {
	return r.env.Monitor.Enabled() && r.d.Task == TaskDeploy && r.d.State == store.StateSuccess
}

// startMonitor opens the window of r's deployment as it finishes: its
// check run stays in_progress with a Rollback button, and the monitor row
// and its first timer commit with the deployment's end.
func (r *run) startMonitor(ctx context.Context) error {
	mon := r.env.Monitor
	now := r.svc.now()
	title := fmt.Sprintf("overall_status=PASS · monitoring 0 of %s, all normal", humanDuration(mon.Duration.Duration))
	actions := []*github.CheckRunAction{}
	if r.d.PreviousSHA != "" {
		actions = append(actions, &github.CheckRunAction{Label: rollbackLabel, Description: rollbackDescription, Identifier: rollbackIdentifier})
	}
	if err := r.tolerate("update the check run", r.setButtons(ctx, title, actions...)); err != nil {
		return err
	}
	r.notes = append(r.notes, "monitoring until "+now.Add(mon.Duration.Duration).UTC().Format("15:04 UTC"))
	m := store.Monitor{DeploymentID: r.d.ID, Repo: r.d.Repo, Environment: r.d.Environment, StartedAt: now,
		EndsAt: now.Add(mon.Duration.Duration), ReportedAt: now, Labels: mon.IssueLabels}
	r.inFinishTx(func(ctx context.Context, tx *store.Tx) error {
		if err := tx.StartMonitor(ctx, m); err != nil {
			return err
		}
		return tx.Enqueue(ctx, MonitorTickArgs{DeploymentID: r.d.ID}, &river.InsertOpts{ScheduledAt: time.Now().Add(mon.Interval.Duration)})
	})
	return nil
}

// monitorTick looks at a watched deployment once: the end of the window,
// a breach, or — at most every monitorReportEvery — progress on its check
// run; then it sets the next timer.
func (s *Service) monitorTick(ctx context.Context, id int64) error {
	m, r, err := s.monitorRun(ctx, id)
	if err != nil || m.State != store.MonitorWatching {
		return err
	}
	now := s.now()
	end := func(state, reason string) error {
		return s.Store.InTx(ctx, func(tx *store.Tx) error {
			if ok, err := tx.EndMonitor(ctx, id, state, reason); err != nil || !ok {
				return err
			}
			return tx.Enqueue(ctx, MonitorEndArgs{DeploymentID: id}, monitorEndOpts())
		})
	}
	if breach := r.monitorBreach(ctx); breach != "" {
		return end(store.MonitorBreached, breach)
	}
	if !now.Before(m.EndsAt) {
		return end(store.MonitorPassed, "")
	}
	reported := m.ReportedAt
	if now.Sub(m.ReportedAt) >= monitorReportEvery {
		title := fmt.Sprintf("overall_status=PASS · monitoring %s of %s, all normal",
			humanDuration(now.Sub(m.StartedAt).Truncate(time.Minute)), humanDuration(m.EndsAt.Sub(m.StartedAt)))
		if err := r.setButtons(ctx, title, r.monitorActions()...); err != nil && !permanent(err) {
			return err
		}
		reported = now
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.MonitorReported(ctx, id, reported); err != nil {
			return err
		}
		return tx.Enqueue(ctx, MonitorTickArgs{DeploymentID: id}, &river.InsertOpts{ScheduledAt: time.Now().Add(r.env.Monitor.Interval.Duration)})
	})
}

func (r *run) monitorActions() []*github.CheckRunAction {
	if r.d.PreviousSHA == "" {
		return nil
	}
	return []*github.CheckRunAction{{Label: rollbackLabel, Description: rollbackDescription, Identifier: rollbackIdentifier}}
}

// monitorBreach runs the health checks once and measures the metrics once;
// it returns what breached ("" when all is normal).
func (r *run) monitorBreach(ctx context.Context) string {
	for _, hc := range r.env.Verify.Health {
		if ok, last, _ := r.svc.probe(ctx, hc); !ok {
			return "health check " + egress.Redact(hc.URL) + " " + last // its query may hold a token
		}
	}
	m := r.env.Verify.Metrics
	if m == nil {
		return ""
	}
	baseline := r.analysisBaseline()
	measure := verify.Providers{HTTP: r.svc.httpClient(), Prometheus: m.Prometheus}
	for _, q := range m.Queries {
		v, err := measure.Measure(ctx, q, time.Time{})
		if err != nil || q.DryRun {
			continue // one failed query is not a breach; the analysis judged errors
		}
		if breach, cond := verify.Judge(q, baseline[q.Name], v); breach {
			return fmt.Sprintf("metric %s = %s breached %s", q.Name, verify.Number(v), cond)
		}
	}
	return ""
}

// analysisBaseline is the baseline the deployment's analysis recorded.
func (r *run) analysisBaseline() map[string]*float64 {
	for _, st := range r.steps {
		if st.Name == stepAnalysis {
			var a analysisState
			if json.Unmarshal([]byte(st.Result), &a) == nil {
				return a.Baseline
			}
		}
	}
	return nil
}

// reportMonitorEnd tells GitHub how a window ended: the check run's
// conclusion, the record, and after a breach the failure status and the
// rollback (on_failure: rollback, or rollback.automatic) or one reply to
// the deployer (notify).
func (s *Service) reportMonitorEnd(ctx context.Context, id int64) error {
	m, r, err := s.monitorRun(ctx, id)
	if err != nil {
		return err
	}
	d, finish := r.d, r.st
	window := humanDuration(m.EndsAt.Sub(m.StartedAt))
	conclusion, title, line := "success", "overall_status=PASS · monitored "+window+", all normal", "monitoring passed: "+window+", all normal"
	switch m.State {
	case store.MonitorSuperseded:
		title, line = "overall_status=PASS · monitoring ended: "+m.Reason, "monitoring ended: "+m.Reason
	case store.MonitorBreached:
		conclusion, title, line = "failure", "overall_status=PASS · monitor breach: "+m.Reason, "monitor breach: "+m.Reason
		if err := r.ensureStatus(ctx, "failure", "Monitor breach: "+m.Reason); err != nil {
			return err
		}
		if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
			return notify(ctx, tx, d, r.env, config.NotifyBreach, m.Reason)
		}); err != nil {
			return err
		}
	}
	opts := github.UpdateCheckRunOptions{Name: checkRunName(d.Environment), Status: github.String("completed"),
		Conclusion: github.String(conclusion), CompletedAt: &github.Timestamp{Time: s.now()},
		Output: &github.CheckRunOutput{Title: github.String(truncate(title, 255)), Summary: github.String(truncate(r.checkSummary(), 65000))}}
	if conclusion == "failure" && d.PreviousSHA != "" {
		opts.Actions = r.monitorActions()
		_, _, err = r.gh.Checks.UpdateCheckRun(ctx, r.owner, r.repo, d.CheckRunID, opts)
	} else {
		err = r.updateCheckRunClearingActions(ctx, opts)
	}
	if err := r.tolerate("complete the check run", err); err != nil {
		return err
	}
	if !strings.Contains(finish.Detail, line) {
		finish.Detail += "; " + line
		if err := s.Store.UpdateStep(ctx, *finish); err != nil {
			return err
		}
	}
	if err := r.tolerate("update the record comment", r.updateComment(ctx)); err != nil {
		return err
	}
	if m.State != store.MonitorBreached {
		return nil
	}
	if r.env.Monitor.OnFailure == "rollback" || r.env.Rollback.Automatic {
		return s.monitorRollback(ctx, r, m)
	}
	if d.PRNumber == 0 {
		return nil
	}
	return r.tolerate("reply about the breach", r.replyOnce(ctx, "breach", fmt.Sprintf(
		"@%s the monitoring window of `%s` in **%s** found a breach: %s. Press **Rollback** on the `%s` check run, or comment `/rollback %s`.",
		d.RequestedBy, short(d.SHA), d.Environment, m.Reason, checkRunName(d.Environment), d.Environment)))
}

// monitorRollback starts the rollback a breach calls for.
func (s *Service) monitorRollback(ctx context.Context, r *run, m *store.Monitor) error {
	d := r.d
	target, err := s.previousGood(ctx, d)
	if err != nil || target == "" {
		return err
	}
	_, _, err = s.Start(ctx, r.automaticRollback(target, "monitor breach: "+m.Reason))
	var pe permanentError
	if errors.As(err, &pe) {
		r.log.Warn().Err(err).Msg("no automatic rollback after the monitor breach")
		return nil
	}
	return err
}

// IssueReport is an issue opened or labelled, as the handler decoded it.
type IssueReport struct {
	Owner, Repo string
	Number      int
	Author      string // who opened it or applied the label
	Labels      []string
}

// OnIssueReported ends the windows of repo's watched deployments whose
// issue labels the issue carries — when its author has at least triage
// (issue templates let anyone apply labels). It reads the author's
// permission only when a window is watching for one of the labels.
func (s *Service) OnIssueReported(ctx context.Context, gh *github.Client, is IssueReport) error {
	watching, err := s.Store.Watching(ctx, is.Owner+"/"+is.Repo)
	if err != nil || len(watching) == 0 {
		return err
	}
	var hit []*store.Monitor
	label := ""
	for _, m := range watching {
		for _, l := range is.Labels {
			if slices.Contains(m.Labels, l) {
				hit, label = append(hit, m), l
				break
			}
		}
	}
	if len(hit) == 0 {
		return nil
	}
	role, err := s.Permission(ctx, gh, is.Owner, is.Repo, is.Author)
	if err != nil {
		return err
	}
	if !role.AtLeast(config.PermissionTriage) {
		return nil // anyone can open an issue; only triagers speak for users
	}
	reason := fmt.Sprintf("issue #%d labelled %s by @%s", is.Number, label, is.Author)
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, m := range hit {
			ok, err := tx.EndMonitor(ctx, m.DeploymentID, store.MonitorBreached, reason)
			if err != nil {
				return err
			}
			if ok {
				if err := tx.Enqueue(ctx, MonitorEndArgs{DeploymentID: m.DeploymentID}, monitorEndOpts()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// supersedeMonitors ends the windows of older deployments to r's
// environment: r is about to deploy there.
func (r *run) supersedeMonitors(ctx context.Context, tx *store.Tx) error {
	ids, err := tx.SupersedeMonitors(ctx, r.d.Repo, r.d.Environment, r.d.ID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := tx.Enqueue(ctx, MonitorEndArgs{DeploymentID: id}, monitorEndOpts()); err != nil {
			return err
		}
	}
	return nil
}

// monitorRun loads deployment id's monitor and a run on its finish step
// (the window's writes belong to no step of their own).
func (s *Service) monitorRun(ctx context.Context, id int64) (*store.Monitor, *run, error) {
	m, err := s.Store.Monitor(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.Store.Deployment(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	steps, err := s.Store.Steps(ctx, id)
	if err != nil || len(steps) == 0 {
		return nil, nil, fmt.Errorf("steps of deployment %d: %w", id, err)
	}
	r, err := s.newRun(ctx, d, steps, &steps[len(steps)-1])
	return m, r, err
}
