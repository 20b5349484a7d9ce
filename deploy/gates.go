package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/pacer"
	"github.com/deploybot/deploybot/internal/panics"
	"github.com/deploybot/deploybot/store"
)

// gateTimeout bounds one gate's evaluation; a gate that takes longer is
// reported as that gate's failure.
const gateTimeout = 30 * time.Second

// gateState is a gate's result as the pipeline keeps it, with its check run.
type gateState struct {
	checks.Result
	CheckRunID int64 `json:"check_run_id,omitempty"`
}

// selectGates lists the gates that run for this deployment, in table order.
// checks runs for every environment (with its defaults when not configured)
// unless the config says `checks: false`. Rollbacks skip checks, reviews,
// order and window (the point of a rollback is to leave a bad state
// quickly) but never permission or lock; only a genuine rollback gets task
// deploy:rollback (see OnForeignDeployment).
func (r *run) selectGates() []checks.Gate { return selectGates(r.env, r.d.Task) }

func selectGates(env *config.Environment, task string) []checks.Gate {
	g := env.Gates
	rollback := task == TaskRollback
	requires := env.Requires
	if len(requires) == 0 {
		requires = g.Order
	}
	var out []checks.Gate
	add := func(set, skippedOnRollback bool, gate checks.Gate) {
		if set && !(rollback && skippedOnRollback) {
			out = append(out, gate)
		}
	}
	add(!g.ChecksOff, true, checks.Checks{Config: g.Checks})
	add(g.Reviews != nil, true, checks.Reviews{Config: g.Reviews})
	add(len(requires) > 0, true, checks.Order{Requires: requires})
	add(g.Security != nil, false, checks.Security{Config: g.Security})
	add(g.Dependencies != nil, false, checks.Dependencies{Config: g.Dependencies})
	add(g.Migrations != nil, false, checks.Migrations{Config: g.Migrations})
	add(len(g.Variables) > 0, false, checks.Variables{Names: g.Variables})
	add(g.Flags != nil, false, checks.Flags{Config: g.Flags})
	add(g.Window != nil, true, checks.Window{Config: g.Window})
	add(g.Artifacts != nil, false, checks.Artifacts{Config: g.Artifacts})
	add(g.Release != nil, false, checks.ReleaseGate{Config: g.Release})
	return out
}

func (r *run) gateStates() []gateState {
	var states []gateState
	_ = json.Unmarshal([]byte(r.d.Gates), &states)
	return states
}

func (r *run) setGateStates(states []gateState) {
	b, _ := json.Marshal(states)
	r.d.Gates = string(b)
}

// gates evaluates the gates that have no verdict yet (or were waiting),
// posts each as a check run `deploy/<env>: <gate>` (permission and lock only
// in the summary's table) and the summary `deploy/<env>`, and then passes,
// blocks, or waits for an event.
func (r *run) gates(ctx context.Context) (outcome, error) {
	prev := r.gateStates()
	in, err := r.gateInput(ctx)
	if err != nil {
		return outcome{}, err
	}
	var todo []checks.Gate
	for _, g := range append([]checks.Gate{checks.Lock{}}, r.selectGates()...) {
		if i := indexGate(prev, g.Name()); i < 0 || prev[i].Verdict == checks.Wait || g.Name() == "lock" {
			todo = append(todo, g)
		}
	}
	results, err := evaluateGates(ctx, todo, in)
	if err != nil {
		return outcome{}, err
	}
	states := slices.Clone(prev)
	for _, res := range results {
		if i := indexGate(states, res.Gate); i >= 0 {
			states[i].Result = res
		} else {
			states = append(states, gateState{Result: res})
		}
	}
	r.setGateStates(states) // the summary renders them
	overall := checks.Overall(r.gateResults())
	if r.d.Task == TaskDryRun && overall == checks.Wait {
		overall = checks.Pass // a dry run reports waiting as information
	}
	// What reports the gates goes out together (roundtrips.go): their check
	// runs, the summary, and once they passed the in_progress status and
	// the backup step's read of what is live.
	var summary, inProgress, live func() error
	// The check runs go out all together or, when the installation's write
	// budget has no room for them, none yet (the step snoozes): a retried
	// step does not write them twice (internal/pacer).
	ctx, release := pacer.Reserve(ctx, len(states)+1, pacer.Normal)
	defer release()
	if overall != checks.Block || r.d.CheckRunID != 0 {
		// A blocked deployment's summary is created by finish, already
		// completed (one write instead of a create and an update).
		summary = func() error { return r.syncSummary(ctx, overall) }
	}
	var read *liveRead
	if overall == checks.Pass {
		if r.d.Task != TaskDryRun && r.postsGatesPassed() {
			inProgress = func() error {
				return r.ensureStatus(ctx, "in_progress", "Gates passed: "+gateNames(r.gateResults()))
			}
		}
		if r.backupFollows() {
			live = func() (err error) { read, err = r.readLive(ctx); return err }
		}
	}
	err = together(func() error { return r.syncGateCheckRuns(ctx, prev, states) }, summary, inProgress, live)
	r.setGateStates(states) // with the check runs' ids
	if err != nil {
		return outcome{}, err
	}
	switch overall {
	case checks.Block:
		var blocked []string
		for _, g := range states {
			if g.Verdict == checks.Block {
				blocked = append(blocked, g.Gate+" ("+g.Reason+")")
			}
		}
		return fail("blocked by " + strings.Join(blocked, "; ")), nil
	case checks.Wait:
		return r.awaitGates(ctx, prev, states)
	}
	if r.recordShowsWait(prev) {
		// The record said "waiting": it says "in progress" once the wait is
		// over. Otherwise it is edited only when the deployment ends.
		if err := r.updateComment(ctx); err != nil {
			return outcome{}, err
		}
	}
	o := done("overall_status=" + string(overall))
	if read != nil {
		o.result = gatesResult{Live: read}
	}
	return o, nil
}

