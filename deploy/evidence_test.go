package deploy

import (
	"encoding/json"
	"testing"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// The analysis during a canary's pause is evidence too, named after the
// pause; health checks never attempted and empty results are left out.
func TestRecordEvidence(t *testing.T) {
	limit := 0.01
	env, _ := json.Marshal(config.Environment{Name: "production", Verify: config.Verify{Metrics: &config.Metrics{
		Queries: []config.MetricQuery{{Name: "errors", Max: &limit}, {Name: "shadow", Max: &limit, DryRun: true}}}}})
	rec := &Record{Deployment: &store.Deployment{EnvConfig: string(env)}, Steps: []store.Step{
		{Name: stepExecute, Result: `{}`},
		{Name: stepPause, Spec: `{"weight":10}`, Result: `{"announced":true,"analysis":{"measurements":[
			{"at":"2026-01-02T12:00:00Z","values":{"errors":{"v":0.2,"breach":true,"cond":"≤ 0.01"},"shadow":{"v":0.5,"dry_run":true,"cond":"≤ 0.01"}}}]}}`},
		{Name: stepVerify, Result: `{"checks":[{"url":"https://a.example/h","attempts":1,"ok":true,"last":"HTTP 200"},{"url":"https://b.example/h","attempts":0}]}`},
		{Name: stepSmoke, Result: ``},
		{Name: stepAnalysis, Result: `{}`},
	}}
	ev := RecordEvidence(rec)
	if len(ev.Metrics) != 2 || len(ev.Health) != 1 || len(ev.Smoke) != 0 {
		t.Fatalf("evidence %+v", ev)
	}
	for i, want := range []struct{ name, verdict string }{{"errors", VerdictBreached}, {"shadow", VerdictDryRun}} {
		m := ev.Metrics[i]
		if m.Analysis != "pause at 10 %" || m.Name != want.name || m.Verdict != want.verdict || m.Condition != "≤ 0.01" ||
			len(m.Limits) != 1 || m.Limits[0] != (Limit{Label: "max 0.01", Value: 0.01}) || len(m.Points) != 1 || !m.Points[0].Breach {
			t.Errorf("series %d = %+v", i, m)
		}
	}
	if ev.Health[0] != (HealthResult{URL: "https://a.example/h", Attempts: 1, OK: true, Last: "HTTP 200"}) {
		t.Errorf("health %+v", ev.Health)
	}
}
