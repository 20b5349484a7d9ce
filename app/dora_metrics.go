package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/internal/dora"
	"github.com/deploybot/deploybot/store"
)

const (
	// doraWindow is the window of the /metrics delivery figures.
	doraWindow = 30
	// doraMaxSeries caps the repository × environment pairs exported.
	doraMaxSeries = 1000
)

var (
	doraLabels     = []string{"repository", "environment"}
	doraPerDayDesc = prometheus.NewDesc("deploybot_dora_deployments_per_day",
		"Successful deploys per day over the last 30 days (rollbacks not counted).", doraLabels, nil)
	doraLeadDesc = prometheus.NewDesc("deploybot_dora_lead_time_seconds",
		"Median time over the last 30 days from deploybot's first request to deploy a commit to its success in the environment "+
			"(absent without a successful deploy).", doraLabels, nil)
	doraFailureDesc = prometheus.NewDesc("deploybot_dora_change_failure_ratio",
		"Deploys of the last 30 days that failed after reaching the environment or were rolled back, over deploys that reached it.", doraLabels, nil)
	doraRestoreDesc = prometheus.NewDesc("deploybot_dora_time_to_restore_seconds",
		"Median time over the last 30 days from a change failure in the environment to its next good success (absent without one).", doraLabels, nil)
	doraTruncatedDesc = prometheus.NewDesc("deploybot_dora_series_dropped",
		"Repository × environment pairs left out of the deploybot_dora_* series by their cap of 1000.", nil, nil)
)

// doraCollector computes the delivery figures from the store at scrape
// time: one query over the last 30 days.
type doraCollector struct {
	store  *store.Store
	now    func() time.Time
	logger zerolog.Logger
}

func (c *doraCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{doraPerDayDesc, doraLeadDesc, doraFailureDesc, doraRestoreDesc, doraTruncatedDesc} {
		ch <- d
	}
}

func (c *doraCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := c.now()
	rows, err := c.store.DoraDeployments(ctx, "", now.Add(-doraWindow*dora.Day))
	if err != nil {
		// The other series still answer the scrape.
		c.logger.Warn().Err(err).Msg("delivery metrics left out of this scrape")
		return
	}
	series := dora.ByEnvironment(rows, now, doraWindow)
	dropped := max(len(series)-doraMaxSeries, 0)
	ch <- prometheus.MustNewConstMetric(doraTruncatedDesc, prometheus.GaugeValue, float64(dropped))
	for _, s := range series[:len(series)-dropped] {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, s.Repo, s.Environment)
		}
		gauge(doraPerDayDesc, s.PerDay)
		if s.Deploys > 0 {
			gauge(doraFailureDesc, s.FailureRate)
		}
		if s.LeadSamples > 0 {
			gauge(doraLeadDesc, s.LeadTime.Seconds())
		}
		if s.Restores > 0 {
			gauge(doraRestoreDesc, s.TimeToRestore.Seconds())
		}
	}
}

// observeDora exports the delivery figures of every repository.
func (m *metrics) observeDora(st *store.Store, now func() time.Time, logger zerolog.Logger) {
	m.registry.MustRegister(&doraCollector{store: st, now: now, logger: logger})
}
