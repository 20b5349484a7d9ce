package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
)

// TaskProtection is a gates-only run answering a custom deployment
// protection rule for an Actions deployment; deploybot deploys nothing.
const TaskProtection = "protection-rule"

// Repo identifies the repository and installation an event came from.
type Repo struct {
	Owner, Name, DefaultBranch string
	InstallationID             int64
}

// loadConfig reads the default branch's config. A missing file is (nil,
// nil): the repository does not use deploybot. An invalid one is returned
// as *config.Error.
func (s *Service) loadConfig(ctx context.Context, gh *github.Client, r Repo) (*config.Config, error) {
	cfg, err := s.Config.Load(ctx, gh, r.Owner, r.Name, r.DefaultBranch)
	if errors.Is(err, ErrNoConfig) {
		return nil, nil
	}
	return cfg, err
}

// permissionFor evaluates the permission gate for actor on env from the API.
func (s *Service) permissionFor(ctx context.Context, gh *github.Client, r Repo, env *config.Environment, actor string) (checks.Result, error) {
	role, err := s.Permission(ctx, gh, r.Owner, r.Name, actor)
	if err != nil {
		return checks.Result{}, err
	}
	return checks.Permission{}.Evaluate(ctx, checks.Input{Environment: env, Actor: actor, ActorRole: role})
}

// PublishedRelease is a release that was just published.
type PublishedRelease struct {
	Repo
	Release checks.Release
	Sender  string
}

// OnReleasePublished deploys the release's tag to every environment with
// on_release (prereleases only where on_prerelease), through the same
// pipeline; the release gate applies and each record is appended to the
// release notes. Someone without the environment's permission gets a
// deployment that the permission gate blocks, visibly.
func (s *Service) OnReleasePublished(ctx context.Context, gh *github.Client, p PublishedRelease) error {
	if p.Release.Draft {
		return nil
	}
	cfg, err := s.loadConfig(ctx, gh, p.Repo)
	var cfgErr *config.Error
	switch {
	case errors.As(err, &cfgErr):
		return nil // reported on the default branch by deploy/config; nothing to deploy from
	case err != nil || cfg == nil:
		return err
	}
	sha, err := s.tagCommit(ctx, gh, p.Repo, p.Release.Tag)
	if err != nil {
		return err
	}
	for _, env := range cfg.ReleaseEnvironments() {
		if p.Release.Prerelease && !env.OnPrerelease {
			continue
		}
		perm, err := s.permissionFor(ctx, gh, p.Repo, env, p.Sender)
		if err != nil {
			return err
		}
		rel := p.Release
		_, _, err = s.Start(ctx, Request{
			Owner: p.Owner, Repo: p.Name, InstallationID: p.InstallationID, Environment: env,
			Ref: p.Release.Tag, SHA: sha, Task: TaskDeploy, Trigger: "release", RequestedBy: p.Sender,
			RequestKey: fmt.Sprintf("release:%d:%s", p.Release.ID, env.Name), Permission: perm,
			Context: RunContext{DefaultBranch: p.DefaultBranch, Release: &rel},
		})
		if err != nil {
			return fmt.Errorf("deploy release %s to %s: %w", p.Release.Tag, env.Name, err)
		}
	}
	return nil
}

// tagCommit resolves a tag to its commit (peeling an annotated tag).
func (s *Service) tagCommit(ctx context.Context, gh *github.Client, r Repo, tag string) (string, error) {
	ref, _, err := gh.Git.GetRef(ctx, r.Owner, r.Name, "tags/"+tag)
	if err != nil {
		return "", fmt.Errorf("resolve tag %s: %w", tag, err)
	}
	obj := ref.GetObject()
	if obj.GetType() == "tag" {
		t, _, err := gh.Git.GetTag(ctx, r.Owner, r.Name, obj.GetSHA())
		if err != nil {
			return "", fmt.Errorf("peel tag %s: %w", tag, err)
		}
		return t.GetObject().GetSHA(), nil
	}
	return obj.GetSHA(), nil
}

