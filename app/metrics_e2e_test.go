package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/deploybot/deploybot/internal/loopback"
)

// shopMetrics is the shop's /metrics: its 5xx counter climbs while the
// broken version is live.
type shopMetrics struct {
	mu     sync.Mutex
	errors int
	broken func() bool
}

func (m *shopMetrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	if m.broken() {
		m.errors += 10
	}
	n := m.errors
	m.mu.Unlock()
	fmt.Fprintf(w, "# TYPE shop_http_errors_total counter\nshop_http_errors_total %d\n", n)
}

// A new version makes the shop's 5xx counter climb. The analysis compares
// the error rate with its baseline (the rate when the deployment began
// executing), measured on a real Prometheus, finds the increase, and the
// deployment rolls back by itself; the rollback's own analysis passes.
func TestMetricAnalysisOnPrometheusRollsBackAnErrorSpike(t *testing.T) {
	t.Parallel()
	var s *story
	var bad sync.Map
	metrics := &shopMetrics{broken: func() bool {
		if s == nil {
			return false
		}
		_, ok := bad.Load(s.Target.Live("staging"))
		return ok
	}}
	shop, err := loopback.New(metrics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shop.Close)
	prom := startPrometheus(t, strings.TrimPrefix(shop.URL, "http://"))
	waitForSeries(t, prom, "shop_http_errors_total")

	s = newStory(t, strings.ReplaceAll(`environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    rollback: { automatic: true }
    verify:
      metrics:
        prometheus: PROM
        initial_delay: 3s
        interval: 1s
        count: 3
        queries:
          - name: error-rate
            query: sum(rate(shop_http_errors_total[4s]))
            baseline: { max_increase: 20% }
`, "PROM", prom))
	s.Repo.SetPermission("walt", "write")
	pr, good := s.openPR("feature/cart", "walt")
	s.comment(pr, "walt", "/deploy staging")
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" {
		t.Fatalf("the healthy version's analysis failed: %v\n%s", states(d), s.deploybotComments(pr)[0])
	}

	s.Repo.Commit("feature/cart", map[string]string{"two.txt": "2"}, "error spike")
	spike := s.Repo.Head("feature/cart")
	bad.Store(spike, true)
	s.comment(pr, "walt", "/deploy staging")
	deps := s.deploymentsFinished(3)
	failed, rb := deps[1], deps[2]
	last := failed.Statuses[len(failed.Statuses)-1]
	if failed.SHA != spike || last.State != "failure" || !strings.Contains(last.Description, "metric error-rate") {
		t.Fatalf("the spiking version ended %s %q", last.State, last.Description)
	}
	if rb.Task != "deploy:rollback" || rb.SHA != good || rb.LatestState() != "success" {
		t.Fatalf("automatic rollback = %s of %s: %s\n%s", rb.Task, short(rb.SHA), rb.LatestState(), s.deploybotComments(pr)[2])
	}
	records := s.deploybotComments(pr)
	contains(t, "the failed record", records[1], "**Metrics**")
	contains(t, "the failed record", records[1], "| error-rate | ≤ 0 (baseline 0 + 20% + 0) | 0 |")
	contains(t, "the failed record", records[1], "⛔ breached")
	contains(t, "the rollback's record", records[2], "✅ within bounds")
}

// waitForSeries waits until Prometheus has scraped metric at least twice
// (rate() needs two samples).
func waitForSeries(t *testing.T, prom, metric string) {
	t.Helper()
	client, err := api.NewClient(api.Config{Address: prom})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		v, _, _, err := promv1.NewAPI(client).Query(ctx, "count_over_time("+metric+"[1m])", time.Now())
		if err == nil && strings.Contains(v.String(), "=> ") && !strings.Contains(v.String(), "=> 1 @") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("prometheus never scraped %s", metric)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
