package deploy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
)

// A health probe reports the status code and whether `contains` matched:
// never the body, never the URL's query.
func TestHealthProbeShowsNoContent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "SECRET-VALUE", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("status: degraded SECRET-VALUE"))
	}))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	svc := &Service{HTTP: testHTTP()}
	for _, tc := range []struct {
		name string
		hc   config.HealthCheck
		ok   bool
		want string
	}{
		{"healthy", config.HealthCheck{URL: srv.URL + "/ok?token=SECRET"}, true, "HTTP 200"},
		{"contains matched", config.HealthCheck{URL: srv.URL + "/ok?token=SECRET", Contains: "degraded"}, true, "HTTP 200"},
		{"contains not matched", config.HealthCheck{URL: srv.URL + "/ok?token=SECRET", Contains: "healthy"}, false, `body lacks "healthy"`},
		{"wrong status", config.HealthCheck{URL: srv.URL + "/down?token=SECRET"}, false, "HTTP 503, want 200"},
		{"unreachable", config.HealthCheck{URL: deadURL + "/ok?token=SECRET"}, false, "unreachable"},
		{"loopback not opted in", config.HealthCheck{URL: srv.URL + "/ok?token=SECRET"}, false, "not called: 127.0.0.1 is a loopback address: not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := svc
			if tc.name == "loopback not opted in" {
				svc = &Service{} // the default: no opt-in
			}
			ok, last := svc.probe(context.Background(), tc.hc)
			if ok != tc.ok || !strings.Contains(last, tc.want) {
				t.Errorf("probe = %v %q, want %v %q", ok, last, tc.ok, tc.want)
			}
			if strings.Contains(last, "SECRET") {
				t.Errorf("probe result %q shows fetched content or the URL's query", last)
			}
		})
	}
}
