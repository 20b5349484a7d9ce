package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/internal/loopback"
	"github.com/deploybot/deploybot/store/storetest"
)

// MonitoredBenchEnv enables TestManyDeploymentsMonitoredAtOnce (a figure
// for BENCHMARKS.md): how many deployments are monitored, e.g. 500.
const MonitoredBenchEnv = "DEPLOYBOT_BENCH_MONITORED"

// N successful deployments are in their monitoring windows at once, each
// with a metric query every minute. Monitoring is durable timer jobs, not
// a goroutine per deployment: measured are the metric queries per minute,
// GitHub requests, goroutines and memory, next to the same process with no
// window open. The metric endpoint stands in for Prometheus and counts the
// queries (one HTTP request each).
// Serial: it measures the process (goroutines, memory).
func TestManyDeploymentsMonitoredAtOnce(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(MonitoredBenchEnv))
	if n <= 0 {
		t.Skipf("set %s=500 to measure (figure for BENCHMARKS.md)", MonitoredBenchEnv)
	}
	var queries atomic.Int64
	metrics, err := loopback.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		fmt.Fprint(w, `{"data":{"error_rate":0.001}}`)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(metrics.Close)
	var cfg strings.Builder
	cfg.WriteString("environments:\n")
	for i := range n {
		fmt.Fprintf(&cfg, "  e%04d: { executor: { webhook: { url: TARGET/hooks/e%04d } }, gates: { checks: false }, "+
			"monitor: { duration: 60m, interval: 1m }, verify: { metrics: { interval: 1s, count: 1, queries: [{ name: errors, web: { url: %s/q, json_path: data.error_rate }, max: 0.05 }] } } }\n",
			i, i, metrics.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	t.Cleanup(cancel)
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	sb, err := NewSandbox(ctx, SandboxOptions{TB: t, DatabaseURL: storetest.URL(t), Logger: &logger, Config: cfg.String(), NoPacer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	s := &story{t: t, Sandbox: sb, ctx: ctx}
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/many", "walt")
	base, _ := s.idle()

	start := time.Now()
	for i := range n {
		s.comment(pr, "walt", fmt.Sprintf("/deploy e%04d", i))
	}
	s.deploymentsFinished(n)
	setup := time.Since(start)
	windows, err := s.App.Store.ScheduledJobs(s.ctx, deploy.MonitorTickArgs{}.Kind())
	if err != nil || windows != n {
		t.Fatalf("monitor timers = %d (%v), want %d", windows, err, n)
	}

	// Two minutes of monitoring: every window looks once a minute.
	queries.Store(0)
	s.Sim.ResetRequests()
	before := measureProcess(t)
	select {
	case <-time.After(2 * time.Minute):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	after := measureProcess(t)
	perMinute := float64(queries.Load()) / 2
	t.Logf("%d deployments brought into their windows in %s (%s)", n, setup.Round(time.Millisecond), s.App.Store.Dialect())
	t.Logf("| | no window open | %d windows open |", n)
	t.Logf("| metric queries per minute | 0 | %.0f |", perMinute)
	t.Logf("| GitHub requests in 2 minutes | — | %d |", len(s.Sim.Requests()))
	t.Logf("| goroutines | %d | %d |", base.goroutines, max(before.goroutines, after.goroutines))
	t.Logf("| heap in use (after GC) | %.1f MiB | %.1f MiB |", mib(base.heapInuse), mib(max(before.heapInuse, after.heapInuse)))
	t.Logf("| VmRSS | %.1f MiB | %.1f MiB |", float64(base.rssKiB)/1024, float64(max(before.rssKiB, after.rssKiB))/1024)
	if perMinute < float64(n)*0.8 {
		t.Errorf("%.0f queries a minute for %d windows looking once a minute", perMinute, n)
	}
}
