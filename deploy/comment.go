package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/pacer"
)

// Comment is a new issue or pull request comment, as the handler verified it.
type Comment struct {
	Owner, Repo, DefaultBranch string
	InstallationID             int64
	Number                     int
	IsPullRequest              bool
	CommentID                  int64
	Author                     string
	Body                       string
}

// OnComment runs a command (DESIGN.md §4). Anything it cannot run gets one
// short reply and nothing else; only GitHub and store failures are returned
// (and retried). The author's role is read first: users below triage get no
// 👀, and every reply is spent from the author's budget on this pull request
// (replylimit.go), so commenting cannot make deploybot write at will.
//
// A /deploy reads its config and pull request together with the role, and
// its 👀 goes out while the deployment is requested: its GitHub requests
// cost two round trips, not four (issue 9's critical path). A reply still
// waits for the 👀, and a failed 👀 is returned before any reply, as when
// it came first: the retried command finds its deployment by RequestKey.
func (s *Service) OnComment(ctx context.Context, gh *github.Client, c Comment) error {
	cmd, err := ParseCommand(c.Body)
	if errors.Is(err, ErrNotACommand) {
		return nil
	}
	var reads *deployReads
	if err == nil && cmd.Name == CmdDeploy {
		reads = s.startDeployReads(ctx, gh, c)
	}
	role, rerr := s.Permission(ctx, gh, c.Owner, c.Repo, c.Author)
	if rerr != nil {
		reads.wait()
		return rerr
	}
	ctx = withKnownRole(ctx, c.Owner, c.Repo, c.Author, role)
	react := func() error {
		if !trusted(role) {
			return nil
		}
		_, _, rerr := gh.Reactions.CreateIssueCommentReaction(ctx, c.Owner, c.Repo, c.CommentID, "eyes")
		if errors.Is(rerr, pacer.ErrDropped) {
			return nil // not sent under write pressure: the deployment answers for itself
		}
		if rerr != nil {
			return fmt.Errorf("react to comment %d: %w", c.CommentID, rerr)
		}
		return nil
	}
	if reads == nil {
		if rerr := react(); rerr != nil {
			return rerr
		}
		if err != nil {
			return s.reply(ctx, gh, c, role, err.Error())
		}
		return s.runCommand(ctx, gh, c, role, cmd)
	}
	var eyes sync.WaitGroup
	var eyesErr error
	eyes.Go(func() { eyesErr = react() })
	msg, err := s.deployCommand(ctx, gh, c, cmd, reads)
	eyes.Wait()
	switch {
	case eyesErr != nil:
		return eyesErr
	case err != nil:
		return fmt.Errorf("/%s on #%d: %w", cmd.Name, c.Number, err)
	case msg != "":
		return s.reply(ctx, gh, c, role, msg)
	}
	return nil
}

// runCommand runs a command other than /deploy and replies.
func (s *Service) runCommand(ctx context.Context, gh *github.Client, c Comment, role config.Permission, cmd Command) error {
	var msg string
	var err error
	switch cmd.Name {
	case CmdHelp, CmdEnvironments:
		ok, least, derr := s.deploysSomewhere(ctx, gh, c, role)
		switch {
		case derr != nil:
			err = derr
		case !ok:
			msg = noDeployRights(c, cmd, role, least)
		case cmd.Name == CmdHelp:
			msg, err = s.help(ctx, gh, c)
		default:
			msg, err = s.environments(ctx, gh, c)
		}
	case CmdLock:
		msg, err = s.lockCommand(ctx, gh, c, cmd)
	case CmdUnlock:
		msg, err = s.unlockCommand(ctx, gh, c, cmd)
	case CmdRollback:
		msg, err = s.rollbackCommand(ctx, gh, c, cmd)
	case CmdPromote, CmdAbort:
		msg, err = s.interventionCommand(ctx, gh, c, cmd)
	default:
		msg, err = s.deployCommand(ctx, gh, c, cmd, nil)
	}
	var refused *Refusal
	if errors.As(err, &refused) {
		msg, err = refused.Reason, nil
	}
	if err != nil {
		return fmt.Errorf("/%s on #%d: %w", cmd.Name, c.Number, err)
	}
	if msg != "" {
		return s.reply(ctx, gh, c, role, msg)
	}
	return nil
}

// Refusal is a command the user may not run (the permission it needs, or
// a lock held by someone else): on a comment its text is the reply, on
// the pages it answers 403 with that text.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return r.Reason }

