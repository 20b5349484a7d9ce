// Package config parses and validates a repository's .github/deploy.yml
// (DESIGN.md §9) into typed structs with every default applied.
//
// Parse walks the yaml.v3 node tree itself, so every problem carries the
// line and column of the offending node, unknown keys are errors, and all
// problems are collected (sorted by line) instead of stopping at the first.
// The accepted keys of every mapping are listed once in the shapes table
// (keys.go); schema.json uses the same names for its $defs and a test
// keeps the two in sync.
//
// Notable grammar decisions (also described in schema.json):
//   - Durations are Go duration strings with an optional leading day count:
//     "30s", "1h30m", "7d", "1d12h". Bare numbers are rejected (ambiguous) and
//     so are negative values.
//   - release.tag_pattern is a Go (RE2) regular expression that must match
//     the whole tag: "v[0-9]+\.[0-9]+\.[0-9]+" matches "v1.2.3" but not "v1.2.3-rc1".
//   - window.allow entries are "[days] [HH:MM-HH:MM]" (see ParseWindowRule),
//     window.deny entries are inclusive dates "2026-12-24" or ranges
//     "2026-12-20..2027-01-03", all in window.timezone (default UTC).
//   - artifacts asset names are exact names or path.Match globs ("app-*.tgz");
//     max_size accepts B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB,
//     TiB (powers of 1024).
//   - A gate that is not listed under `gates:` is nil (not configured). The
//     permission and lock gates always run and are not configured here.
//
// Problems name the key path, line, column and expected shape, never a
// value from the file (a value may be a secret); the keys they name are
// bounded and cleaned. The work per file is bounded (limits.go): at most
// MaxFileSize bytes, and anchors, aliases and merge keys may add at most
// maxAliasNodes nodes to the walk. A file written as a go-githubapp remote
// reference is refused (remote.go): config comes from the repository itself.
package config

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"time"
)

// Path is where deploybot reads the configuration, on the default branch only.
const Path = ".github/deploy.yml"

// Config is a parsed and validated .github/deploy.yml.
type Config struct {
	// DefaultEnvironment is the canonical name of the environment used when a
	// command names none. When unset in the file it is the only environment if
	// there is exactly one, otherwise empty (commands must name one).
	DefaultEnvironment string
	// AllowForks lets fork pull request heads be deployed (default false).
	AllowForks bool
	// Environments by canonical name.
	Environments map[string]*Environment
	// Notify is the default notification target of every environment.
	Notify *Notify
}

// Environment looks an environment up by name or alias, case-insensitively.
func (c *Config) Environment(nameOrAlias string) (*Environment, bool) {
	if c == nil || nameOrAlias == "" {
		return nil, false
	}
	if env, ok := c.Environments[nameOrAlias]; ok {
		return env, true
	}
	for _, name := range c.EnvironmentNames() {
		env := c.Environments[name]
		if strings.EqualFold(name, nameOrAlias) {
			return env, true
		}
		for _, a := range env.Aliases {
			if strings.EqualFold(a, nameOrAlias) {
				return env, true
			}
		}
	}
	return nil, false
}

