package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/store"
)

func recordMarker(id int64) string { return fmt.Sprintf("<!-- deploybot:deployment:%d -->", id) }

func backupTagName(d *store.Deployment) string {
	return fmt.Sprintf("deploy-backup/%s/%s", d.Environment, d.CreatedAt.UTC().Format("20060102-150405"))
}

func (r *run) gateResults() []checks.Result {
	var results []checks.Result
	_ = json.Unmarshal([]byte(r.d.Gates), &results)
	return results
}

// record renders the deployment record: the PR comment, edited in place.
func (r *run) record() string {
	return renderRecord(r.d, r.steps, r.gateResults(), r.svc.logURL(r.d.ID))
}

func (r *run) checkSummary() string {
	var b strings.Builder
	b.WriteString(headline(r.d) + "\n\n")
	b.WriteString(checks.Table(r.gateResults()))
	// permission and lock have no check run of their own: what to do about
	// them (ask for access, /unlock) is said here.
	for _, g := range r.gateResults() {
		if summaryOnly(g.Gate) && g.Verdict != checks.Pass && g.Detail != "" {
			fmt.Fprintf(&b, "\n**`%s`**: %s\n", g.Gate, g.Detail)
		}
	}
	if r.d.Done() && r.d.State != store.StateSuccess {
		b.WriteString("\n" + rollbackProcedure(r.d))
	}
	return b.String()
}

func headline(d *store.Deployment) string {
	what := "Deploying"
	if d.Task == TaskRollback {
		what = "Rolling back"
	}
	if d.Task == TaskDryRun {
		what = "Dry run of"
		if d.State == store.StateSuccess {
			return fmt.Sprintf("🧪 Dry run: `%s` could deploy to **%s** (nothing was deployed)", short(d.SHA), d.Environment)
		}
	}
	switch d.State {
	case store.StateSuccess:
		return fmt.Sprintf("✅ `%s` is live in **%s**", short(d.SHA), d.Environment)
	case store.StateFailure:
		return fmt.Sprintf("❌ %s `%s` to **%s** failed: %s", what, short(d.SHA), d.Environment, d.Reason)
	case store.StateError:
		return fmt.Sprintf("⚠️ %s `%s` to **%s** stopped on a deploybot error: %s", what, short(d.SHA), d.Environment, d.Reason)
	case store.StateQueued:
		return fmt.Sprintf("⏳ %s `%s` to **%s** — queued", what, short(d.SHA), d.Environment)
	case store.StateWaiting:
		return fmt.Sprintf("⏳ %s `%s` to **%s** — waiting for its gates (see the table); it resumes by itself", what, short(d.SHA), d.Environment)
	}
	return fmt.Sprintf("🚀 %s `%s` to **%s** — in progress", what, short(d.SHA), d.Environment)
}

func renderRecord(d *store.Deployment, steps []store.Step, gates []checks.Result, logURL string) string {
	var b strings.Builder
	b.WriteString(recordMarker(d.ID) + "\n")
	fmt.Fprintf(&b, "### %s\n\n", headline(d))
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| **What** | `%s` at `%s` (%s) |\n", d.Ref, d.SHA, d.Strategy)
	fmt.Fprintf(&b, "| **Who** | @%s (%s) |\n", d.RequestedBy, d.Trigger)
	when := d.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	if !d.FinishedAt.IsZero() {
		when += " → " + d.FinishedAt.UTC().Format("15:04:05 UTC") + fmt.Sprintf(" (%s)", d.FinishedAt.Sub(d.CreatedAt).Round(time.Second))
	}
	fmt.Fprintf(&b, "| **When** | %s |\n", when)
	if d.GitHubDeploymentID != 0 {
		dep := fmt.Sprintf("GitHub deployment %d", d.GitHubDeploymentID)
		if logURL != "" {
			dep += fmt.Sprintf(" · [log](%s)", logURL)
		}
		fmt.Fprintf(&b, "| **Deployment** | %s |\n", dep)
	}
	if d.RollbackOf != 0 {
		rolls := fmt.Sprintf("GitHub deployment %d", d.RollbackOf)
		if c := decodeContext(d.Context).Cause; c != nil {
			rolls += fmt.Sprintf(" — automatically, because deployment #%d failed: %s", c.DeploymentID, cell(c.Reason))
			if c.LogURL != "" {
				rolls += fmt.Sprintf(" ([record](%s))", c.LogURL)
			}
		}
		fmt.Fprintf(&b, "| **Rolls back** | %s |\n", rolls)
	}
	if d.BackupTag != "" {
		fmt.Fprintf(&b, "| **Backup** | tag `%s` at `%s` (live before) |\n", d.BackupTag, short(d.PreviousSHA))
	}
	b.WriteString(chainRow(d))
	if len(gates) > 0 {
		fmt.Fprintf(&b, "\n**Gates** — overall_status=%s\n\n%s", checks.Overall(gates), checks.Table(gates))
	}
	b.WriteString("\n**Steps**\n\n| step | state | detail |\n|---|---|---|\n")
	for _, st := range steps {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", stepLabel(st), st.State, cell(st.Detail))
	}
	b.WriteString(smokeTable(steps))
	b.WriteString(metricsTable(steps))
	if d.Done() && d.State != store.StateSuccess {
		b.WriteString("\n" + rollbackProcedure(d))
	} else if d.State == store.StateSuccess && d.PreviousSHA != "" {
		fmt.Fprintf(&b, "\n<details><summary>Rollback procedure</summary>\n\n%s\n</details>\n", rollbackProcedure(d))
	}
	return b.String()
}

