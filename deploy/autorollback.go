package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/store"
)

// Automatic rollback (`rollback: { automatic: true }`): a deployment that
// failed after changing the environment starts a rollback to the previous
// good version through the same pipeline — task deploy:rollback, trigger
// automatic, rollback_of the failed deployment — in the transaction that
// records the failure, so a retried finish never starts two. A rollback is
// never rolled back automatically, and a rollout whose undo steps already
// restored the environment needs none.

// autoRollback arranges the automatic rollback of r's deployment, if one
// is due. What it cannot start becomes a note in the record.
func (r *run) autoRollback(ctx context.Context) error {
	d := r.d
	if !r.env.Rollback.Automatic || d.Task != TaskDeploy || d.State != store.StateFailure || !r.changedEnvironment() || r.undone() {
		return nil
	}
	target, err := r.svc.previousGood(ctx, d)
	if err != nil {
		return fmt.Errorf("find the version to roll back to: %w", err)
	}
	if target == "" {
		r.notes = append(r.notes, "no automatic rollback: nothing was live before")
		return nil
	}
	next, steps, err := r.svc.prepare(r.automaticRollback(target, d.Reason))
	var pe permanentError
	if errors.As(err, &pe) {
		r.notes = append(r.notes, "no automatic rollback: "+pe.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("prepare the automatic rollback: %w", err)
	}
	r.inFinishTx(func(ctx context.Context, tx *store.Tx) error {
		if _, _, err := startTx(ctx, tx, next, steps); err != nil {
			return fmt.Errorf("start the automatic rollback: %w", err)
		}
		return nil
	})
	r.notes = append(r.notes, "rolling back automatically to "+short(target))
	return nil
}

// changedEnvironment reports whether a forward executor step touched the
// environment (a deployment its gates blocked changed nothing).
func (r *run) changedEnvironment() bool {
	for _, st := range r.steps {
		if st.Name == stepExecute && !parseSpec(st.Spec).Undo && attempted(st) {
			return true
		}
	}
	return false
}

// undone reports whether the rollout's undo steps restored the environment
// (they ran and none failed).
func (r *run) undone() bool {
	ran := false
	for _, st := range r.steps {
		if isUndo(st) {
			if st.State == store.StepFailed {
				return false
			}
			ran = ran || st.State == store.StepDone
		}
	}
	return ran
}

// automaticRollback is the request that rolls r's deployment back to
// target because of reason, on behalf of the person who deployed it (their
// permission result, checked when they asked).
func (r *run) automaticRollback(target, reason string) Request {
	d := r.d
	req := rollbackRequest(d, r.env, target, target)
	req.Trigger, req.RequestedBy, req.PRNumber = "automatic", d.RequestedBy, d.PRNumber
	req.RequestKey = fmt.Sprintf("auto-rollback-of:%d", d.ID)
	req.Context.DefaultBranch = r.rc.DefaultBranch
	req.Context.Cause = &RollbackCause{DeploymentID: d.ID, Reason: reason, LogURL: r.svc.logURL(d.ID)}
	req.Permission = checks.Result{Gate: "permission", Verdict: checks.Pass, Reason: "automatic rollback of #" + fmt.Sprint(d.ID)}
	for _, g := range r.gateResults() {
		if g.Gate == "permission" {
			req.Permission = g
		}
	}
	return req
}