// postsGatesPassed reports whether the gates step posts the deployment's one
// in_progress status. An external deployer gets its own (the "ready" signal
// it acts on), and an Actions executor posts it once its run is found, so
// that the status links the run.
func (r *run) postsGatesPassed() bool {
	switch r.env.Executor.Kind() {
	case "external", "actions":
		return false
	}
	return true
}

// recordShowsWait reports whether the record comment last said the
// deployment was waiting: for its gates, or queued behind another one.
func (r *run) recordShowsWait(prev []gateState) bool {
	if slices.ContainsFunc(prev, func(g gateState) bool { return g.Verdict == checks.Wait }) {
		return true
	}
	for _, st := range r.steps {
		if st.Name == stepLock && st.Attempts > 1 {
			return true // lock parked it at least once ("waited in queue")
		}
	}
	return false
}

// awaitGates parks the deployment until a webhook about its commit or the
// earliest gate deadline (a durable timer) wakes it; nothing polls.
func (r *run) awaitGates(ctx context.Context, prev, states []gateState) (outcome, error) {
	what := waitingFor(states)
	r.d.State = store.StateWaiting // for the record; apply commits it
	if what != waitingFor(prev) {
		if err := r.status(ctx, "queued", "Waiting for "+what); err != nil {
			return outcome{}, err
		}
		if err := r.updateComment(ctx); err != nil {
			return outcome{}, err
		}
	}
	o := outcome{kind: outcomeAwait, detail: "waiting for " + what}
	if d := earliestDeadline(states); !d.IsZero() && !d.Equal(earliestDeadline(prev)) {
		o.after = max(d.Sub(r.svc.now()), 0) + time.Second
	}
	return o, nil
}

func waitingFor(states []gateState) string {
	var names []string
	for _, g := range states {
		if g.Verdict != checks.Wait {
			continue
		}
		if len(g.WaitingFor) > 0 {
			names = append(names, g.WaitingFor...)
		} else {
			names = append(names, g.Gate)
		}
	}
	return strings.Join(names, ", ")
}

func earliestDeadline(states []gateState) time.Time {
	var t time.Time
	for _, g := range states {
		if g.Verdict == checks.Wait && !g.Deadline.IsZero() && (t.IsZero() || g.Deadline.Before(t)) {
			t = g.Deadline
		}
	}
	return t
}

func indexGate(states []gateState, name string) int {
	return slices.IndexFunc(states, func(g gateState) bool { return g.Gate == name })
}