func stepLabel(st store.Step) string {
	switch st.Name {
	case stepExecute:
		return execLabel(parseSpec(st.Spec))
	case stepPause:
		var p pauseSpec
		_ = json.Unmarshal([]byte(st.Spec), &p)
		if p.Weight > 0 {
			return fmt.Sprintf("pause at %d %%", p.Weight)
		}
		return "pause for Promote"
	case stepCheck:
		var c checkSpec
		_ = json.Unmarshal([]byte(st.Spec), &c)
		if c.Preview != "" {
			return "check preview"
		}
	}
	return st.Name
}

// execLabel names an executor step in the record's step table.
func execLabel(spec ExecSpec) string {
	label := fmt.Sprintf("%s %d/%d", spec.Action, spec.Index, spec.Total)
	switch {
	case spec.Undo && spec.Action == "rollback":
		return fmt.Sprintf("undo: roll back batch %d", spec.Batch)
	case spec.Undo:
		return "undo: " + spec.Action
	case spec.Weight != nil:
		return fmt.Sprintf("%s at %d %%", label, *spec.Weight)
	case spec.Batch > 0:
		return fmt.Sprintf("%s (batch %d)", label, spec.Batch)
	}
	return label
}

func cell(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }

// rollbackProcedure is written into every failed record (and folded into
// successful ones): how to get back to what was live before.
func rollbackProcedure(d *store.Deployment) string {
	if d.PreviousSHA == "" {
		return "**Rollback**: nothing was live in " + d.Environment + " before this deployment, so there is no previous version to return to. Fix forward with a new `/deploy " + d.Environment + "`."
	}
	return fmt.Sprintf("**Rollback** to `%s` (live before; backup tag `%s`):\n"+
		"1. Press **Rollback** on the `%s` check run, or\n"+
		"2. comment `/rollback %s %s`.\n"+
		"Either redeploys `%s` through the same gates as a new deployment (task `deploy:rollback`).",
		short(d.PreviousSHA), d.BackupTag, checkRunName(d.Environment), d.Environment, d.PreviousSHA, short(d.PreviousSHA))
}

// Record is a deployment as shown at GET /deployments/{id}.
type Record struct {
	Deployment *store.Deployment `json:"deployment"`
	Steps      []store.Step      `json:"steps"`
	Gates      []checks.Result   `json:"gates"`
	Markdown   string            `json:"markdown"`
}

// Record loads a deployment's record.
func (s *Service) Record(ctx context.Context, id int64) (*Record, error) {
	d, err := s.Store.Deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	steps, err := s.Store.Steps(ctx, id)
	if err != nil {
		return nil, err
	}
	var gates []checks.Result
	_ = json.Unmarshal([]byte(d.Gates), &gates)
	return &Record{Deployment: d, Steps: steps, Gates: gates, Markdown: renderRecord(d, steps, gates, s.logURL(id))}, nil
}
