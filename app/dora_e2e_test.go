package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// doraSeries reads deploybot's /metrics: the deploybot_dora_* series by name,
// each a map of "repository environment" to its value.
func (s *story) doraSeries() map[string]map[string]float64 {
	s.t.Helper()
	resp, err := http.Get(s.Server.URL + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		s.t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "deploybot_dora_") {
			continue
		}
		out[name] = map[string]float64{}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[name][strings.Join(labels, " ")] = gaugeValue(m)
		}
	}
	return out
}

func gaugeValue(m *dto.Metric) float64 { return m.GetGauge().GetValue() }

// A good deploy, a bad one that fails its health check, and the rollback
// half an hour later: /metrics shows staging's delivery figures, labelled
// by repository and environment only.
func TestDeliveryMetricsOnMetrics(t *testing.T) {
	t.Parallel()
	c := &clock{}
	s := newStoryAt(t, "", c.Now)
	s.Repo.SetPermission("walt", "write")
	s.deployPR("feature/good", "walt", 1)
	c.Advance(time.Hour)
	pr, bad := s.openPR("feature/bad", "walt")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr, "walt", "/deploy staging")
	if failed := s.deploymentsFinished(2)[1]; failed.LatestState() != "failure" {
		t.Fatalf("bad deploy = %v", states(failed))
	}
	c.Advance(30 * time.Minute)
	s.comment(pr, "walt", "/rollback")
	if rb := s.deploymentsFinished(3)[2]; rb.Task != "deploy:rollback" || rb.LatestState() != "success" {
		t.Fatalf("rollback = %s %v", rb.Task, states(rb))
	}

	series := s.doraSeries()
	staging := "environment=staging repository=" + SandboxRepoFull
	for _, tc := range []struct {
		name     string
		min, max float64
	}{
		{"deploybot_dora_deployments_per_day", 1.0 / 30, 1.0 / 30}, // one good deploy in 30 days
		{"deploybot_dora_change_failure_ratio", 0.5, 0.5},          // one of two deploys failed
		// failure → the rollback's success: the half hour the clock moved,
		// plus the rollback's own run (bounded by the story's deadline).
		{"deploybot_dora_time_to_restore_seconds", 1800, 1800 + 90},
		{"deploybot_dora_lead_time_seconds", 0, 90}, // asked and deployed in the same story minute
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := series[tc.name]
			if !ok || len(got) != 1 {
				t.Fatalf("%s: %v, want one series %s", tc.name, got, staging)
			}
			v, ok := got[staging]
			if !ok || v < tc.min || v > tc.max {
				t.Errorf("%s%v, want %s in [%v, %v]", tc.name, got, staging, tc.min, tc.max)
			}
		})
	}
	if got := series["deploybot_dora_series_dropped"][""]; got != 0 {
		t.Errorf("series dropped: %v", got)
	}
}
