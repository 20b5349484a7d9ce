package app

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deploybot/deploybot/internal/pacer"
)

type metrics struct {
	webhooks       *prometheus.CounterVec
	githubRequests *prometheus.CounterVec
	jobErrors      *prometheus.CounterVec
	resumedSteps   prometheus.Counter
	githubWrites   *prometheus.CounterVec
	registry       *prometheus.Registry
}

// stepsResumed counts steps resumed after their replica stopped renewing
// their leases.
func (m *metrics) stepsResumed(n int) { m.resumedSteps.Add(float64(n)) }

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		registry: reg,
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_webhooks_total", Help: "Webhook deliveries received, by event and outcome " +
				"(queued, duplicate, skipped: concerns nothing deploybot is doing and was not stored, ignored: an event deploybot does not handle, or a refusal). " +
				"The event is \"unverified\" until the signature is checked, then the event name if deploybot knows it, else \"other\".",
		}, []string{"event", "outcome"}),
		githubRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_github_requests_total", Help: "GitHub API requests, by method and status code.",
		}, []string{"method", "status"}),
		jobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_job_errors_total", Help: "Failed attempts of queued jobs, by kind.",
		}, []string{"kind"}),
		githubWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_github_writes_total", Help: "GitHub writes (POST, PATCH, PUT, DELETE) of installations, as the write pacer decided them, " +
				"by priority (final, normal, droppable) and outcome (sent, waited: sent after a short wait, " +
				"deferred: the job snoozed until the budget has room, dropped: not needed and not sent under pressure).",
		}, []string{"priority", "outcome"}),
	}
	m.resumedSteps = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "deploybot_steps_resumed_total",
		Help: "Pipeline steps resumed by this replica's lease reaper because the replica running them stopped renewing their leases (it died or was cut off).",
	})
	for _, p := range pacer.Priorities {
		for _, o := range pacer.Outcomes {
			m.githubWrites.WithLabelValues(p.String(), o.String())
		}
	}
	reg.MustRegister(m.webhooks, m.githubRequests, m.jobErrors, m.resumedSteps, m.githubWrites,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// observeIntake exports the group commit's transactions and the commit
// watch's store lookups (deliveries per transaction = stored / commits).
func (m *metrics) observeIntake(g *groupCommit, w *commitWatch) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "deploybot_intake_commits_total",
			Help: "Transactions that stored webhook deliveries (each holds the deliveries that arrived together).",
		}, func() float64 { return float64(g.flushes.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "deploybot_intake_watch_refreshes_total",
			Help: "Store lookups of the commits unfinished deployments are on, made for check and status deliveries on unknown commits.",
		}, func() float64 { return float64(w.refreshes.Load()) }),
	)
}

func (m *metrics) observeWrite(p pacer.Priority, o pacer.Outcome) {
	m.githubWrites.WithLabelValues(p.String(), o.String()).Inc()
}

func (m *metrics) githubMiddleware(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		status := "error"
		if resp != nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		m.githubRequests.WithLabelValues(r.Method, status).Inc()
		return resp, err
	})
}
