// Package checks holds the pre-deploy gates. Each gate looks at one aspect of
// a deployment request and answers PASS, BLOCK or WAIT with a one-line reason.
package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/deploybot/deploybot/config"
)

// Verdict is a gate's answer.
type Verdict string

const (
	Pass  Verdict = "PASS"
	Block Verdict = "BLOCK"
	Wait  Verdict = "WAIT"
)

// Result is what one gate decided.
type Result struct {
	Gate    string  `json:"gate"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
	Detail  string  `json:"detail,omitempty"` // Markdown
}

// Input is what gates may look at. Fields are filled by the pipeline from the
// API (never from a webhook payload the user controls).
type Input struct {
	Repo        string
	SHA         string
	Environment *config.Environment
	Actor       string
	// ActorRole is the actor's collaborator role read from the API
	// (role_name: admin, maintain, write, triage, read, none).
	ActorRole config.Permission
	// DeploymentID is the deployment being gated; LockHolder is the one
	// holding the environment's in-flight slot (0 when free).
	DeploymentID int64
	LockHolder   int64
	QueuedAhead  int
}

// Gate is one pre-deploy check.
type Gate interface {
	Name() string
	Evaluate(ctx context.Context, in Input) (Result, error)
}

// Overall folds results into the summary verdict: BLOCK beats WAIT beats PASS.
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
		fmt.Fprintf(&b, "| `%s` | %s %s | %s |\n", r.Gate, icon(r.Verdict), r.Verdict, escapeCell(r.Reason))
	}
	return b.String()
}

func icon(v Verdict) string {
	switch v {
	case Pass:
		return "✅"
	case Block:
		return "⛔"
	}
	return "⏳"
}

func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
