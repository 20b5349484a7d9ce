package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/store"
)

// finish reports the end of a deployment everywhere (status, check run,
// record comment), keeps older production deployments inactive, and hands
// the environment to the next queued deployment in the same transaction
// that records the end.
func (r *run) finish(ctx context.Context) (outcome, error) {
	d := r.d
	dry := d.Task == TaskDryRun
	success := d.Reason == ""
	if d.State != store.StateError {
		d.State = map[bool]string{true: store.StateSuccess, false: store.StateFailure}[success]
	}
	d.FinishedAt = r.svc.now()

	if d.GitHubDeploymentID != 0 {
		if success {
			if err := r.statusWith(ctx, "success", "Deployed "+short(d.SHA)+" to "+d.Environment, r.env.URL); err != nil {
				return outcome{}, err
			}
			if d.Production {
				if err := r.deactivatePrevious(ctx); err != nil {
					return outcome{}, err
				}
			}
		} else {
			state := "failure"
			if d.State == store.StateError {
				state = "error"
			}
			if err := r.status(ctx, state, d.Reason); err != nil {
				return outcome{}, err
			}
		}
	}
	// The record shows this step as done: it is, once the notices below land.
	r.st.State, r.st.Detail = store.StepDone, "deployment "+d.State
	if pr := r.rc.ProtectionRun; pr != nil {
		results := r.gateResults()
		approve := success && checks.Overall(results) == checks.Pass
		if err := r.svc.answerProtection(ctx, r.gh, r.owner, r.repo, pr, d.Environment, approve, protectionComment(results, r.svc.logURL(d.ID))); err != nil {
			return outcome{}, err
		}
	}
	if err := r.archiveToRelease(ctx); err != nil {
		return outcome{}, err
	}
	if err := r.closeWaitingGates(ctx); err != nil {
		return outcome{}, err
	}
	if err := r.completeCheckRun(ctx, success); err != nil {
		return outcome{}, err
	}
	if r.d.CommentID == 0 && r.d.PRNumber != 0 {
		// Failed before the record was posted: post it now, so the person
		// who asked learns why.
		if _, err := r.createComment(ctx); err != nil {
			return outcome{}, err
		}
	} else if err := r.updateComment(ctx); err != nil {
		return outcome{}, err
	}
	if d.CancelReason != "" && d.Reason == d.CancelReason && d.PRNumber != 0 && !dry {
		if err := r.replyOnce(ctx, "cancel", cancelNotice(d)); err != nil {
			return outcome{}, err
		}
	}
	var next *store.Deployment
	r.finishTxHook = func(ctx context.Context, tx *store.Tx) error {
		if dry {
			return nil // a dry run never takes the environment
		}
		var err error
		if next, err = tx.ReleaseLock(ctx, d.Repo, d.Environment, d.ID); err != nil || next == nil {
			return err
		}
		return tx.Enqueue(ctx, StepArgs{DeploymentID: next.ID, Step: next.Step}, stepOpts(time.Time{}))
	}
	if err := r.chain(ctx); err != nil { // the next environment of `/deploy a,b`, in the hook's transaction
		return outcome{}, err
	}
	return done("deployment " + d.State), nil
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
