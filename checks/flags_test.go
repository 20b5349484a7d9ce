package checks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
)

func TestFlags(t *testing.T) {
	const doc = `{
		"features": {"checkout": {"enabled": true, "variant": "b"}, "search.v2": {"enabled": false}},
		"rollout": [{"percent": 10.0}, {"percent": 50}],
		"limits": {"rps": 1.0, "ratio": 0.1, "big": 12345678901234567890},
		"legacy": null
	}`
	var gotAccept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAccept = r.Header.Get("Accept")
		switch r.URL.Path {
		case "/flags":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(doc))
		case "/down":
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		case "/html":
			w.Write([]byte("<html>login</html>"))
		case "/huge":
			w.Write([]byte(`{"pad": "` + strings.Repeat("x", 1<<20) + `"}`))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	}))
	defer srv.Close()
	env := &config.Environment{Name: "production"}

	for _, tc := range []struct {
		name   string
		path   string
		expect map[string]any // as YAML decodes it
		want   Verdict
		reason []string
		detail []string
	}{
		{"all as expected", "/flags?token=s3cret", map[string]any{
			"features.checkout.enabled": true, "features.checkout.variant": "b",
			"limits.rps": 1, "limits.ratio": 0.1, "rollout.0.percent": 10, "rollout.1.percent": 50.0,
			"features.search.v2.enabled": false, "legacy": nil, "limits.big": uint64(12345678901234567890),
		}, Pass, []string{"9 flags as expected"}, []string{"`features.checkout.enabled`"}},
		{"one flag", "/flags", map[string]any{"features.checkout.enabled": true}, Pass,
			[]string{"features.checkout.enabled is true as expected"}, nil},
		{"mismatch and missing", "/flags", map[string]any{
			"features.checkout.enabled": false, "features.checkout.color": "red", "limits.rps": "1", "rollout.2.percent": 100,
		}, Block, []string{
			"4 flags differ", "features.checkout.enabled is a boolean, expected false", "features.checkout.color is missing, expected \"red\"",
			"limits.rps is a number, expected \"1\"", "rollout.2.percent is missing",
		}, []string{"Set the flags in the flag service"}},
		{"number differs", "/flags", map[string]any{"limits.ratio": 0.2}, Block, []string{"limits.ratio is a number, expected 0.2"}, nil},
		{"non-2xx", "/down?token=s3cret", map[string]any{"a": true}, Block, []string{"answered 503 Service Unavailable", "/down?…"}, nil},
		{"not JSON", "/html", map[string]any{"a": true}, Block, []string{"did not answer JSON"}, nil},
		{"body over 1 MiB", "/huge", map[string]any{"a": true}, Block, []string{"more than 1 MiB"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Flags{Config: &config.FlagsGate{URL: srv.URL + tc.path, Expect: tc.expect}}
			r := eval(t, g, Input{Environment: env, HTTP: loopbackHTTP()})
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), want %s", r.Verdict, r.Reason, tc.want)
			}
			for _, s := range tc.reason {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q lacks %q", r.Reason, s)
				}
			}
			for _, s := range tc.detail {
				if !strings.Contains(r.Detail, s) {
					t.Errorf("detail %q lacks %q", r.Detail, s)
				}
			}
			if strings.Contains(r.Reason+r.Detail, "s3cret") {
				t.Errorf("the URL's query is shown: %q %q", r.Reason, r.Detail)
			}
		})
	}
	if gotAccept != "application/json" {
		t.Errorf("Accept = %q", gotAccept)
	}

	t.Run("network error", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		u := dead.URL
		dead.Close()
		g := Flags{Config: &config.FlagsGate{URL: u + "/flags?token=s3cret", Expect: map[string]any{"a": true}}}
		_, err := g.Evaluate(context.Background(), Input{Environment: env, HTTP: loopbackHTTP()})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("err = %v; want an error without the query", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		g := Flags{Config: &config.FlagsGate{URL: srv.URL + "/slow", Expect: map[string]any{"a": true}}}
		if _, err := g.Evaluate(ctx, Input{Environment: env, HTTP: loopbackHTTP()}); err == nil {
			t.Fatal("no error from a flag service that does not answer")
		}
	})
}
