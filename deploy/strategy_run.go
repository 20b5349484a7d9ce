package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// What a rollout's steps learn only when they run, and how the cursor
// moves around the undo steps.

func otherSlot(s string) string {
	if s == "blue" {
		return "green"
	}
	return "blue"
}

// isUndo reports whether st reverses a failed or aborted rollout.
func isUndo(st store.Step) bool { return st.Name == stepExecute && parseSpec(st.Spec).Undo }

// attempted reports whether a step got as far as touching the environment.
func attempted(st store.Step) bool {
	return st.State == store.StepDone || st.State == store.StepFailed || st.State == store.StepRunning
}

// rolloutSpec completes a step's spec with what is known only now (the
// blue-green slot; for undo steps what to restore). skip, when set, says
// why the step has nothing to do (an undo step for something never changed).
func (r *run) rolloutSpec(ctx context.Context, spec ExecSpec) (ExecSpec, string, error) {
	switch r.d.Strategy {
	case config.StrategyBlueGreen:
		if r.rc.Slot == "" {
			live, err := r.svc.Store.EnvSlot(ctx, r.d.Repo, r.d.Environment)
			if err != nil {
				return spec, "", err
			}
			r.rc.Slot = "blue" // the first deployment goes to blue
			if live != nil {
				r.rc.Slot, r.rc.LiveSlotSHA = otherSlot(live.Live), live.LiveSHA
			}
			r.d.Context = r.rc.encode()
		}
		spec.Slot = r.rc.Slot
		if spec.Undo {
			if !r.forwardAttempted(func(e ExecSpec) bool { return e.Action == "switch" }) {
				return spec, "nothing to undo: traffic never left the " + otherSlot(r.rc.Slot) + " slot, and " + r.rc.Slot + " was left as it was", nil
			}
			spec.Slot = otherSlot(r.rc.Slot)
		}
	case config.StrategyCanary:
		if spec.Undo && !r.forwardAttempted(func(ExecSpec) bool { return true }) {
			return spec, "nothing to undo: no canary step ran", nil
		}
	case config.StrategyRolling:
		if spec.Undo && !r.forwardAttempted(func(e ExecSpec) bool { return e.Batch == spec.Batch }) {
			return spec, fmt.Sprintf("nothing to undo: batch %d was never updated", spec.Batch), nil
		}
	}
	return spec, "", nil
}

// forwardAttempted reports whether a forward execute step matching match
// touched the environment.
func (r *run) forwardAttempted(match func(ExecSpec) bool) bool {
	for _, st := range r.steps {
		if st.Name != stepExecute || st.Index == r.st.Index {
			continue
		}
		if e := parseSpec(st.Spec); !e.Undo && match(e) && attempted(st) {
			return true
		}
	}
	return false
}

// afterRolloutStep adds a strategy's bookkeeping to an executor step's
// outcome: the blue-green switch is recorded with the step, a rolling
// batch failure within max_failures is tolerated, and a failed undo says
// what it left.
func (r *run) afterRolloutStep(spec ExecSpec, o outcome) outcome {
	switch {
	case spec.Undo && o.kind == outcomeFail:
		o.reason = r.d.Reason + "; undoing it failed: " + o.reason
		r.d.Reason = o.reason
	case spec.Action == "switch" && o.kind == outcomeDone:
		slot, sha, previous := spec.Slot, r.d.SHA, r.rc.LiveSlotSHA
		if spec.Undo {
			sha, previous = r.rc.LiveSlotSHA, r.d.SHA
		}
		prev := o.inTx
		o.inTx = func(ctx context.Context, tx *store.Tx, o *outcome) error {
			if prev != nil {
				if err := prev(ctx, tx, o); err != nil {
					return err
				}
			}
			return tx.SwitchSlot(ctx, r.d.Repo, r.d.Environment, slot, sha, previous, r.d.ID)
		}
		if spec.Undo {
			o.detail = "switched back to " + slot + " (" + short(sha) + ")"
		} else {
			o.detail = slot + " is live: " + o.detail
		}
	case r.d.Strategy == config.StrategyRolling && !spec.Undo && o.kind == outcomeFail:
		limit := 0
		if rl := r.env.Strategy.Rolling; rl != nil {
			limit = rl.MaxFailures
		}
		if tolerated := r.toleratedBatches(); tolerated < limit {
			o.kind = outcomeDone
			o.detail = fmt.Sprintf("batch %d failed (%s); tolerated: %d of max_failures %d", spec.Batch, o.reason, tolerated+1, limit)
			o.reason = ""
		}
	case spec.Undo && o.kind == outcomeDone:
		switch spec.Action {
		case "abort":
			o.detail = "stable takes all traffic again (weight 0): " + o.detail
		case "rollback":
			o.detail = fmt.Sprintf("batch %d back on %s: %s", spec.Batch, short(r.d.PreviousSHA), o.detail)
		}
	}
	return o
}

func (r *run) toleratedBatches() int {
	n := 0
	for _, st := range r.steps {
		if st.Name == stepExecute && st.State == store.StepDone && strings.Contains(st.Detail, "tolerated:") {
			n++
		}
	}
	return n
}

// nextAfterDone is the step after the current one when it succeeded: the
// next forward step, or — past the last forward step — finish, skipping
// the undo steps, which run only after a failure. It marks what it skips.
func (r *run) nextAfterDone() []int {
	next := r.d.Step + 1
	var skipped []int
	if !isUndo(*r.st) {
		for next < len(r.steps) && isUndo(r.steps[next]) {
			skipped = append(skipped, next)
			next++
		}
	}
	r.d.Step = next
	return skipped
}

// firstUndo is where a failed forward step jumps: the first undo step, or
// -1 when the rollout has none or the failed step is itself undoing.
func (r *run) firstUndo() int {
	if isUndo(*r.st) {
		return -1
	}
	for i := r.d.Step + 1; i < len(r.steps); i++ {
		if isUndo(r.steps[i]) {
			return i
		}
	}
	return -1
}

// undoing reports whether the deployment is past its forward steps (an
// abort then changes nothing).
func (r *run) undoing() bool { return isUndo(*r.st) || r.st.Name == stepFinish }
