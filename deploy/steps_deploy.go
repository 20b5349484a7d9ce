package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// backupResult is what the backup step found live.
type backupResult struct {
	LiveSHA        string `json:"live_sha,omitempty"`
	LiveDeployment int64  `json:"live_deployment,omitempty"` // GitHub id of the live deployment
	Tag            string `json:"tag,omitempty"`
}

// backup tags the SHA live in the environment: the newest deployment (other
// than this one) whose newest status is success.
func (r *run) backup(ctx context.Context) (outcome, error) {
	o, err := r.backupLive(ctx)
	if err == nil {
		// About to deploy: older deployments' monitoring windows end here.
		o.inTx = func(ctx context.Context, tx *store.Tx, _ *outcome) error {
			if err := notify(ctx, tx, r.d, r.env, config.NotifyStarted, ""); err != nil {
				return err
			}
			return r.supersedeMonitors(ctx, tx)
		}
	}
	return o, err
}

func (r *run) backupLive(ctx context.Context) (outcome, error) {
	live, err := r.liveForBackup(ctx)
	if err != nil {
		return outcome{}, err
	}
	if live.Deployment == 0 {
		r.d.PreviousSHA = ""
		return outcome{kind: outcomeDone, detail: "nothing live in " + r.d.Environment + " yet; no backup tag", result: backupResult{}}, nil
	}
	res := backupResult{LiveSHA: live.SHA, LiveDeployment: live.Deployment}
	tag, err := r.createTag(ctx, backupTagName(r.d), res.LiveSHA)
	if err != nil {
		return outcome{}, err
	}
	res.Tag = tag
	r.d.PreviousSHA, r.d.BackupTag = res.LiveSHA, tag
	return outcome{kind: outcomeDone, detail: fmt.Sprintf("tagged %s at %s", tag, short(res.LiveSHA)), result: res}, nil
}

const maxLiveScan = 10

func (r *run) findLive(ctx context.Context) (*github.Deployment, error) {
	deps, _, err := r.gh.Repositories.ListDeployments(ctx, r.owner, r.repo, &github.DeploymentsListOptions{
		Environment: r.d.Environment, ListOptions: github.ListOptions{PerPage: maxLiveScan}})
	if err != nil {
		return nil, err
	}
	for _, dep := range deps {
		if dep.GetID() >= r.d.GitHubDeploymentID && r.d.GitHubDeploymentID != 0 {
			continue // this deployment, or one requested after it
		}
		statuses, _, err := r.gh.Repositories.ListDeploymentStatuses(ctx, r.owner, r.repo, dep.GetID(), &github.ListOptions{PerPage: 1})
		if err != nil {
			return nil, err
		}
		if len(statuses) > 0 && statuses[0].GetState() == "success" {
			return dep, nil
		}
	}
	return nil, nil
}

// createTag creates refs/tags/<name> at sha. A tag left by an interrupted
// attempt at the same SHA counts as created.
func (r *run) createTag(ctx context.Context, name, sha string) (string, error) {
	for _, candidate := range []string{name, fmt.Sprintf("%s-%d", name, r.d.ID)} {
		_, _, err := r.gh.Git.CreateRef(ctx, r.owner, r.repo, &github.Reference{
			Ref: github.String("refs/tags/" + candidate), Object: &github.GitObject{SHA: github.String(sha)}})
		if err == nil {
			return candidate, nil
		}
		var ge *github.ErrorResponse
		if !errors.As(err, &ge) || ge.Response == nil || ge.Response.StatusCode != http.StatusUnprocessableEntity {
			return "", err
		}
		existing, _, err := r.gh.Git.GetRef(ctx, r.owner, r.repo, "tags/"+candidate)
		if err != nil {
			return "", err
		}
		if existing.GetObject().GetSHA() == sha {
			return candidate, nil
		}
	}
	return "", permanentError{fmt.Errorf("backup tag %s exists at another commit", name)}
}

// databaseBackup calls the migrations gate's backup hook (action "backup")
// right before deploying, when the gate found changed migrations. A failed
// backup stops the deployment: nothing has been changed yet.
func (r *run) databaseBackup(ctx context.Context) (outcome, error) {
	var hook *config.Executor
	for _, g := range r.gateResults() {
		if g.Gate == "migrations" && g.Backup != nil {
			hook = g.Backup
		}
	}
	if hook == nil || hook.Webhook == nil {
		return done("migrations unchanged: no database backup needed"), nil
	}
	o, err := r.webhookStep(ctx, hook.Webhook, ExecSpec{Action: "backup", Index: 1, Total: 1}, "database backup hook")
	if err == nil && o.kind == outcomeFail {
		o.reason += "; nothing was deployed"
	}
	return o, err
}

// execute runs one strategy step through the environment's executor.
func (r *run) execute(ctx context.Context) (outcome, error) {
	spec, skip, err := r.rolloutSpec(ctx, parseSpec(r.st.Spec))
	if err != nil || skip != "" {
		return done(skip), err
	}
	o, err := r.executeSpec(ctx, spec)
	if err != nil {
		return o, err
	}
	return r.afterRolloutStep(spec, o), nil
}

// executeSpec makes one executor call.
func (r *run) executeSpec(ctx context.Context, spec ExecSpec) (outcome, error) {
	switch r.env.Executor.Kind() {
	case "external":
		return r.executeExternal(ctx)
	case "actions":
		return r.executeActions(ctx, spec)
	case "command":
		return r.executeCommand(ctx, spec)
	}
	// No status per step: the deployment is in_progress since its gates
	// passed, and statuses change at phase changes only (GitHub's write
	// budget); the record's step table shows the progress.
	return r.webhookStep(ctx, r.env.Executor.Webhook, spec, "executor")
}

// idempotencyKey names the step for its executor; a callback names the step
// it reports on by it (parseStepKey).
func (r *run) idempotencyKey() string {
	return stepKey{repo: r.d.Repo, id: r.d.ID, idx: r.st.Index}.String()
}

func (r *run) stepJSON(spec ExecSpec) StepPayload {
	p := StepPayload{
		Action: spec.Action, DeploymentID: r.d.GitHubDeploymentID, Repository: r.d.Repo,
		Environment: r.d.Environment, Ref: r.d.Ref, SHA: r.d.SHA, PreviousSHA: r.d.PreviousSHA,
		Strategy: r.d.Strategy, Step: spec,
	}
	if spec.Undo && spec.Action == "rollback" {
		// A batch goes back: sha is the version restored, previous_sha the failed one.
		p.SHA, p.PreviousSHA = r.d.PreviousSHA, r.d.SHA
	}
	return p
}