// gateInput gathers what gates look at, from the store and the API.
func (r *run) gateInput(ctx context.Context) (checks.Input, error) {
	d := r.d
	live, err := r.svc.Store.LastSuccess(ctx, d.Repo, d.Environment)
	if err != nil {
		return checks.Input{}, err
	}
	in := checks.Input{
		Owner: r.owner, Name: r.repo, Repo: d.Repo, SHA: d.SHA, Ref: d.Ref, Environment: r.env,
		Task: d.Task, Actor: d.RequestedBy, DeploymentID: d.ID, LockHolder: d.ID, PRNumber: d.PRNumber,
		LiveSHA: live, AppID: r.svc.AppID, AppSlug: r.svc.AppSlug, Now: r.svc.now(), WaitingSince: r.st.StartedAt,
		DefaultBranch: r.rc.DefaultBranch,
		GitHub:        r.gh, HTTP: r.svc.httpClient(),
		Deployed: func(ctx context.Context, env, sha string) (bool, error) {
			return r.svc.Store.Deployed(ctx, d.Repo, env, sha)
		},
		Role: func(ctx context.Context, user string) (config.Permission, error) {
			return r.svc.Permission(ctx, r.gh, r.owner, r.repo, user)
		},
	}
	if in.ManualLock, err = r.svc.manualLock(ctx, d.Repo, d.Environment); err != nil {
		return checks.Input{}, err
	}
	if d.Task == TaskDryRun { // report the lock without taking it
		holder, err := r.svc.Store.LockHolder(ctx, d.Repo, d.Environment)
		if err != nil {
			return checks.Input{}, err
		}
		if holder != 0 {
			in.LockHolder = holder
		}
	}
	if pr := r.rc.ProtectionRun; pr != nil {
		in.IgnoreCheckSuiteID = pr.CheckSuiteID
	}
	in.Trigger, in.Release = d.Trigger, r.rc.Release
	if r.env.Gates.Release != nil && in.DefaultBranch == "" {
		repo, _, err := r.gh.Repositories.Get(ctx, r.owner, r.repo)
		if err != nil {
			return checks.Input{}, fmt.Errorf("read repository: %w", err)
		}
		in.DefaultBranch = repo.GetDefaultBranch()
	}
	return in.Share(), nil
}

// evaluateGates runs gates concurrently, each under its own timeout. A
// gate's error or panic becomes that gate's BLOCK (fail closed); only a
// GitHub rate limit is returned, so the step snoozes until it resets.
func evaluateGates(ctx context.Context, gates []checks.Gate, in checks.Input) ([]checks.Result, error) {
	results := make([]checks.Result, len(gates))
	errs := make([]error, len(gates))
	var wg sync.WaitGroup
	for i, g := range gates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					// The panic value and stack stay out of the check run (they
					// can hold fetched content); the log gets the frames only.
					zerolog.Ctx(ctx).Error().Str("gate", g.Name()).Str("panic", panics.Describe(p)).
						Str("frames", panics.Frames(debug.Stack())).Msg("gate crashed")
					results[i] = checks.Result{Gate: g.Name(), Verdict: checks.Block,
						Reason: fmt.Sprintf("the %s gate crashed (a deploybot bug)", g.Name()),
						Detail: "deploybot fails closed when a gate cannot decide. The server log has the crash (`gate crashed`); retry the command, and report it if it repeats."}
				}
			}()
			gctx, cancel := context.WithTimeout(ctx, gateTimeout)
			defer cancel()
			res, err := g.Evaluate(gctx, in)
			if err != nil {
				if _, limited := RateLimitWait(err); limited {
					errs[i] = err
				}
				res = checks.Result{Gate: g.Name(), Verdict: checks.Block, Reason: "could not check: " + oneLine(err.Error()),
					Detail: fmt.Sprintf("The `%s` gate could not reach a verdict, so deploybot blocks (fails closed):\n\n```\n%s\n```\n\n"+
						"Fix the cause or retry the command.", g.Name(), err)}
			}
			res.Gate = g.Name()
			results[i] = res
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

func oneLine(s string) string { return truncate(strings.Join(strings.Fields(s), " "), 200) }

func gateCheckName(env, gate string) string { return checkRunName(env) + ": " + gate }

func gateExternalID(id int64, gate string) string { return fmt.Sprintf("%d/%s", id, gate) }