// deployCommand runs a /deploy; reads are its config and pull request,
// already started (nil: read them now).
func (s *Service) deployCommand(ctx context.Context, gh *github.Client, c Comment, cmd Command, reads *deployReads) (string, error) {
	if reads == nil {
		reads = s.startDeployReads(ctx, gh, c)
	}
	req, msg, err := s.requestFromComment(ctx, gh, c, cmd, reads)
	if err != nil || msg != "" {
		return msg, err
	}
	return s.start(ctx, req, "")
}

// start starts a request; a request the pipeline cannot run becomes a
// message (after prefix).
func (s *Service) start(ctx context.Context, req Request, prefix string) (string, error) {
	_, _, err := s.Start(ctx, req)
	var pe permanentError
	if errors.As(err, &pe) {
		return prefix + pe.Error(), nil
	}
	return "", err
}

// commentConfig loads the default branch's config for a command; a missing
// or invalid file becomes a message saying so (doing: "deploy", …).
func (s *Service) commentConfig(ctx context.Context, gh *github.Client, c Comment, doing string) (*config.Config, string, error) {
	cfg, err := s.Config.Load(ctx, gh, c.Owner, c.Repo, c.DefaultBranch)
	var cfgErr *config.Error
	switch {
	case errors.Is(err, ErrNoConfig):
		return nil, fmt.Sprintf("there is no `%s` on `%s`, so I don't know any environments. Add one (see the README) and try again.", config.Path, c.DefaultBranch), nil
	case errors.As(err, &cfgErr):
		return nil, fmt.Sprintf("`%s` on `%s` is invalid, so I can't %s. Fix these and try again:\n\n%s", config.Path, c.DefaultBranch, doing, bulletProblems(cfgErr)), nil
	case err != nil:
		return nil, "", err
	}
	return cfg, "", nil
}

// mayDeploy reads user's role from the API and evaluates the permission
// gate for env; it also returns the role (admins may --force and unlock).
func (s *Service) mayDeploy(ctx context.Context, gh *github.Client, c Comment, env *config.Environment) (checks.Result, config.Permission, error) {
	role, err := s.Permission(ctx, gh, c.Owner, c.Repo, c.Author)
	if err != nil {
		return checks.Result{}, "", err
	}
	perm, err := checks.Permission{}.Evaluate(ctx, checks.Input{Environment: env, Actor: c.Author, ActorRole: role})
	return perm, role, err
}

// requestFromComment checks a /deploy against the default branch's config,
// the API's view of the author and the PR, and manual locks. It returns
// either a request or a message for the author.
func (s *Service) requestFromComment(ctx context.Context, gh *github.Client, c Comment, cmd Command, reads *deployReads) (Request, string, error) {
	cfg, msg, err := reads.config()
	if cfg == nil {
		return Request{}, msg, err
	}
	env, msg := resolveEnv(cfg, cmd.Env)
	if env == nil {
		return Request{}, msg, nil
	}
	envs := []*config.Environment{env}
	for _, name := range cmd.Then {
		next, msg := resolveEnv(cfg, name)
		if next == nil {
			return Request{}, msg, nil
		}
		for _, e := range envs {
			if e == next {
				return Request{}, fmt.Sprintf("`%s` is listed twice (aliases name the same environment): `/deploy %s`.", next.Name, chainArg(envs)), nil
			}
		}
		envs = append(envs, next)
	}
	role, err := s.Permission(ctx, gh, c.Owner, c.Repo, c.Author)
	if err != nil {
		return Request{}, "", err
	}
	var perm checks.Result
	for i, e := range envs { // every environment of a chain, before starting the first
		p, _ := checks.Permission{}.Evaluate(ctx, checks.Input{Environment: e, Actor: c.Author, ActorRole: role})
		if p.Verdict != checks.Pass {
			return Request{}, "you can't deploy to `" + e.Name + "`: " + p.Reason + ". Ask someone with that access to run the command, or a repository admin to raise your role.", nil
		}
		if i == 0 {
			perm = p
		}
	}
	if !cmd.DryRun { // a dry run deploys nothing; its lock gate reports the lock
		if msg, err := s.lockRefusal(ctx, c.Owner+"/"+c.Repo, env.Name, c.Author); err != nil || msg != "" {
			return Request{}, msg, err
		}
	}
	req := Request{
		Owner: c.Owner, Repo: c.Repo, InstallationID: c.InstallationID, Environment: env,
		Task: TaskDeploy, Trigger: "comment", RequestedBy: c.Author, RequestKey: fmt.Sprintf("comment:%d", c.CommentID),
		Strategy: cmd.Strategy, DryRun: cmd.DryRun, Permission: perm,
		PRNumber: c.Number, // the record goes where the command was written
		Context:  RunContext{DefaultBranch: c.DefaultBranch, Then: envNames(envs[1:])},
	}
	if c.IsPullRequest {
		pr, err := reads.pull()
		if err != nil {
			return Request{}, "", err
		}
		if pr.GetState() != "open" && cmd.Ref == "" {
			return Request{}, "this pull request is closed; name a ref to deploy: `/deploy " + chainArg(envs) + " <ref>`.", nil
		}
		head := pr.GetHead()
		if head.GetRepo().GetFullName() != c.Owner+"/"+c.Repo && !cfg.AllowForks {
			return Request{}, "this pull request comes from a fork (`" + head.GetRepo().GetFullName() + "`); deploying fork code is off (`allow_forks: false`). Push the branch to this repository and open the PR from there.", nil
		}
		// Pin the head now: later pushes do not change what this command deploys.
		req.Ref, req.SHA = head.GetRef(), head.GetSHA()
	}
	if cmd.Ref != "" || !c.IsPullRequest {
		ref := cmd.Ref
		if ref == "" {
			ref = c.DefaultBranch
		}
		if msg := pullRefRefusal(ref); msg != "" {
			return Request{}, msg, nil
		}
		sha, msg, err := resolveCommit(ctx, gh, c, ref)
		if err != nil || msg != "" {
			return Request{}, msg, err
		}
		if !cfg.AllowForks { // a SHA resolves across the fork network: it must be on a branch here
			if msg, err := forkRefusal(ctx, gh, c.Owner, c.Repo, c.DefaultBranch, ref, sha); err != nil || msg != "" {
				return Request{}, msg, err
			}
		}
		req.Ref, req.SHA = ref, sha
		if cmd.Ref != "" {
			if req.Context.Release, err = releaseOfTag(ctx, gh, c.Owner, c.Repo, cmd.Ref, sha); err != nil {
				return Request{}, "", err
			}
		}
	}
	return req, "", nil
}