// releaseOfTag returns the published release of ref when ref is a tag of
// sha with one (so a redeploy of a release updates its archive), else nil.
func releaseOfTag(ctx context.Context, gh *github.Client, owner, repo, ref, sha string) (*checks.Release, error) {
	if len(ref) == 40 && strings.HasPrefix(sha, ref) {
		return nil, nil // a SHA, not a tag
	}
	rel, _, err := gh.Repositories.GetReleaseByTag(ctx, owner, repo, ref)
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == 404 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up the release of %s: %w", ref, err)
	}
	r := ReleaseFrom(rel)
	return &r, nil
}

// ReleaseFrom is the gates' view of a GitHub release.
func ReleaseFrom(rel *github.RepositoryRelease) checks.Release {
	return checks.Release{ID: rel.GetID(), Tag: rel.GetTagName(), Name: rel.GetName(), Body: rel.GetBody(),
		TargetCommitish: rel.GetTargetCommitish(), Draft: rel.GetDraft(), Prerelease: rel.GetPrerelease(), HTMLURL: rel.GetHTMLURL()}
}

// ForeignDeployment is a GitHub Deployment created by someone else.
type ForeignDeployment struct {
	Repo
	ID          int64
	SHA, Ref    string
	Environment string
	Task        string
	Creator     string
	// FromWorkflow is set when a GitHub Actions job created it: Actions
	// runs those, and deploybot only gates them as a protection rule.
	FromWorkflow bool
}

// OnForeignDeployment adopts a deployment someone else created for a
// configured environment: deploybot runs the pipeline on it and reports
// statuses there, creating no second deployment.
func (s *Service) OnForeignDeployment(ctx context.Context, gh *github.Client, f ForeignDeployment) error {
	if f.FromWorkflow {
		return nil
	}
	cfg, err := s.loadConfig(ctx, gh, f.Repo)
	var cfgErr *config.Error
	if errors.As(err, &cfgErr) {
		_, _, serr := gh.Repositories.CreateDeploymentStatus(ctx, f.Owner, f.Name, f.ID, &github.DeploymentStatusRequest{
			State: github.String("error"), Description: github.String(truncate(config.Path+" on "+f.DefaultBranch+" is invalid; deploybot cannot run this deployment", 140))})
		return serr
	}
	if err != nil || cfg == nil {
		return err
	}
	env, ok := cfg.Environment(f.Environment)
	if !ok {
		return nil // not an environment deploybot runs
	}
	if !cfg.AllowForks { // the same rule as /deploy <ref>
		msg, err := forkRefusal(ctx, gh, f.Owner, f.Name, f.DefaultBranch, f.Ref, f.SHA)
		if err != nil {
			return err
		}
		if msg != "" {
			_, _, serr := gh.Repositories.CreateDeploymentStatus(ctx, f.Owner, f.Name, f.ID, &github.DeploymentStatusRequest{
				State: github.String("error"), Description: github.String(truncate("deploybot: "+msg, 140))})
			return serr
		}
	}
	perm, err := s.permissionFor(ctx, gh, f.Repo, env, f.Creator)
	if err != nil {
		return err
	}
	req := Request{
		Owner: f.Owner, Repo: f.Name, InstallationID: f.InstallationID, Environment: env,
		Ref: f.Ref, SHA: f.SHA, Task: TaskDeploy,
	}
	if f.Task == TaskRollback {
		// The task is the creator's word; it skips gates only when the
		// deployment is a rollback by /rollback's rules.
		rb, err := s.foreignRollback(ctx, f.Owner+"/"+f.Name, env, f.Ref, f.SHA)
		if err != nil {
			return err
		}
		if rb != nil {
			req = *rb
		}
	}
	req.Owner, req.Repo, req.InstallationID = f.Owner, f.Name, f.InstallationID
	req.Trigger, req.RequestedBy, req.RequestKey, req.Permission = "deployment", f.Creator, fmt.Sprintf("adopt:%d", f.ID), perm
	req.GitHubDeploymentID = f.ID
	req.Context.DefaultBranch, req.Context.Adopted = f.DefaultBranch, true
	_, _, err = s.Start(ctx, req)
	var pe permanentError
	if errors.As(err, &pe) {
		_, _, serr := gh.Repositories.CreateDeploymentStatus(ctx, f.Owner, f.Name, f.ID, &github.DeploymentStatusRequest{
			State: github.String("error"), Description: github.String(truncate("deploybot: "+pe.Error(), 140))})
		return serr
	}
	return err
}