// EnvironmentNames returns the canonical environment names, sorted.
func (c *Config) EnvironmentNames() []string {
	if c == nil {
		return nil
	}
	names := make([]string, 0, len(c.Environments))
	for name := range c.Environments {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Default returns the default environment, if there is one.
func (c *Config) Default() (*Environment, bool) {
	if c == nil || c.DefaultEnvironment == "" {
		return nil, false
	}
	return c.Environment(c.DefaultEnvironment)
}

// ReleaseEnvironments returns the environments with on_release: true, sorted by name.
func (c *Config) ReleaseEnvironments() []*Environment {
	var out []*Environment
	for _, name := range c.EnvironmentNames() {
		if env := c.Environments[name]; env.OnRelease {
			out = append(out, env)
		}
	}
	return out
}

// Environment is one deploy target.
type Environment struct {
	Name       string   // canonical name (the key under environments)
	URL        string   // environment_url reported on success; may be empty
	Aliases    []string // other names commands may use (`prod`)
	Production bool     // production_environment on the GitHub Deployment
	// Permission is the minimum collaborator permission needed to deploy:
	// default write, maintain when Production.
	Permission Permission
	OnRelease  bool // published releases deploy here
	// OnPrerelease also deploys published prereleases (with OnRelease).
	OnPrerelease bool
	Requires     []string // canonical names that must have this SHA deployed first
	Executor     Executor
	Strategy     Strategy
	Gates        Gates
	Verify       Verify
	Monitor      Monitor
	// Notify sends deployment events to a chat webhook (the top-level
	// notify when the environment sets none).
	Notify   *Notify
	Rollback Rollback
}

// Matches reports whether s names this environment (name or alias, case-insensitive).
func (e *Environment) Matches(s string) bool {
	if strings.EqualFold(e.Name, s) {
		return true
	}
	return slices.ContainsFunc(e.Aliases, func(a string) bool { return strings.EqualFold(a, s) })
}

// Permission is a GitHub repository permission level.
type Permission string

// Permission levels, lowest to highest.
const (
	PermissionNone     Permission = "none"
	PermissionRead     Permission = "read"
	PermissionTriage   Permission = "triage"
	PermissionWrite    Permission = "write"
	PermissionMaintain Permission = "maintain"
	PermissionAdmin    Permission = "admin"
)

var permissionRanks = map[Permission]int{
	PermissionNone: 0, PermissionRead: 1, PermissionTriage: 2,
	PermissionWrite: 3, PermissionMaintain: 4, PermissionAdmin: 5,
}

// Rank orders permissions: admin(5) > maintain > write > triage > read > none(0).
// Unknown values rank 0.
func (p Permission) Rank() int { return permissionRanks[p] }

// AtLeast reports whether p is at least min.
func (p Permission) AtLeast(min Permission) bool { return p.Rank() >= min.Rank() }

// ParsePermission parses a permission name case-insensitively. It accepts
// GitHub's names read, triage, write, maintain, admin and none, plus the
// legacy API names pull (read) and push (write).
func ParsePermission(s string) (Permission, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "pull":
		v = "read"
	case "push":
		v = "write"
	}
	p := Permission(v)
	if _, ok := permissionRanks[p]; !ok {
		return "", errors.New("unknown permission: expected read, triage, write, maintain or admin")
	}
	return p, nil
}

// Executor says how a strategy step runs; exactly one field is set.
type Executor struct {
	Webhook  *WebhookExecutor
	Actions  *ActionsExecutor
	Command  *CommandExecutor
	External *ExternalExecutor
}

// Kind returns "webhook", "actions", "command", "external" or "" when none is set.
func (e Executor) Kind() string {
	switch {
	case e.Webhook != nil:
		return "webhook"
	case e.Actions != nil:
		return "actions"
	case e.Command != nil:
		return "command"
	case e.External != nil:
		return "external"
	}
	return ""
}

// MaxExecutorTimeout bounds how long a webhook executor may take to report
// a step's result. A long step answers 202 and reports by callback (a
// durable wait), so no request or job is held open for it.
const MaxExecutorTimeout = 24 * time.Hour

// WebhookExecutor POSTs the step JSON to URL.
type WebhookExecutor struct {
	URL     string
	Timeout Duration // default 10m, at most MaxExecutorTimeout
}

// ActionsExecutor dispatches a workflow_dispatch run.
type ActionsExecutor struct {
	Workflow string            // workflow file name ("deploy.yml") or numeric ID
	Ref      string            // empty: the repository's default branch
	Inputs   map[string]string // extra inputs; deploybot adds deployment_id, sha, environment, step
	Timeout  Duration          // how long a dispatched run may take; default 30m
}

// CommandExecutor runs Argv (never a shell string) on the deploybot host.
type CommandExecutor struct {
	Argv    []string
	Timeout Duration // default 10m
}

// ExternalExecutor means another system deploys and reports deployment statuses.
type ExternalExecutor struct {
	// Timeout is how long deploybot waits for the other system's final
	// deployment status; default 1h.
	Timeout Duration
}

// Strategy names.
const (
	StrategyDirect    = "direct"
	StrategyBlueGreen = "blue-green"
	StrategyCanary    = "canary"
	StrategyRolling   = "rolling"
)

// Strategy is how a deployment is split into executor steps.
type Strategy struct {
	Name      string // direct|blue-green|canary|rolling; default direct
	BlueGreen *BlueGreen
	Canary    *Canary
	Rolling   *Rolling
}

// BlueGreen deploys to the idle slot, verifies PreviewURL, then switches.
type BlueGreen struct {
	PreviewURL   string
	KeepPrevious Duration // how long the old slot is kept; default: the rollback window
	// AutoPromote switches as soon as the preview verified (default);
	// false waits for Promote.
	AutoPromote bool
}

// Canary shifts traffic through increasing weights; the last is 100.
type Canary struct{ Steps []CanaryStep }

// CanaryStep is one traffic weight (1..100) and the pause before analysis.
type CanaryStep struct {
	Weight int
	Pause  Duration
	Manual bool // `pause: manual`: wait for Promote
}

// Rolling updates in batches: either Batches, or Instances split by BatchSize.
type Rolling struct {
	Batches   int
	Instances int
	BatchSize int
	// MaxFailures is how many batches may fail before the rollout stops
	// and rolls back (default 0: the first failure).
	MaxFailures int
}

// BatchRange returns the first and last instance (1-based) of batch k of
// n when the rollout counts instances; 0, 0 otherwise.
func (r Rolling) BatchRange(k int) (first, last int) {
	if r.Instances == 0 || r.BatchSize == 0 {
		return 0, 0
	}
	first = (k-1)*r.BatchSize + 1
	return first, min(k*r.BatchSize, r.Instances)
}

// BatchCount returns the number of batches the rollout has.
func (r Rolling) BatchCount() int {
	if r.Batches > 0 {
		return r.Batches
	}
	if r.Instances > 0 && r.BatchSize > 0 {
		return (r.Instances + r.BatchSize - 1) / r.BatchSize
	}
	return 1
}

// Monitor re-runs health and metrics after a successful deploy.
type Monitor struct {
	Duration  Duration // 0: no monitoring window
	Interval  Duration // default 1m
	OnFailure string   // rollback|notify; default notify
	// IssueLabels: an issue opened or labelled with one of them during the
	// window, by a user with at least triage, is a breach.
	IssueLabels []string
}

// Enabled reports whether a monitoring window is configured.
func (m Monitor) Enabled() bool { return m.Duration.Duration > 0 }

// Rollback policy.
type Rollback struct {
	Window    Duration // how long after a deploy rollback is offered; default 24h
	Automatic bool     // roll back on failure without asking
}
