package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// Dependencies blocks while the repository has open Dependabot alerts at or
// above the configured severity (default high). GitHub answers 403 or 404
// when Dependabot alerts are off or the app may not read them: the gate is
// then skipped, or blocks with `if_disabled: block`.
type Dependencies struct{ Config *config.SeverityGate }

func (Dependencies) Name() string { return "dependencies" }

func (g Dependencies) Evaluate(ctx context.Context, in Input) (Result, error) {
	threshold := blockOn(g.Config)
	dep := feature{Name: "Dependabot alerts", Readable: "“Dependabot alerts: read”",
		Enable: "enable Dependabot alerts (repository Settings → Code security → Dependabot alerts)"}

	// Only the severities that block are asked for; the listing is cursor
	// paginated (after=).
	filter := strings.Join(severitiesAtOrAbove(threshold), ",")
	alerts, err := ListAll("Dependabot alerts", func(p pageRef) ([]*github.DependabotAlert, *github.Response, error) {
		opts := &github.ListAlertsOptions{State: github.String("open"), Severity: github.String(filter),
			ListCursorOptions: github.ListCursorOptions{PerPage: 100, After: p.After}}
		opts.ListOptions.Page = p.Number
		return in.GitHub.Dependabot.ListRepoAlerts(ctx, in.Owner, in.Name, opts)
	})
	if dep.Enabled, dep.Why, err = featureState(err); err != nil {
		return Result{}, fmt.Errorf("list Dependabot alerts of %s: %w", in.Repo, err)
	}
	if !dep.Enabled {
		return disabledResult("dependencies", "Dependabot alerts are not enabled", g.Config, []feature{dep}), nil
	}

	var blocking []alertRow
	for _, a := range alerts {
		sev := normSeverity(a.GetSecurityAdvisory().GetSeverity())
		if sev == "" {
			sev = normSeverity(a.GetSecurityVulnerability().GetSeverity())
		}
		if !atOrAbove(sev, threshold) {
			continue
		}
		pkg := a.GetDependency().GetPackage()
		if pkg == nil {
			pkg = a.GetSecurityVulnerability().GetPackage()
		}
		blocking = append(blocking, alertRow{Source: "Dependabot", Number: a.GetNumber(), Severity: sev, What: pkg.GetName(),
			Ecosystem: pkg.GetEcosystem(), GHSA: a.GetSecurityAdvisory().GetGHSAID(), URL: a.GetHTMLURL()})
	}
	r := Result{Gate: "dependencies"}
	if len(blocking) == 0 {
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("no open Dependabot alerts at or above %s", threshold)
		r.Detail = fmt.Sprintf("No open Dependabot alert at or above %s (alerts below it are not checked).\n", threshold)
		return r, nil
	}
	sortAlerts(blocking)
	var labels []string
	var table [][]string
	for _, a := range blocking {
		labels = append(labels, fmt.Sprintf("%s (%s, %s)", a.What, a.Ecosystem, a.Severity))
		ghsa := "—"
		if a.GHSA != "" {
			ghsa = "`" + a.GHSA + "`"
		}
		table = append(table, []string{fmt.Sprintf("#%d", a.Number), "`" + a.What + "`", a.Ecosystem, a.Severity, ghsa, mdLink("alert", a.URL)})
	}
	r.Verdict = Block
	r.Reason = fmt.Sprintf("%s at or above %s: %s", countOf(len(blocking), "open Dependabot alert"), threshold, listSome(labels, 5))
	r.Detail = mdTable([]string{"alert", "package", "ecosystem", "severity", "advisory", "link"}, table) +
		fmt.Sprintf("\nUpgrade the affected packages (or merge Dependabot's update pull requests) or dismiss the alerts, then deploy again. "+
			"To block only on more severe alerts, raise `gates.dependencies.block_on` (now %s) in `.github/deploy.yml`.\n", threshold)
	return r, nil
}
