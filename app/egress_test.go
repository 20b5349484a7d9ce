package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deploybot/deploybot/internal/egress"
)

// The server's client refuses loopback unless the operator opts it in;
// the sandbox (demo, tests) opts in explicitly.
func TestServerEgressIsClosedByDefault(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	call := egress.Call{URL: srv.URL + "/flags", Timeout: 10 * time.Second}

	_, err := egressClient(Settings{}).Do(context.Background(), call)
	if !errors.As(err, new(*egress.Refused)) || !strings.Contains(err.Error(), "DEPLOYBOT_EGRESS_ALLOW=127.0.0.1/32") {
		t.Fatalf("default client: err = %v, want loopback refused", err)
	}
	s, err := SettingsFromEnv(func(k string) (string, bool) {
		v, ok := map[string]string{"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": "k", "GITHUB_WEBHOOK_SECRET": "s",
			"DEPLOYBOT_EGRESS_ALLOW": "127.0.0.1/32"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := egressClient(s).Do(context.Background(), call); err != nil || hits.Load() != 1 {
		t.Fatalf("opted in: err = %v, %d requests", err, hits.Load())
	}
}
