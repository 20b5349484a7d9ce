package app

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	webhooks       *prometheus.CounterVec
	githubRequests *prometheus.CounterVec
	jobErrors      *prometheus.CounterVec
	registry       *prometheus.Registry
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		registry: reg,
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_webhooks_total", Help: "Webhook deliveries received, by event and outcome. " +
				"The event is \"unverified\" until the signature is checked, then the event name if deploybot knows it, else \"other\".",
		}, []string{"event", "outcome"}),
		githubRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_github_requests_total", Help: "GitHub API requests, by method and status code.",
		}, []string{"method", "status"}),
		jobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploybot_job_errors_total", Help: "Failed attempts of queued jobs, by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.webhooks, m.githubRequests, m.jobErrors,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
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
