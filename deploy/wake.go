package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/deploybot/deploybot/store"
)

// WakeArgs is a durable timer: at its time it resumes a deployment that is
// still waiting on its gates (which then time out).
type WakeArgs struct {
	DeploymentID int64 `json:"deployment_id"`
}

func (WakeArgs) Kind() string { return "deploy_wake" }

type wakeWorker struct {
	river.WorkerDefaults[WakeArgs]
	svc *Service
}

func (w *wakeWorker) Work(ctx context.Context, job *river.Job[WakeArgs]) error {
	return w.svc.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.ClaimWaiting(ctx, job.Args.DeploymentID)
		if err != nil || !ok {
			return err // not waiting any more: an event resumed it first
		}
		d, err := tx.Deployment(ctx, job.Args.DeploymentID)
		if err != nil {
			return err
		}
		return tx.Enqueue(ctx, StepArgs{DeploymentID: d.ID, Step: d.Step}, stepOpts(time.Time{}))
	})
}

// OnCommitChecksChanged resumes deployments of repo (owner/name) at sha that
// wait on their gates: a check suite, check run or commit status on that
// commit changed. It makes no GitHub request.
func (s *Service) OnCommitChecksChanged(ctx context.Context, repo, sha string) error {
	return s.resume(ctx, func(tx *store.Tx) ([]*store.Deployment, error) { return tx.Wake(ctx, repo, sha) })
}

// OnDeploymentStatusReported resumes the deployment driving GitHub
// deployment id, when another system (an external executor) reported a
// status on it.
func (s *Service) OnDeploymentStatusReported(ctx context.Context, repo string, id int64) error {
	return s.resume(ctx, func(tx *store.Tx) ([]*store.Deployment, error) { return tx.WakeGitHubDeployment(ctx, repo, id) })
}

// OnWorkflowRunCompleted resumes the deployments of repo running an Actions
// executor step: each looks whether the completed run is the one it
// dispatched.
func (s *Service) OnWorkflowRunCompleted(ctx context.Context, repo string) error {
	return s.resume(ctx, func(tx *store.Tx) ([]*store.Deployment, error) {
		woken, err := tx.WakeAtStep(ctx, repo, stepExecute)
		if err != nil {
			return nil, err
		}
		smoke, err := tx.WakeAtStep(ctx, repo, stepSmokeWorkflow)
		return append(woken, smoke...), err
	})
}

// resume enqueues the current step of the waiting deployments wake claims,
// in the transaction that claims them.
func (s *Service) resume(ctx context.Context, wake func(tx *store.Tx) ([]*store.Deployment, error)) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		woken, err := wake(tx)
		if err != nil {
			return err
		}
		return enqueueCurrentSteps(ctx, tx, woken)
	})
}

// enqueueCurrentSteps enqueues, in tx, the current step of each deployment
// a wake claimed.
func enqueueCurrentSteps(ctx context.Context, tx *store.Tx, woken []*store.Deployment) error {
	for _, d := range woken {
		if err := tx.Enqueue(ctx, StepArgs{DeploymentID: d.ID, Step: d.Step}, stepOpts(time.Time{})); err != nil {
			return err
		}
	}
	return nil
}

// PullRequestHead says a pull request's head moved to SHA.
type PullRequestHead struct {
	Owner, Repo string
	Number      int
	SHA         string
	Pusher      string
}

// OnPullRequestHeadMoved cancels the deployments requested from the pull
// request that have not begun deploying and pin an older head: the commit
// that was gated is no longer what the PR proposes. Their finish step
// replies to the requester. It makes no GitHub request.
func (s *Service) OnPullRequestHeadMoved(ctx context.Context, p PullRequestHead) error {
	repo := p.Owner + "/" + p.Repo
	reason := fmt.Sprintf("cancelled because the pull request's head moved to %s while it waited", short(p.SHA))
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		// Pending and running deployments see the mark at their next step.
		_, resume, err := tx.CancelStale(ctx, repo, p.Number, p.SHA, reason)
		if err != nil {
			return err
		}
		for _, d := range resume {
			if err := tx.Enqueue(ctx, StepArgs{DeploymentID: d.ID, Step: d.Step}, stepOpts(time.Time{})); err != nil {
				return err
			}
		}
		return nil
	})
}

// cancelNotice is the reply that tells the requester why a deployment they
// asked for stopped (posted by the finish step, so it survives a crash).
func cancelNotice(d *store.Deployment) string {
	return fmt.Sprintf("the deployment of `%s` to **%s** was %s. deploybot only deploys the commit it gated: "+
		"comment `/deploy %s` again to deploy the new head.", short(d.SHA), d.Environment, d.CancelReason, d.Environment)
}
