package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// Security blocks while the repository has open code-scanning alerts at or
// above the configured severity (default high) or any open secret-scanning
// alert (a leaked secret has no severity and counts as critical).
//
// GitHub answers 403 or 404 when a feature is off or the app may not read
// it; that part is then "not enabled" and said so in the result. When both
// are, the gate is skipped, or blocks with `if_disabled: block`.
type Security struct{ Config *config.SeverityGate }

func (Security) Name() string { return "security" }

func (g Security) Evaluate(ctx context.Context, in Input) (Result, error) {
	threshold := blockOn(g.Config)
	code := feature{Name: "code scanning", Readable: "“Code scanning alerts: read”",
		Enable: "enable code scanning (repository Settings → Code security → Code scanning, e.g. CodeQL default setup)"}
	secret := feature{Name: "secret scanning", Readable: "“Secret scanning alerts: read”",
		Enable: "enable secret scanning (repository Settings → Code security → Secret scanning)"}

	var blocking []alertRow
	below := 0

	codeAlerts, err := ListAll("code scanning alerts", func(p pageRef) ([]*github.Alert, *github.Response, error) {
		return in.GitHub.CodeScanning.ListAlertsForRepo(ctx, in.Owner, in.Name, &github.AlertListOptions{
			State: "open", ListOptions: github.ListOptions{PerPage: 100, Page: p.Number}})
	})
	if code.Enabled, code.Why, err = featureState(err); err != nil {
		return Result{}, fmt.Errorf("list code scanning alerts of %s: %w", in.Repo, err)
	}
	for _, a := range codeAlerts {
		row := alertRow{Source: "code scanning", Number: a.GetNumber(), Severity: codeScanningSeverity(a), URL: a.GetHTMLURL()}
		row.What = a.GetRule().GetID()
		if row.What == "" {
			row.What = a.GetRuleID()
		}
		if atOrAbove(row.Severity, threshold) {
			blocking = append(blocking, row)
		} else {
			below++
		}
	}

	// The alert's `secret` field holds the leaked value: it is never read.
	secretAlerts, err := ListAll("secret scanning alerts", func(p pageRef) ([]*github.SecretScanningAlert, *github.Response, error) {
		return in.GitHub.SecretScanning.ListAlertsForRepo(ctx, in.Owner, in.Name, &github.SecretScanningAlertListOptions{
			State: "open", ListOptions: github.ListOptions{PerPage: 100, Page: p.Number}})
	})
	if secret.Enabled, secret.Why, err = featureState(err); err != nil {
		return Result{}, fmt.Errorf("list secret scanning alerts of %s: %w", in.Repo, err)
	}
	for _, a := range secretAlerts {
		what := a.GetSecretTypeDisplayName()
		if what == "" {
			what = a.GetSecretType()
		}
		blocking = append(blocking, alertRow{Source: "secret scanning", Number: a.GetNumber(), Severity: "critical", What: what, URL: a.GetHTMLURL()})
	}

	feats := []feature{code, secret}
	if !code.Enabled && !secret.Enabled {
		return disabledResult("security", "code scanning and secret scanning are not enabled", g.Config, feats), nil
	}
	r := Result{Gate: "security"}
	var detail strings.Builder
	notes := disabledNotes(feats, &detail)
	belowLine := ""
	if below > 0 {
		belowLine = fmt.Sprintf("%s below %s %s not blocking.\n", countOf(below, "open code scanning alert"), threshold, isAre(below))
	}
	if len(blocking) > 0 {
		sortAlerts(blocking)
		var labels []string
		var rows [][]string
		for _, a := range blocking {
			labels = append(labels, a.label()+" ("+a.Severity+")")
			rows = append(rows, []string{a.label(), a.Severity, "`" + a.What + "`", mdLink("alert", a.URL)})
		}
		r.Verdict = Block
		r.Reason = fmt.Sprintf("%s at or above %s: %s%s", countOf(len(blocking), "open alert"), threshold, listSome(labels, 5), notes)
		var head strings.Builder
		head.WriteString(mdTable([]string{"alert", "severity", "rule / secret type", "link"}, rows))
		head.WriteString(sep(belowLine))
		fmt.Fprintf(&head, "\nFix or dismiss these alerts (revoke a leaked secret, then close its alert), then deploy again. "+
			"To block only on more severe alerts, raise `gates.security.block_on` (now %s) in `.github/deploy.yml`.\n", threshold)
		r.Detail = head.String() + sep(detail.String())
		return r, nil
	}
	r.Verdict = Pass
	var enabled []string
	for _, f := range feats {
		if f.Enabled {
			enabled = append(enabled, f.Name)
		}
	}
	r.Reason = fmt.Sprintf("no open %s alerts at or above %s%s", strings.Join(enabled, " or "), threshold, notes)
	var head strings.Builder
	fmt.Fprintf(&head, "No open %s alert at or above %s.\n", strings.Join(enabled, " or "), threshold)
	head.WriteString(belowLine)
	r.Detail = head.String() + sep(detail.String())
	return r, nil
}

// codeScanningSeverity is the alert's security severity
// (critical/high/medium/low); for rules without one (quality rules) the
// rule severity maps error→high, warning→medium, note→low.
func codeScanningSeverity(a *github.Alert) string {
	if s := normSeverity(a.GetRule().GetSecuritySeverityLevel()); s != "" {
		return s
	}
	s := a.GetRule().GetSeverity()
	if s == "" {
		s = a.GetRuleSeverity()
	}
	switch strings.ToLower(s) {
	case "error":
		return "high"
	case "warning":
		return "medium"
	case "note":
		return "low"
	}
	return normSeverity(s) // "none" or unknown: never blocks
}
