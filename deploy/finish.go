package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/internal/pacer"
	"github.com/deploybot/deploybot/store"
)

// finish reports the end of a deployment everywhere (status, check run,
// record comment) and keeps older production deployments inactive. GitHub
// refusing one of these notices (a 4xx) is noted in the record and does not
// stop the others; apply then ends the deployment and hands the environment
// to the next queued deployment in the same transaction.
func (r *run) finish(ctx context.Context) (outcome, error) {
	d := r.d
	dry := d.Task == TaskDryRun
	success := d.Reason == ""
	if d.State != store.StateError {
		d.State = map[bool]string{true: store.StateSuccess, false: store.StateFailure}[success]
	}
	d.FinishedAt = r.svc.now()
	r.notes = nil // a retried finish notes afresh
	// The final notices are sent all together or, when the installation's
	// write budget has no room for them, none yet (the step snoozes): a
	// retried finish does not post them twice.
	ctx, release := pacer.Reserve(ctx, r.finalWrites(), pacer.Final)
	defer release()

	if d.GitHubDeploymentID != 0 {
		if success {
			err := r.statusWith(ctx, "success", "Deployed "+short(d.SHA)+" to "+d.Environment, r.env.URL)
			if err := r.tolerate("report the deployment status", err); err != nil {
				return outcome{}, err
			}
			if d.Production {
				if err := r.tolerate("mark the previous deployment inactive", r.deactivatePrevious(ctx)); err != nil {
					return outcome{}, err
				}
			}
		} else {
			state := "failure"
			if d.State == store.StateError {
				state = "error"
			}
			if err := r.tolerate("report the deployment status", r.status(ctx, state, d.Reason)); err != nil {
				return outcome{}, err
			}
		}
	}
	if pr := r.rc.ProtectionRun; pr != nil {
		results := r.gateResults()
		approve := success && checks.Overall(results) == checks.Pass
		err := r.svc.answerProtection(ctx, r.gh, r.owner, r.repo, pr, d.Environment, approve, protectionComment(results, r.svc.logURL(d.ID)))
		if err := r.tolerate("answer the deployment protection rule", err); err != nil {
			return outcome{}, err
		}
	}
	if err := r.tolerate("append the record to the release", r.archiveToRelease(ctx)); err != nil {
		return outcome{}, err
	}
	if err := r.tolerate("close the waiting gate check runs", r.closeWaitingGates(ctx)); err != nil {
		return outcome{}, err
	}
	if r.monitored() {
		// The window starts now: the check run stays in progress.
		if err := r.startMonitor(ctx); err != nil {
			return outcome{}, err
		}
	} else if err := r.tolerate("complete the check run", r.completeCheckRun(ctx, success)); err != nil {
		return outcome{}, err
	}
	r.notifyEnd()
	// After a failure that changed the environment, its automatic rollback
	// (started with this deployment's end; the record says so).
	if err := r.autoRollback(ctx); err != nil {
		return outcome{}, err
	}
	// The record shows this step as done: it is, once the notices below land.
	r.st.State, r.st.Detail = store.StepDone, r.finishDetail()
	if r.d.CommentID == 0 && r.d.PRNumber != 0 {
		// Failed before the record was posted: post it now, so the person
		// who asked learns why.
		_, err := r.createComment(ctx)
		if err := r.tolerate("post the record comment", err); err != nil {
			return outcome{}, err
		}
	} else if err := r.tolerate("update the record comment", r.updateComment(ctx)); err != nil {
		return outcome{}, err
	}
	if d.CancelReason != "" && d.Reason == d.CancelReason && d.PRNumber != 0 && !dry {
		if err := r.tolerate("reply about the cancellation", r.replyOnce(ctx, "cancel", cancelNotice(d))); err != nil {
			return outcome{}, err
		}
	}
	// The next environment of `/deploy a,b`, in the transaction that ends this one.
	if err := r.tolerate("start the next environment", r.chain(ctx)); err != nil {
		return outcome{}, err
	}
	return done(r.finishDetail()), nil
}

