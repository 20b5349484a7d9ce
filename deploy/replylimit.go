package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// No amplification (DESIGN.md §4): whoever can comment must not be able to
// make deploybot write at will. Users below triage get no reaction and at
// most one reply per pull request an hour; everyone's replies are limited
// per user and pull request. The budgets live in the store, shared by
// replicas.
var (
	untrustedReplies = store.ReplyBudget{Kind: "untrusted", Max: 1, Window: time.Hour}
	commandReplies   = store.ReplyBudget{Kind: "reply", Max: 5, Window: 10 * time.Minute}
)

// trusted reports whether a role sees deploybot's 👀 and the full reply
// budget: triage and above.
func trusted(role config.Permission) bool { return role.AtLeast(config.PermissionTriage) }

func replyBudget(role config.Permission) store.ReplyBudget {
	if trusted(role) {
		return commandReplies
	}
	return untrustedReplies
}

// deploysSomewhere reports whether role may deploy to at least one
// environment, and otherwise the least permission any environment needs.
// Without a valid config the default (write) stands, so admins still learn
// what is wrong with the file.
func (s *Service) deploysSomewhere(ctx context.Context, gh *github.Client, c Comment, role config.Permission) (bool, config.Permission, error) {
	least := config.PermissionWrite
	cfg, msg, err := s.commentConfig(ctx, gh, c, "list environments")
	if err != nil {
		return false, "", err
	}
	if cfg == nil || msg != "" || len(cfg.Environments) == 0 {
		return role.AtLeast(least), least, nil
	}
	least = config.PermissionAdmin
	for _, env := range cfg.Environments {
		need := env.Permission
		if need == "" {
			need = config.PermissionWrite
		}
		if role.AtLeast(need) {
			return true, need, nil
		}
		if need.Rank() < least.Rank() {
			least = need
		}
	}
	return false, least, nil
}

// noDeployRights is the answer to /environments and help from a user who
// can deploy nowhere.
func noDeployRights(c Comment, cmd Command, role config.Permission, least config.Permission) string {
	what := "`/environments`"
	if cmd.Name == CmdHelp {
		what = "`/deploy help`"
	}
	if role == "" {
		role = config.PermissionNone
	}
	return fmt.Sprintf("you have `%s` on %s/%s; I answer %s only for users who can deploy here, which needs at least `%s`. Ask a repository admin to raise your role.",
		role, c.Owner, c.Repo, what, least)
}

// knownRole carries the role OnComment already read, so the commands it
// runs do not read it again.
type knownRoleKey struct{ owner, repo, user string }

type knownRoleCtx struct{}

type knownRole struct {
	key  knownRoleKey
	role config.Permission
}

func withKnownRole(ctx context.Context, owner, repo, user string, role config.Permission) context.Context {
	return context.WithValue(ctx, knownRoleCtx{}, knownRole{key: roleKey(owner, repo, user), role: role})
}

func roleFromContext(ctx context.Context, owner, repo, user string) (config.Permission, bool) {
	k, ok := ctx.Value(knownRoleCtx{}).(knownRole)
	if !ok || k.key != roleKey(owner, repo, user) {
		return "", false
	}
	return k.role, true
}

func roleKey(owner, repo, user string) knownRoleKey {
	return knownRoleKey{strings.ToLower(owner), strings.ToLower(repo), strings.ToLower(user)}
}
