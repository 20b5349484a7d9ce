package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// check runs the environment's health checks between the steps of a
// rollout (against the preview URL for blue-green's idle slot); a failure
// aborts the rollout.
func (r *run) check(ctx context.Context) (outcome, error) {
	var spec checkSpec
	_ = json.Unmarshal([]byte(r.st.Spec), &spec)
	hcs := r.env.Verify.Health
	if spec.Preview != "" {
		if len(hcs) == 0 {
			hcs = []config.HealthCheck{{URL: spec.Preview, Status: 200}}
		} else {
			preview := make([]config.HealthCheck, len(hcs))
			for i, hc := range hcs {
				hc.URL = spec.Preview
				preview[i] = hc
			}
			hcs = preview
		}
	}
	if len(hcs) == 0 {
		return done("no health checks configured"), nil
	}
	return r.runHealthChecks(ctx, hcs)
}

// pauseState is what a pause keeps between wakes: its deadline (fixed when
// it began, so a restart keeps it) and whether it was announced.
type pauseState struct {
	Until     time.Time `json:"until,omitzero"`
	Announced bool      `json:"announced,omitempty"`
	TimerSet  bool      `json:"timer_set,omitempty"`
	// With verify.metrics the analysis runs through the pause: a
	// measurement every interval (each with its own timer).
	NextMeasure time.Time      `json:"next_measure,omitzero"`
	Analysis    *analysisState `json:"analysis,omitempty"`
}

// pause waits — a durable timer for a duration, an event for Promote —
// with the deployment in_progress, the record showing the pause and the
// check run offering [Promote] [Abort]. Promote ends any pause early.
func (r *run) pause(ctx context.Context) (outcome, error) {
	var spec pauseSpec
	_ = json.Unmarshal([]byte(r.st.Spec), &spec)
	var st pauseState
	_ = json.Unmarshal([]byte(r.st.Result), &st)
	if !spec.Manual && st.Until.IsZero() {
		st.Until = r.st.StartedAt.Add(spec.Duration.Duration)
	}
	now := r.svc.now()
	promoted := r.d.Promoted == r.st.Index
	if promoted || (!spec.Manual && !now.Before(st.Until)) {
		detail := fmt.Sprintf("paused %s", spec.Duration)
		if promoted {
			detail = "promoted"
			if r.d.PromotedBy != "" {
				detail = "promoted by @" + r.d.PromotedBy
			}
		}
		if st.Announced {
			// Back to progressing: only Abort applies now.
			if err := r.setButtons(ctx, r.rolloutTitle(""), abortAction); err != nil {
				return outcome{}, err
			}
		}
		return outcome{kind: outcomeDone, detail: detail, result: st}, nil
	}
	detail := r.pauseDescription(spec, st, now)
	announce := !st.Announced
	if !st.Announced {
		r.st.Detail = detail // the record shows the pause
		status := func() error { return r.status(ctx, "in_progress", detail) }
		if r.recovering {
			status = func() error { return r.ensureStatus(ctx, "in_progress", detail) }
		}
		err := together(status,
			func() error { return r.setButtons(ctx, r.rolloutTitle(detail), promoteAction, abortAction) },
			func() error { return r.updateComment(ctx) })
		if err != nil {
			return outcome{}, err
		}
		st.Announced = true
	}
	var measureIn time.Duration
	if m := r.env.Verify.Metrics; m != nil && r.d.Strategy == config.StrategyCanary {
		if st.Analysis == nil {
			st.Analysis = &analysisState{}
		}
		if !now.Before(st.NextMeasure) {
			if failed, _ := r.measureOnce(ctx, st.Analysis, now); len(failed) > 0 {
				reason := fmt.Sprintf("analysis during the pause at %d %%: %s", spec.Weight, strings.Join(failed, "; "))
				return outcome{kind: outcomeFail, reason: reason, detail: reason, result: st}, nil
			}
			st.NextMeasure = now.Add(m.Interval.Duration)
		}
		measureIn = st.NextMeasure.Sub(now)
		detail = fmt.Sprintf("%s; %d measurements within bounds", detail, len(st.Analysis.Measurements))
	}
	o := outcome{kind: outcomeAwait, detail: detail}
	if announce && spec.Manual {
		o.inTx = func(ctx context.Context, tx *store.Tx, _ *outcome) error {
			return notify(ctx, tx, r.d, r.env, config.NotifyPaused, detail)
		}
	}
	if !spec.Manual && !st.TimerSet {
		st.TimerSet = true
		o.after = max(st.Until.Sub(now), 0) + time.Second
	}
	if measureIn > 0 && (o.after == 0 || measureIn < o.after) {
		o.after = measureIn // the next measurement wakes it (an earlier timer may too)
	}
	o.result = st
	return o, nil
}

// pauseDescription is the in_progress status while paused.
func (r *run) pauseDescription(spec pauseSpec, st pauseState, now time.Time) string {
	what := "Canary at " + fmt.Sprint(spec.Weight) + " %"
	if r.d.Strategy == config.StrategyBlueGreen {
		what = "Blue-green: " + r.rc.Slot + " verified"
	}
	if spec.Manual {
		return what + ": paused for Promote"
	}
	left := st.Until.Sub(now).Round(time.Second)
	return fmt.Sprintf("%s: paused until %s (%s left)", what, st.Until.UTC().Format("15:04 UTC"), max(left, 0))
}

// Buttons of a rollout's deploy/<env> check run (GitHub allows 3; label
// ≤ 20 characters, description ≤ 40).
var (
	abortAction   = &github.CheckRunAction{Label: "Abort", Description: "Stop the rollout and undo it", Identifier: "abort"}
	promoteAction = &github.CheckRunAction{Label: "Promote", Description: "End this pause and go on", Identifier: "promote"}
)

// progressive reports whether the deployment is a rollout with buttons
// (not direct, not a dry run).
func (r *run) progressive() bool {
	return r.d.Strategy != "" && r.d.Strategy != config.StrategyDirect && r.d.Task != TaskDryRun
}

// rolloutTitle is the check run's title during a rollout.
func (r *run) rolloutTitle(phase string) string {
	if phase == "" {
		return "overall_status=PASS · " + r.d.Strategy + " in progress"
	}
	return "overall_status=PASS · " + phase
}

// setButtons updates the summary check run's title and buttons.
func (r *run) setButtons(ctx context.Context, title string, actions ...*github.CheckRunAction) error {
	if r.d.CheckRunID == 0 {
		return nil
	}
	_, _, err := r.gh.Checks.UpdateCheckRun(ctx, r.owner, r.repo, r.d.CheckRunID, github.UpdateCheckRunOptions{
		Name: checkRunName(r.d.Environment), Actions: actions,
		Output: &github.CheckRunOutput{Title: github.String(truncate(title, 255)), Summary: github.String(truncate(r.checkSummary(), 65000))},
	})
	if err != nil {
		return fmt.Errorf("update the buttons of %s: %w", checkRunName(r.d.Environment), err)
	}
	return nil
}
