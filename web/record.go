package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store"
)

// metricView is one metric of the record page: its series and its chart.
type metricView struct {
	deploy.MetricSeries
	Chart lineChart
}

// record is /{owner}/{repo}/deployments/{id}: one deployment's record,
// with the buttons its phase allows.
func (s *Server) record(w http.ResponseWriter, r *http.Request, v *viewer) {
	repo, ok := v.canRead(r.PathValue("owner") + "/" + r.PathValue("repo"))
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if !ok || err != nil || s.c.Deploy == nil {
		s.notFound(w, r, v)
		return
	}
	rec, err := s.c.Deploy.Record(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (rec.Deployment.Repo != repo || rec.Deployment.Task == deploy.TaskDryRun)) {
		s.notFound(w, r, v)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	d := rec.Deployment
	rollback, err := s.c.Deploy.RollbackOffered(r.Context(), d)
	if err != nil {
		s.fail(w, err)
		return
	}
	ev := deploy.RecordEvidence(rec)
	metrics := make([]metricView, len(ev.Metrics))
	for i, m := range ev.Metrics {
		metrics[i] = metricView{MetricSeries: m, Chart: drawMetric(m)}
	}
	s.render(w, "record", page{Viewer: v, Title: fmt.Sprintf("Deployment %d", d.ID), Live: repo, Data: map[string]any{
		"D": d, "Steps": rec.Steps, "Gates": rec.Gates, "Output": deploy.ExecutorOutputs(rec),
		"Metrics": metrics, "Health": ev.Health, "Smoke": ev.Smoke,
		"Actions": recordActions(d, rec.Steps, rollback), "CSRF": v.CSRF, "Back": r.URL.Path,
	}})
}

// recordActions are the buttons a deployment's phase allows on its record:
// Promote while it waits at a pause or an inconclusive analysis, Abort
// while it holds its environment (a queued one does not: /abort would stop
// the one ahead of it), Rollback when RollbackOffered said so.
func recordActions(d *store.Deployment, steps []store.Step, rollback bool) []string {
	var out []string
	if d.Task == deploy.TaskDryRun {
		return nil
	}
	switch d.State {
	case store.StateWaiting:
		if d.Step < len(steps) && isPromotable(steps[d.Step].Name) {
			out = append(out, deploy.ActionPromote)
		}
		out = append(out, deploy.ActionAbort)
	case store.StateRunning:
		out = append(out, deploy.ActionAbort)
	}
	if rollback && d.Ended() {
		out = append(out, actionRollback)
	}
	return out
}

// isPromotable: the steps Promote ends (a pause, an analysis waiting for a
// person because it had no data).
func isPromotable(step string) bool { return step == "pause" || step == "analysis" }

// rollbackOn says where an environment row offers Rollback: next to its
// last failure ("failure") or its live deployment ("live"), or nowhere
// (""). Only when nothing is in flight, and only next to the newest
// deployment that changed the environment when it is known to have had a
// version before it (what /rollback <env> would return to). The dashboard
// reads no more than its row for this; the press runs the command, which
// decides.
func rollbackOn(c *store.EnvStatus) string {
	if len(c.InFlight) > 0 {
		return ""
	}
	hadBefore := func(d *store.Deployment) bool { return d.PreviousSHA != "" && d.PreviousSHA != d.SHA }
	f, l := c.LastFailure, c.Live
	if f != nil && (l == nil || f.ID > l.ID) && hadBefore(f) {
		return "failure"
	}
	// A newer failure without a version before it changed nothing (it
	// stopped before the backup step): the live one is what is undone.
	if l != nil && hadBefore(l) {
		return "live"
	}
	return ""
}

// actionRollback is the Rollback button's action (`/rollback <env>`).
const actionRollback = "rollback"