// resolveCommit resolves a branch, tag or SHA to a full SHA; an unknown ref
// becomes a message.
func resolveCommit(ctx context.Context, gh *github.Client, c Comment, ref string) (string, string, error) {
	commit, _, err := gh.Repositories.GetCommit(ctx, c.Owner, c.Repo, ref, nil)
	if err != nil {
		var ge *github.ErrorResponse
		if errors.As(err, &ge) && ge.Response != nil && (ge.Response.StatusCode == 404 || ge.Response.StatusCode == 422) {
			return "", "I can't find `" + ref + "` in this repository: push it first, or name a branch, tag or full SHA that exists here.", nil
		}
		return "", "", fmt.Errorf("resolve %s: %w", ref, err)
	}
	return commit.GetSHA(), "", nil
}

// Permission reads a user's role on the repository from the API. GitHub's
// `permission` field folds maintain into write and triage into read, so the
// precise `role_name` is preferred.
func (s *Service) Permission(ctx context.Context, gh *github.Client, owner, repo, user string) (config.Permission, error) {
	if role, ok := roleFromContext(ctx, owner, repo, user); ok {
		return role, nil // OnComment read it for this command
	}
	// go-github v62's RepositoryPermissionLevel has no role_name, so decode
	// the documented response ourselves.
	req, err := gh.NewRequest("GET", fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", owner, repo, url.PathEscape(user)), nil)
	if err != nil {
		return "", err
	}
	var p struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	if _, err := gh.Do(ctx, req, &p); err != nil {
		var ge *github.ErrorResponse
		if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == 404 {
			return config.PermissionNone, nil
		}
		return "", fmt.Errorf("read %s's permission on %s/%s: %w", user, owner, repo, err)
	}
	for _, v := range []string{p.RoleName, p.Permission} {
		if perm, err := config.ParsePermission(v); err == nil {
			return perm, nil
		}
	}
	return config.PermissionNone, nil
}

// reply answers a command when the author's reply budget on this pull
// request allows; over it, the answer is dropped (the command has run).
func (s *Service) reply(ctx context.Context, gh *github.Client, c Comment, role config.Permission, msg string) error {
	ok, err := s.Store.TakeReply(ctx, c.Owner+"/"+c.Repo, c.Number, c.Author, replyBudget(role), s.now())
	if err != nil || !ok {
		return err
	}
	return s.postReply(ctx, gh, c.Owner, c.Repo, c.Number, c.Author, msg)
}

func (s *Service) postReply(ctx context.Context, gh *github.Client, owner, repo string, number int, user, msg string) error {
	body := "@" + user + " " + msg
	if _, _, err := gh.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: github.String(body)}); err != nil {
		return fmt.Errorf("reply on #%d: %w", number, err)
	}
	return nil
}