// syncGateCheckRuns creates or updates a check run per gate whose result
// changed. After a crash it first finds runs the interrupted attempt made.
func (r *run) syncGateCheckRuns(ctx context.Context, prev, states []gateState) error {
	if r.recovering {
		found, err := r.ownCheckRuns(ctx)
		if err != nil {
			return err
		}
		for i := range states {
			if id, ok := found[gateExternalID(r.d.ID, states[i].Gate)]; ok && states[i].CheckRunID == 0 {
				states[i].CheckRunID = id
			}
		}
	}
	for i := range states {
		g := &states[i]
		if summaryOnly(g.Gate) {
			continue
		}
		if j := indexGate(prev, g.Gate); j >= 0 && g.CheckRunID != 0 && sameResult(prev[j].Result, g.Result) {
			continue
		}
		out := &github.CheckRunOutput{Title: github.String(truncate(g.Reason, 255)),
			Summary: github.String(truncate(gateSummary(g.Result), 65000))}
		status, conclusion := "completed", g.Verdict.Conclusion()
		if g.Verdict == checks.Wait {
			status = "in_progress"
		}
		if g.CheckRunID == 0 {
			opts := github.CreateCheckRunOptions{
				Name: gateCheckName(r.d.Environment, g.Gate), HeadSHA: r.d.SHA,
				ExternalID: github.String(gateExternalID(r.d.ID, g.Gate)), Status: github.String(status), Output: out,
				DetailsURL: r.detailsURL(),
			}
			if conclusion != "" {
				opts.Conclusion = github.String(conclusion)
			}
			cr, _, err := r.gh.Checks.CreateCheckRun(ctx, r.owner, r.repo, opts)
			if err != nil {
				return fmt.Errorf("create check run for gate %s: %w", g.Gate, err)
			}
			g.CheckRunID = cr.GetID()
			continue
		}
		opts := github.UpdateCheckRunOptions{Name: gateCheckName(r.d.Environment, g.Gate), Status: github.String(status), Output: out}
		if conclusion != "" {
			opts.Conclusion = github.String(conclusion)
		}
		if _, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.owner, r.repo, g.CheckRunID, opts); err != nil {
			return fmt.Errorf("update check run for gate %s: %w", g.Gate, err)
		}
	}
	return nil
}

// closeWaitingGates completes the check runs of gates still waiting when the
// deployment ends (a dry run, or a cancelled deployment), so no check stays
// "in progress" on the commit forever.
func (r *run) closeWaitingGates(ctx context.Context) error {
	conclusion, prefix := "cancelled", "stopped while waiting: "
	if r.d.Task == TaskDryRun {
		conclusion, prefix = "neutral", "dry run; a deployment would wait: "
	}
	states := r.gateStates()
	for _, g := range states {
		if g.Verdict != checks.Wait || g.CheckRunID == 0 {
			continue
		}
		_, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.owner, r.repo, g.CheckRunID, github.UpdateCheckRunOptions{
			Name: gateCheckName(r.d.Environment, g.Gate), Status: github.String("completed"), Conclusion: github.String(conclusion),
			Output: &github.CheckRunOutput{Title: github.String(truncate(prefix+g.Reason, 255)), Summary: github.String(truncate(gateSummary(g.Result), 65000))},
		})
		if err != nil && !permanent(err) {
			return fmt.Errorf("close check run for gate %s: %w", g.Gate, err)
		}
	}
	return nil
}

func sameResult(a, b checks.Result) bool {
	return a.Verdict == b.Verdict && a.Reason == b.Reason && a.Detail == b.Detail
}

func gateSummary(res checks.Result) string {
	if res.Detail != "" {
		return res.Detail
	}
	return res.Reason
}

// ownCheckRuns maps the external ids of deploybot's check runs on the
// deployment's commit to their ids (all pages).
func (r *run) ownCheckRuns(ctx context.Context) (map[string]int64, error) {
	found := map[string]int64{}
	var appID *int64
	if r.svc.AppID != 0 {
		appID = github.Int64(r.svc.AppID)
	}
	runs, err := checks.ListAll("check runs", func(p checks.PageRef) ([]*github.CheckRun, *github.Response, error) {
		res, resp, err := r.gh.Checks.ListCheckRunsForRef(ctx, r.owner, r.repo, r.d.SHA, &github.ListCheckRunsOptions{
			Filter: github.String("all"), AppID: appID, ListOptions: github.ListOptions{PerPage: 100, Page: p.Number}})
		if res == nil {
			return nil, resp, err
		}
		return res.CheckRuns, resp, err
	})
	if err != nil {
		return nil, fmt.Errorf("find check runs after restart: %w", err)
	}
	for _, cr := range runs {
		if cr.GetExternalID() != "" {
			found[cr.GetExternalID()] = cr.GetID()
		}
	}
	return found, nil
}
