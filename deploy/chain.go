package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// Chains: `/deploy staging,qa` deploys to staging with Context.Then =
// [qa]. When a deployment with Then succeeds, its finish step starts the
// next environment (same SHA, ref, requester and PR; Then minus the first),
// after checking the requester's permission there again from the API. A
// failure stops the chain; the record names what was not deployed.

// chain is called by finish once the deployment's end is reported. The
// next deployment is inserted in the transaction that records this one's
// end (so its gates, e.g. `requires`, see this one done) with a RequestKey
// derived from this deployment (so a retried finish never starts two). A
// refusal becomes a reply on the pull request.
func (r *run) chain(ctx context.Context) error {
	d := r.d
	if len(r.rc.Then) == 0 || d.Task != TaskDeploy || d.State != store.StateSuccess {
		return nil
	}
	req, refusal, err := r.svc.chainRequest(ctx, r.gh, d, r.rc)
	if err != nil {
		return fmt.Errorf("chain to %s: %w", r.rc.Then[0], err)
	}
	if refusal == "" {
		next, steps, err := r.svc.prepare(req)
		var pe permanentError
		switch {
		case errors.As(err, &pe):
			refusal = pe.Error()
		case err != nil:
			return fmt.Errorf("chain to %s: %w", r.rc.Then[0], err)
		default:
			r.inFinishTx(func(ctx context.Context, tx *store.Tx) error {
				if _, _, err := startTx(ctx, tx, next, steps); err != nil {
					return fmt.Errorf("chain to %s: %w", next.Environment, err)
				}
				return nil
			})
			return nil
		}
	}
	if d.PRNumber == 0 {
		return nil
	}
	msg := fmt.Sprintf("`%s` is live in **%s**, but I did not go on to `%s`: %s\n\nNot deployed: %s. When that is sorted, comment `/deploy %s %s`.",
		short(d.SHA), d.Environment, r.rc.Then[0], strings.TrimSuffix(refusal, "."), codeList(r.rc.Then),
		strings.Join(r.rc.Then, ","), d.SHA)
	return r.replyOnce(ctx, "chain", msg)
}

// chainRequest builds the request for the next environment of d's chain,
// or says why it may not run.
func (s *Service) chainRequest(ctx context.Context, gh *github.Client, d *store.Deployment, rc RunContext) (Request, string, error) {
	owner, repo := splitRepo(d.Repo)
	name := rc.Then[0]
	branch := rc.DefaultBranch
	if branch == "" {
		r, _, err := gh.Repositories.Get(ctx, owner, repo)
		if err != nil {
			return Request{}, "", fmt.Errorf("read repository: %w", err)
		}
		branch = r.GetDefaultBranch()
	}
	cfg, err := s.Config.Load(ctx, gh, owner, repo, branch)
	var cfgErr *config.Error
	switch {
	case errors.Is(err, ErrNoConfig) || errors.As(err, &cfgErr):
		return Request{}, fmt.Sprintf("`%s` on `%s` is missing or invalid now", config.Path, branch), nil
	case err != nil:
		return Request{}, "", err
	}
	env, ok := cfg.Environment(name)
	if !ok {
		return Request{}, "`" + name + "` is no longer in `" + config.Path + "`", nil
	}
	role, err := s.Permission(ctx, gh, owner, repo, d.RequestedBy)
	if err != nil {
		return Request{}, "", err
	}
	perm, _ := checks.Permission{}.Evaluate(ctx, checks.Input{Environment: env, Actor: d.RequestedBy, ActorRole: role})
	if perm.Verdict != checks.Pass {
		return Request{}, "you can't deploy to `" + env.Name + "`: " + perm.Reason, nil
	}
	if msg, err := s.lockRefusal(ctx, d.Repo, env.Name, d.RequestedBy); err != nil || msg != "" {
		return Request{}, msg, err
	}
	return Request{
		Owner: owner, Repo: repo, InstallationID: d.InstallationID, Environment: env,
		Ref: d.Ref, SHA: d.SHA, Task: TaskDeploy, Trigger: "chain", RequestedBy: d.RequestedBy, PRNumber: d.PRNumber,
		RequestKey: fmt.Sprintf("chain-of:%d", d.ID), Permission: perm,
		Context: RunContext{DefaultBranch: branch, Then: rc.Then[1:], Release: rc.Release},
	}, "", nil
}

// chainRow is the record's line about the rest of a chain ("" outside one).
func chainRow(d *store.Deployment) string {
	then := decodeContext(d.Context).Then
	if len(then) == 0 {
		return ""
	}
	switch d.State {
	case store.StateSuccess:
		return "| **Next** | " + codeList(then) + ", one after the other, each once the previous one succeeded |\n"
	case store.StateFailure, store.StateError:
		return "| **Not deployed** | " + codeList(then) + ": the chain stopped because this deployment did not succeed |\n"
	}
	return "| **Then** | " + codeList(then) + ", each once the previous one succeeded |\n"
}

func codeList(names []string) string { return "`" + strings.Join(names, "`, `") + "`" }

// parseEnvList splits `staging,qa` into environment names.
func parseEnvList(s string) ([]string, error) {
	parts := strings.Split(s, ",")
	if len(parts) > maxChain {
		return nil, fmt.Errorf("at most %d environments per command: %s", maxChain, grammarDeploy)
	}
	seen := map[string]bool{}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%s is not a list of environments (no spaces or empty names: `staging,production`): %s", codeSpan(s), grammarDeploy)
		}
		if err := checkEnvArg(p, grammarDeploy); err != nil {
			return nil, err
		}
		if seen[strings.ToLower(p)] {
			return nil, fmt.Errorf("%s is listed twice: %s", codeSpan(p), grammarDeploy)
		}
		seen[strings.ToLower(p)] = true
	}
	return parts, nil
}

func checkEnvArg(s, grammar string) error {
	if !envArgRE.MatchString(s) {
		return fmt.Errorf("%s is not an environment name: %s", codeSpan(s), grammar)
	}
	return nil
}
