package checks

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// This file holds what the security and dependencies gates share (paging
// through alert lists, telling "the feature is off" from a real failure,
// severity thresholds, alert rows) and the small Markdown helpers every
// gate of this package may use (mdTable, mdLink, listSome).

// notEnabled reports whether err is GitHub answering 403 or 404 for a
// security feature, which means the feature is off for the repository or
// not available to the app, and returns GitHub's message. Rate limits (also
// 403) are not "not enabled": go-github reports them as their own error
// types, which are returned as errors so the gate fails closed.
func notEnabled(err error) (bool, string) {
	status := clientErrorStatus(err) // variables.go
	if status == 0 {
		return false, ""
	}
	var er *github.ErrorResponse
	msg := http.StatusText(status)
	if errors.As(err, &er) && er.Message != "" {
		msg = er.Message
	}
	return true, fmt.Sprintf("GitHub answered %d: %s", status, msg)
}

// feature is one alert source of a severity gate and whether it could be read.
type feature struct {
	Name     string // "code scanning", "secret scanning", "Dependabot alerts"
	Enabled  bool
	Why      string // GitHub's answer when not enabled
	Enable   string // what to do to turn it on
	Readable string // the app permission needed to read it
}

func (f feature) notEnabledLine() string {
	return fmt.Sprintf("- **%s: not enabled.** %s. To gate on it, %s; if it is enabled, give the deploybot app the %s permission.\n",
		f.Name, strings.TrimSuffix(f.Why, "."), f.Enable, f.Readable)
}

// blockOn is the configured threshold (default high).
func blockOn(c *config.SeverityGate) string {
	if c == nil || config.SeverityRank(c.BlockOn) == 0 {
		return "high"
	}
	return normSeverity(c.BlockOn)
}

// atOrAbove reports whether severity meets the threshold. Unknown or
// absent severities ("none") never do.
func atOrAbove(severity, threshold string) bool {
	r := config.SeverityRank(severity)
	return r > 0 && r >= config.SeverityRank(threshold)
}

// severitiesAtOrAbove lists the severities that meet the threshold, for
// server-side filters ("high,critical").
func severitiesAtOrAbove(threshold string) []string {
	var out []string
	for _, s := range config.Severities {
		if atOrAbove(s, threshold) {
			out = append(out, s)
		}
	}
	return out
}

// normSeverity lower-cases a severity and maps "moderate" to "medium".
func normSeverity(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "moderate" {
		return "medium"
	}
	return s
}

// disabledResult is the answer when none of a gate's features is enabled:
// SKIP (neutral), or BLOCK when the gate is configured with if_disabled: block.
func disabledResult(gate, reason string, c *config.SeverityGate, feats []feature) Result {
	var b strings.Builder
	for _, f := range feats {
		b.WriteString(f.notEnabledLine())
	}
	if c != nil && c.IfDisabled == "block" {
		fmt.Fprintf(&b, "\nThis gate is set to `if_disabled: block`, so nothing can be deployed to this environment until it can read alerts. "+
			"Enable the feature, or set `if_disabled: neutral` under `gates.%s` in `.github/deploy.yml` to let deploys through without it.\n", gate)
		return Result{Gate: gate, Verdict: Block, Reason: reason + "; this environment requires them", Detail: b.String()}
	}
	fmt.Fprintf(&b, "\nThe gate is skipped (`if_disabled: neutral`). Set `if_disabled: block` under `gates.%s` to refuse deploys while it is off.\n", gate)
	return Result{Gate: gate, Verdict: Skip, Reason: reason, Detail: b.String()}
}

// mdTable renders a Markdown table; cells are escaped.
func mdTable(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("|")
	for _, h := range header {
		b.WriteString(" " + h + " |")
	}
	b.WriteString("\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("|")
		for _, c := range r {
			b.WriteString(" " + escapeCell(c) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mdLink renders [text](url), or text alone when url is empty.
func mdLink(text, url string) string {
	if url == "" {
		return text
	}
	return "[" + strings.NewReplacer("[", `\[`, "]", `\]`).Replace(text) + "](" + url + ")"
}

// listSome joins up to n items and says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// isAre returns "is" for one, "are" otherwise.
func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// alertRow is one open alert as shown to users.
type alertRow struct {
	Source   string // "code scanning", "secret scanning", "Dependabot"
	Number   int
	Severity string
	What     string // rule id, secret type or package
	// Ecosystem and GHSA are set for Dependabot alerts.
	Ecosystem, GHSA string
	URL             string
}

func (a alertRow) label() string { return fmt.Sprintf("%s #%d", a.Source, a.Number) }

// featureState turns a listing error into (enabled, why-not, real error).
func featureState(err error) (bool, string, error) {
	if err == nil {
		return true, "", nil
	}
	if off, why := notEnabled(err); off {
		return false, why, nil
	}
	return false, "", err
}

// disabledNotes writes the not-enabled lines of feats to detail and returns
// the suffix for the one-line reason ("; secret scanning is not enabled").
func disabledNotes(feats []feature, detail *strings.Builder) string {
	var off []string
	for _, f := range feats {
		if !f.Enabled {
			off = append(off, f.Name)
			detail.WriteString(f.notEnabledLine())
		}
	}
	if len(off) == 0 {
		return ""
	}
	return fmt.Sprintf("; %s %s not enabled", joinNames(off), isAre(len(off)))
}

// sep puts a blank line before s when it is not empty.
func sep(s string) string {
	if s == "" {
		return ""
	}
	return "\n" + s
}

// sortAlerts orders alerts by severity, most severe first, keeping the
// source order otherwise.
func sortAlerts(rows []alertRow) {
	slices.SortStableFunc(rows, func(a, b alertRow) int {
		return config.SeverityRank(b.Severity) - config.SeverityRank(a.Severity)
	})
}
