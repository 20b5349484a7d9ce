// Package checks holds the pre-deploy gates. Each gate looks at one aspect of
// a deployment request and answers PASS, BLOCK, WAIT or SKIP with a one-line
// reason and a Markdown detail. Gates read GitHub through the client in
// Input and never decode webhooks; the pipeline (deploy/) runs them
// concurrently, posts each as a check run and folds them into the summary.
package checks

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
)

// Verdict is a gate's answer.
type Verdict string

const (
	Pass  Verdict = "PASS"
	Block Verdict = "BLOCK"
	Wait  Verdict = "WAIT"
	// Skip means the gate did not apply (a feature is off, not a release);
	// it is posted as a neutral check run and does not block.
	Skip Verdict = "SKIP"
)

// Conclusion is the check run conclusion for a verdict ("" while waiting).
func (v Verdict) Conclusion() string {
	switch v {
	case Pass:
		return "success"
	case Block:
		return "failure"
	case Skip:
		return "neutral"
	}
	return ""
}

// Result is what one gate decided.
type Result struct {
	Gate    string  `json:"gate"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`           // one line: the check run title
	Detail  string  `json:"detail,omitempty"` // Markdown: the check run summary
	// Deadline is when a WAIT gives up and becomes BLOCK; the pipeline
	// schedules a durable timer for it.
	Deadline time.Time `json:"deadline,omitzero"`
	// WaitingFor names what a WAIT waits for ("ci/test, lint").
	WaitingFor []string `json:"waiting_for,omitempty"`
	// Backup is a hook the pipeline must run right before deploying
	// (the migrations gate sets it when migrations changed).
	Backup *config.Executor `json:"backup,omitempty"`
}

// Release describes the release behind a release-triggered deployment.
type Release struct {
	ID              int64
	Tag             string
	Name            string
	Body            string
	TargetCommitish string
	Draft           bool
	Prerelease      bool
	HTMLURL         string
}

// Input is what gates may look at. Fields are filled by the pipeline from the
// API and the store (never from a webhook payload the user controls).
type Input struct {
	Owner, Name string // repository
	Repo        string // owner/name
	SHA         string // the pinned commit being gated and deployed
	Ref         string // what was asked for (branch, tag or sha)
	// DefaultBranch is the repository's default branch.
	DefaultBranch string
	Environment   *config.Environment
	Task          string // deploy | deploy:rollback | dry-run | protection-rule
	// Trigger is what asked: comment, release, deployment, rollback-button…
	Trigger string
	Actor   string
	// ActorRole is the actor's collaborator role read from the API
	// (role_name: admin, maintain, write, triage, read, none).
	ActorRole config.Permission
	// DeploymentID is the deployment being gated; LockHolder is the one
	// holding the environment's in-flight slot (0 when free).
	DeploymentID int64
	LockHolder   int64
	QueuedAhead  int
	PRNumber     int    // pull request being deployed (0: none)
	LiveSHA      string // SHA live in the environment now ("" when nothing is)
	// Release is the release being deployed (a release trigger, or a tag
	// that has a release); the release policy applies to the trigger only.
	Release *Release
	// ManualLock is the `/lock` in force on the environment (nil: none).
	ManualLock *ManualLock
	// IgnoreCheckSuiteID is the check suite of a workflow run that asked a
	// protection rule; its jobs are not waited for (they wait on us).
	IgnoreCheckSuiteID int64
	// AppSlug is deploybot's own app; its check runs are never gated on.
	AppSlug string
	// Now is the evaluation time; WaitingSince is when this deployment
	// first waited on its gates (zero on the first evaluation).
	Now          time.Time
	WaitingSince time.Time

	GitHub *github.Client
	HTTP   egress.Doer // the guarded client for URLs from the config
	// Deployed reports whether sha was deployed successfully to env (the
	// store's history); the order gate uses it.
	Deployed func(ctx context.Context, env, sha string) (bool, error)

	shared *shared
}

// Gate is one pre-deploy check.
type Gate interface {
	Name() string
	Evaluate(ctx context.Context, in Input) (Result, error)
}

// shared memoizes lookups several gates need during one evaluation.
type shared struct {
	once   sync.Once
	states []CheckState
	err    error
}

// Share makes in's memoized lookups (CheckStates) shared by every copy of
// it, so concurrent gates fetch the commit's checks once.
func (in Input) Share() Input {
	in.shared = &shared{}
	return in
}

// CheckStates returns every check run and commit status on in.SHA (all
// pages), fetched at most once per shared Input.
func (in Input) CheckStates(ctx context.Context) ([]CheckState, error) {
	if in.shared == nil {
		return fetchCheckStates(ctx, in)
	}
	in.shared.once.Do(func() { in.shared.states, in.shared.err = fetchCheckStates(ctx, in) })
	return in.shared.states, in.shared.err
}

// Overall folds results into the summary verdict: BLOCK beats WAIT beats
// PASS; SKIP counts as PASS.
func Overall(results []Result) Verdict {
	v := Pass
	for _, r := range results {
		switch {
		case r.Verdict == Block:
			return Block
		case r.Verdict == Wait:
			v = Wait
		}
	}
	return v
}

// Table renders results as the Markdown table shown on check runs and records.
func Table(results []Result) string {
	var b strings.Builder
	b.WriteString("| gate | result | reason |\n|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| `%s` | %s %s | %s |\n", r.Gate, r.Verdict.Icon(), r.Verdict, escapeCell(r.Reason))
	}
	return b.String()
}

// Icon is the verdict's symbol in tables and comments.
func (v Verdict) Icon() string {
	switch v {
	case Pass:
		return "✅"
	case Block:
		return "⛔"
	case Skip:
		return "➖"
	}
	return "⏳"
}

func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
