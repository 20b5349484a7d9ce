package checks

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/deploybot/deploybot/config"
)

// defaultChecksWait is how long pending checks are waited for by default.
const defaultChecksWait = 30 * time.Minute

// Checks passes when every check run and commit status on the SHA finished
// well (success, neutral or skipped). Ignored checks, deploybot's own check
// runs and the jobs of the workflow run that asked a deployment protection
// rule (they wait on us) are left out. Pending checks make it WAIT until the
// configured wait has passed since the deployment first waited; the pipeline
// re-evaluates on check events and at the deadline, never by polling.
type Checks struct{ Config *config.ChecksGate }

func (Checks) Name() string { return "checks" }

func (g Checks) Evaluate(ctx context.Context, in Input) (Result, error) {
	// A zero wait is treated as unset (the parser always fills in 30m), so a
	// hand-built ChecksGate{Ignore: …} does not time out immediately.
	wait := defaultChecksWait
	var ignore []string
	if g.Config != nil {
		if g.Config.Wait.Duration > 0 {
			wait = g.Config.Wait.Duration
		}
		ignore = g.Config.Ignore
	}
	states, err := in.CheckStates(ctx)
	if err != nil {
		return Result{}, err
	}

	var considered, failed, pending []CheckState
	var ignored []string
	for _, c := range states {
		if why := excludeCheck(c, in, ignore); why != "" {
			ignored = append(ignored, fmt.Sprintf("`%s` (%s)", c.Name, why))
			continue
		}
		considered = append(considered, c)
	}
	slices.Sort(ignored)
	slices.SortStableFunc(considered, func(a, b CheckState) int {
		return cmp.Or(cmp.Compare(checkRank(a), checkRank(b)), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	for _, c := range considered {
		switch {
		case c.Pending():
			pending = append(pending, c)
		case !c.OK():
			failed = append(failed, c)
		}
	}
	sha := short(in.SHA)
	r := Result{Gate: "checks"}
	table := checksTable(considered, ignored)

	switch {
	case len(failed) > 0:
		var names []string
		for _, c := range failed {
			names = append(names, fmt.Sprintf("%s (%s)", c.Name, checkStateText(c)))
		}
		r.Verdict = Block
		r.Reason = fmt.Sprintf("%s failed: %s", countOf(len(failed), "check"), listSome(names, 5))
		r.Detail = fmt.Sprintf("Did not pass on `%s`: %s.\n\n"+
			"Fix them (or re-run them if they were flaky), then deploy again. "+
			"To stop gating deploys on a check, add its name to `gates.checks.ignore` in `.github/deploy.yml`.\n\n%s",
			sha, linkedNames(failed), table)

	case len(pending) > 0:
		names := uniqueNames(pending)
		since := in.WaitingSince
		if since.IsZero() {
			since = in.Now
		}
		deadline := since.Add(wait)
		waitText := config.D(wait).String()
		if !in.Now.Before(deadline) {
			r.Verdict = Block
			r.Reason = fmt.Sprintf("timed out after %s waiting for %s", waitText, listSome(names, 5))
			r.Detail = fmt.Sprintf("Still pending on `%s` after %s: %s.\n\n"+
				"Find out why they are stuck (re-run them if needed) and deploy again once they pass. "+
				"If they are expected to take longer, raise `gates.checks.wait`; if they should not gate deploys, add them to `gates.checks.ignore` in `.github/deploy.yml`.\n\n%s",
				sha, waitText, linkedNames(pending), table)
			return r, nil
		}
		r.Verdict = Wait
		r.Reason = fmt.Sprintf("waiting for %s (%d pending)", listSome(names, 5), len(pending))
		r.WaitingFor = names
		r.Deadline = deadline
		r.Detail = fmt.Sprintf("Waiting for %s on `%s`. The deployment continues once every pending check has passed, "+
			"and is refused if any is still pending at %s (wait: %s).\n\n%s",
			linkedNames(pending), sha, deadline.UTC().Format("2006-01-02 15:04 MST"), waitText, table)

	case len(considered) == 0 && len(ignored) == 0:
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("no checks on %s", sha)
		r.Detail = fmt.Sprintf("No check runs or commit statuses were reported on `%s`, so there was nothing to wait for: "+
			"the repository does not seem to have CI configured for this commit. "+
			"Add a CI workflow (for example GitHub Actions on `push`) so deploys are gated on tests.\n", sha)

	case len(considered) == 0:
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("no checks to wait for on %s (%d ignored)", sha, len(ignored))
		r.Detail = fmt.Sprintf("Every check on `%s` is ignored by this gate, so there was nothing to wait for.\n\n%s", sha, table)

	default:
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("%s passed", countOf(len(considered), "check"))
		r.Detail = table
	}
	return r, nil
}

// excludeCheck says why c is not gated on ("" when it is).
func excludeCheck(c CheckState, in Input, ignore []string) string {
	// Only deploybot's own check runs, by app: another app's run or a
	// commit status named deploy/… is gated on like any other (deploybot
	// posts no commit statuses).
	if c.Kind == "check_run" && ((in.AppID != 0 && c.AppID == in.AppID) || (in.AppSlug != "" && c.AppSlug == in.AppSlug)) {
		return "deploybot's own"
	}
	if in.IgnoreCheckSuiteID != 0 && c.Kind == "check_run" && c.CheckSuiteID == in.IgnoreCheckSuiteID {
		return "part of the workflow run waiting on this deployment"
	}
	for _, p := range ignore {
		if p == c.Name {
			return "ignored"
		}
		if ok, err := path.Match(p, c.Name); err == nil && ok {
			return fmt.Sprintf("ignored by `%s`", p)
		}
	}
	return ""
}

// checkRank orders failed checks first, then pending, then passed.
func checkRank(c CheckState) int {
	switch {
	case c.Pending():
		return 1
	case !c.OK():
		return 0
	}
	return 2
}

// checkStateText is the state shown to users: the conclusion of a finished
// check, else its status (queued, in_progress, pending).
func checkStateText(c CheckState) string {
	if !c.Pending() && c.Conclusion != "" {
		return c.Conclusion
	}
	return c.Status
}

func uniqueNames(cs []CheckState) []string {
	var out []string
	for _, c := range cs {
		if !slices.Contains(out, c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

func linkedNames(cs []CheckState) string {
	var out []string
	for _, c := range cs {
		out = append(out, mdLink(c.Name, c.URL))
	}
	return strings.Join(out, ", ")
}

// checksTable renders the considered checks and the ignored ones.
func checksTable(considered []CheckState, ignored []string) string {
	var b strings.Builder
	if len(considered) > 0 {
		var rows [][]string
		for _, c := range considered {
			kind := "check run"
			if c.Kind == "status" {
				kind = "status"
			}
			icon := "✅"
			switch {
			case c.Pending():
				icon = "⏳"
			case !c.OK():
				icon = "⛔"
			}
			link := "—"
			if c.URL != "" {
				link = mdLink("details", c.URL)
			}
			rows = append(rows, []string{"`" + c.Name + "`", kind, icon + " " + checkStateText(c), link})
		}
		b.WriteString(mdTable([]string{"check", "kind", "state", "link"}, rows))
	}
	if len(ignored) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Not gated on: %s.\n", strings.Join(ignored, ", "))
	}
	return b.String()
}