// finalWrites is how many writes finish makes, at most, before its replies.
func (r *run) finalWrites() int {
	n := 1 // the check run
	if r.d.GitHubDeploymentID != 0 {
		n += 2 // the status, and the previous deployment's inactive
	}
	if r.rc.ProtectionRun != nil {
		n++
	}
	if r.d.PRNumber != 0 {
		n++ // the record
	}
	return n
}

// tolerate lets finish go on when GitHub refused one of its requests (a
// 4xx answer, which a retry cannot fix): the refusal is noted in the
// record. Other errors (5xx, transport) are returned, so the job retries.
func (r *run) tolerate(what string, err error) error {
	if err == nil || !permanent(err) {
		return err
	}
	note := "GitHub refused to " + what
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil {
		note += fmt.Sprintf(" (%d %s)", ge.Response.StatusCode, ge.Message)
	}
	r.log.Warn().Err(err).Msg(note)
	r.notes = append(r.notes, note)
	return nil
}

func (r *run) finishDetail() string {
	return strings.Join(append([]string{"deployment " + r.d.State}, r.notes...), "; ")
}

// deactivatePrevious marks the deployment that was live before this one
// inactive: GitHub does that itself only for non-production environments.
func (r *run) deactivatePrevious(ctx context.Context) error {
	for _, st := range r.steps {
		if st.Name != stepBackup {
			continue
		}
		var res backupResult
		if json.Unmarshal([]byte(st.Result), &res) != nil || res.LiveDeployment == 0 {
			return nil
		}
		_, _, err := r.gh.Repositories.CreateDeploymentStatus(ctx, r.owner, r.repo, res.LiveDeployment, &github.DeploymentStatusRequest{
			State:       github.String("inactive"),
			Description: github.String(fmt.Sprintf("Superseded by deployment %d", r.d.GitHubDeploymentID)),
		})
		return err
	}
	return nil
}

// replyOnce posts a reply to the requester from a pipeline step, marked so
// that a retried step finds it instead of posting it twice.
func (r *run) replyOnce(ctx context.Context, kind, msg string) error {
	marker := fmt.Sprintf("<!-- deploybot:%s:%d -->", kind, r.d.ID)
	if r.recovering || r.st.Attempts > 1 {
		since := r.st.StartedAt.Add(-time.Minute)
		comments, _, err := r.gh.Issues.ListComments(ctx, r.owner, r.repo, r.d.PRNumber, &github.IssueListCommentsOptions{
			Since: &since, ListOptions: github.ListOptions{PerPage: 100}})
		if err != nil {
			return fmt.Errorf("look for an earlier %s reply: %w", kind, err)
		}
		for _, c := range comments {
			if strings.Contains(c.GetBody(), marker) {
				return nil
			}
		}
	}
	return r.svc.postReply(ctx, r.gh, r.owner, r.repo, r.d.PRNumber, r.d.RequestedBy, msg+"\n\n"+marker)
}

// lastNotices reports a deployment that ended because its finish step gave
// up: the error status, the check run and the record, each once more.
func (r *run) lastNotices(ctx context.Context) error {
	r.notes = nil
	var errs []error
	for _, n := range []struct {
		what string
		do   func() error
	}{
		{"report the deployment status", func() error { return r.status(ctx, "error", r.d.Reason) }},
		{"complete the check run", func() error { return r.completeCheckRun(ctx, false) }},
		{"update the record comment", func() error { return r.updateComment(ctx) }},
	} {
		if err := r.tolerate(n.what, n.do()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.what, err))
		}
	}
	return errors.Join(errs...)
}

// inFinishTx adds fn to the transaction that records the deployment's end
// (after what is already there): what starts with the end commits with it.
func (r *run) inFinishTx(fn func(ctx context.Context, tx *store.Tx) error) {
	before := r.finishTxHook
	r.finishTxHook = func(ctx context.Context, tx *store.Tx) error {
		if before != nil {
			if err := before(ctx, tx); err != nil {
				return err
			}
		}
		return fn(ctx, tx)
	}
}
