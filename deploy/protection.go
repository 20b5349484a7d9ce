package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
)

// ProtectionRequest is a deployment_protection_rule "requested" event: an
// Actions job wants to deploy to a GitHub environment that has deploybot as
// a custom protection rule.
type ProtectionRequest struct {
	Repo
	Environment  string
	CallbackURL  string
	DeploymentID int64 // the Actions deployment (Actions reports its statuses)
	SHA, Ref     string
	Sender       string
}

var runIDInCallback = regexp.MustCompile(`/actions/runs/([0-9]+)/deployment_protection_rule$`)

// OnProtectionRule runs the environment's gates for the deployment's SHA
// (check runs as usual; the waiting workflow run's own jobs are not waited
// for) and answers approved or rejected through the callback; gates that
// wait keep the answer pending. An environment missing from the config is
// rejected: someone made deploybot its guard.
func (s *Service) OnProtectionRule(ctx context.Context, gh *github.Client, p ProtectionRequest) error {
	m := runIDInCallback.FindStringSubmatch(p.CallbackURL)
	if m == nil {
		return fmt.Errorf("deployment_protection_rule callback %q names no workflow run", p.CallbackURL)
	}
	runID, _ := strconv.ParseInt(m[1], 10, 64)
	pr := &ProtectionRun{RunID: runID, CallbackURL: p.CallbackURL}
	cfg, err := s.loadConfig(ctx, gh, p.Repo)
	var cfgErr *config.Error
	switch {
	case errors.As(err, &cfgErr):
		return s.answerProtection(ctx, gh, p.Owner, p.Name, pr, p.Environment, false, config.Path+" on "+p.DefaultBranch+" is invalid: "+oneLine(cfgErr.Error()))
	case err != nil:
		return err
	case cfg == nil:
		return s.answerProtection(ctx, gh, p.Owner, p.Name, pr, p.Environment, false, "there is no "+config.Path+" on "+p.DefaultBranch+", so deploybot has no gates for "+p.Environment)
	}
	env, ok := cfg.Environment(p.Environment)
	if !ok {
		return s.answerProtection(ctx, gh, p.Owner, p.Name, pr, p.Environment, false,
			"environment "+p.Environment+" is not in "+config.Path+"; add it (with its gates) or remove deploybot from its protection rules")
	}
	run, _, err := gh.Actions.GetWorkflowRunByID(ctx, p.Owner, p.Name, runID)
	if err != nil {
		return fmt.Errorf("read workflow run %d: %w", runID, err)
	}
	pr.CheckSuiteID = run.GetCheckSuiteID()
	perm, err := s.permissionFor(ctx, gh, p.Repo, env, p.Sender)
	if err != nil {
		return err
	}
	_, _, err = s.Start(ctx, Request{
		Owner: p.Owner, Repo: p.Name, InstallationID: p.InstallationID, Environment: env,
		Ref: p.Ref, SHA: p.SHA, Task: TaskProtection, Trigger: "protection-rule", RequestedBy: p.Sender,
		RequestKey: fmt.Sprintf("protection:%d:%s:%d", runID, env.Name, p.DeploymentID), Permission: perm,
		Context: RunContext{DefaultBranch: p.DefaultBranch, ProtectionRun: pr},
	})
	return err
}

// maxProtectionComment is GitHub's limit for the callback's comment.
const maxProtectionComment = 1024

// answerProtection approves or rejects the waiting workflow run. go-github
// v62 has no method for this endpoint, so the request is built by hand.
func (s *Service) answerProtection(ctx context.Context, gh *github.Client, owner, repo string, pr *ProtectionRun, env string, approve bool, comment string) error {
	state := "rejected"
	if approve {
		state = "approved"
	}
	u := fmt.Sprintf("repos/%s/%s/actions/runs/%d/deployment_protection_rule", url.PathEscape(owner), url.PathEscape(repo), pr.RunID)
	req, err := gh.NewRequest("POST", u, map[string]string{
		"environment_name": env, "state": state, "comment": truncate(comment, maxProtectionComment),
	})
	if err != nil {
		return err
	}
	if _, err := gh.Do(ctx, req, nil); err != nil {
		return fmt.Errorf("answer protection rule of run %d (%s): %w", pr.RunID, state, err)
	}
	return nil
}

// protectionComment summarises the gates in one short paragraph.
func protectionComment(results []checks.Result, link string) string {
	var parts []string
	for _, g := range results {
		parts = append(parts, fmt.Sprintf("%s %s: %s", g.Verdict.Icon(), g.Gate, g.Reason))
	}
	s := "deploybot overall_status=" + string(checks.Overall(results)) + ". " + strings.Join(parts, "; ")
	if link != "" {
		s = truncate(s, maxProtectionComment-len(link)-3) + " — " + link
	}
	return s
}
