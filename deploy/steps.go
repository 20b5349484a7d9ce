package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/internal/pacer"
	"github.com/deploybot/deploybot/store"
)

// createDeployment makes the GitHub Deployment. Its queued status goes out
// with the record comment, in the next step (commentStep): nothing waits
// for it, and the two together cost one round trip.
func (r *run) createDeployment(ctx context.Context) (outcome, error) {
	d := r.d
	if r.rc.Adopted { // someone else created it; deploybot drives it
		if err := r.status(ctx, "queued", "Adopted by deploybot: gates run next"); err != nil {
			return outcome{}, err
		}
		return done(fmt.Sprintf("adopted GitHub deployment %d", d.GitHubDeploymentID)), nil
	}
	if r.recovering {
		id, err := r.findOwnDeployment(ctx)
		if err != nil {
			return outcome{}, err
		}
		if id != 0 {
			d.GitHubDeploymentID = id
			return done(fmt.Sprintf("GitHub deployment %d (found after restart)", id)), nil
		}
	}
	req := &github.DeploymentRequest{
		Ref:                   github.String(d.SHA),
		Task:                  github.String(d.Task),
		AutoMerge:             github.Bool(false),
		RequiredContexts:      &[]string{}, // deploybot runs its own gates
		Payload:               r.deploymentPayload(),
		Environment:           github.String(d.Environment),
		Description:           github.String(truncate(fmt.Sprintf("%s by @%s via deploybot", d.Task, d.RequestedBy), 140)),
		ProductionEnvironment: github.Bool(d.Production),
		TransientEnvironment:  github.Bool(false),
	}
	dep, resp, err := r.gh.Repositories.CreateDeployment(ctx, r.owner, r.repo, req)
	var accepted *github.AcceptedError
	if errors.As(err, &accepted) || (err == nil && (resp.StatusCode == 202 || dep.GetID() == 0)) {
		// 202 means GitHub merged the default branch into the ref instead
		// of deploying it. With auto_merge off this should never happen;
		// it is never mistaken for a deployment.
		return fail("GitHub answered 202 (auto-merge) instead of creating a deployment; nothing was deployed"), nil
	}
	if err != nil {
		if permanent(err) {
			return fail("GitHub refused the deployment: " + githubMessage(err)), nil
		}
		return outcome{}, err
	}
	d.GitHubDeploymentID = dep.GetID()
	return done(fmt.Sprintf("GitHub deployment %d created", dep.GetID())), nil
}

// commentStep posts the record comment and, at the same time, the queued
// status of the deployment the previous step created (an adopted one got
// its own there). A retried step looks for both before posting either.
func (r *run) commentStep(ctx context.Context) (outcome, error) {
	if r.rc.Adopted || r.d.GitHubDeploymentID == 0 {
		return r.createComment(ctx)
	}
	var o outcome
	err := together(
		func() (err error) { o, err = r.createComment(ctx); return err },
		func() error { return r.ensureStatus(ctx, "queued", "Queued by @"+r.d.RequestedBy) },
	)
	return o, err
}

func (r *run) deploymentPayload() map[string]any {
	d := r.d
	var rollbackOf any
	if d.RollbackOf != 0 {
		rollbackOf = d.RollbackOf
	}
	return map[string]any{"deploybot": map[string]any{
		"id":           d.ID,
		"trigger":      d.Trigger,
		"requested_by": d.RequestedBy,
		"strategy":     d.Strategy,
		"backup_tag":   backupTagName(d),
		"rollback_of":  rollbackOf,
	}}
}

// findOwnDeployment looks for the GitHub deployment an interrupted attempt
// may have created, by the deploybot id in its payload.
func (r *run) findOwnDeployment(ctx context.Context) (int64, error) {
	deps, _, err := r.gh.Repositories.ListDeployments(ctx, r.owner, r.repo, &github.DeploymentsListOptions{
		SHA: r.d.SHA, Environment: r.d.Environment, Task: r.d.Task, ListOptions: github.ListOptions{PerPage: 30}})
	if err != nil {
		return 0, err
	}
	for _, dep := range deps {
		var p struct {
			Deploybot struct {
				ID int64 `json:"id"`
			} `json:"deploybot"`
		}
		if json.Unmarshal(dep.Payload, &p) == nil && p.Deploybot.ID == r.d.ID {
			return dep.GetID(), nil
		}
	}
	return 0, nil
}

// createComment posts the deployment record on the pull request.
func (r *run) createComment(ctx context.Context) (outcome, error) {
	if r.d.PRNumber == 0 {
		return done("no pull request to comment on"), nil
	}
	if r.recovering {
		comments, _, err := r.gh.Issues.ListComments(ctx, r.owner, r.repo, r.d.PRNumber, &github.IssueListCommentsOptions{
			ListOptions: github.ListOptions{PerPage: 100}})
		if err != nil {
			return outcome{}, err
		}
		for _, c := range comments {
			if strings.Contains(c.GetBody(), recordMarker(r.d.ID)) {
				r.d.CommentID = c.GetID()
				return done("record comment found after restart"), nil
			}
		}
	}
	if r.st.Name == stepComment {
		r.st.State, r.st.Detail = store.StepDone, "record comment posted"
	}
	cctx := ctx
	if r.d.Done() { // the finish step posts the final record
		cctx = pacer.WithPriority(ctx, pacer.Final)
	}
	c, _, err := r.gh.Issues.CreateComment(cctx, r.owner, r.repo, r.d.PRNumber, &github.IssueComment{Body: github.String(r.record())})
	if err != nil && permanent(err) {
		// A locked conversation must not stop a deploy: the record lives on
		// in the store and at log_url.
		return done("record comment refused: " + githubMessage(err)), nil
	}
	if err != nil {
		return outcome{}, err
	}
	r.d.CommentID = c.GetID()
	return done("record comment posted"), nil
}

// lock takes the environment's in-flight slot or parks the deployment in
// the FIFO queue. The decision and the parking commit together.
func (r *run) lock(ctx context.Context) (outcome, error) {
	o := outcome{kind: outcomeDone}
	var holder int64
	o.inTx = func(ctx context.Context, tx *store.Tx, o *outcome) error {
		var err error
		if holder, err = tx.AcquireLock(ctx, r.d.Repo, r.d.Environment, r.d.ID); err != nil {
			return err
		}
		if holder == r.d.ID {
			r.d.State = store.StateRunning
			o.kind, o.detail = outcomeDone, r.d.Environment+" is ours"
			if r.st.Attempts > 1 || r.st.Detail != "" {
				o.detail = r.d.Environment + " is ours (waited in queue)"
			}
			return nil
		}
		o.kind, o.detail = outcomePark, fmt.Sprintf("waiting for deployment #%d", holder)
		return nil
	}
	o.afterCommit = func(ctx context.Context, o outcome) error {
		if o.kind != outcomePark {
			return nil
		}
		ahead, _ := r.svc.Store.QueuedAhead(ctx, r.d.Repo, r.d.Environment, r.d.ID)
		r.st.Detail = fmt.Sprintf("waiting for deployment #%d to finish (%d queued ahead)", holder, ahead)
		if err := r.status(ctx, "queued", fmt.Sprintf("Waiting for deployment #%d to %s", holder, r.d.Environment)); err != nil {
			return err
		}
		return r.updateComment(ctx)
	}
	return o, nil
}

func gateNames(results []checks.Result) string {
	names := make([]string, len(results))
	for i, g := range results {
		names[i] = g.Gate
	}
	return strings.Join(names, ", ")
}
