package deploy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
)

func TestExecutorKeyIsPerRepository(t *testing.T) {
	secret := []byte("server-executor-secret")
	body := []byte(`{"action":"deploy","repository":"acme/shop"}`)
	sig := Sign(ExecutorKey(secret, "acme/shop"), body)
	if sig != Sign(ExecutorKey(secret, "acme/shop"), body) {
		t.Fatal("the key is not deterministic")
	}
	if sig == Sign(ExecutorKey(secret, "acme/other"), body) {
		t.Error("a body signed for acme/shop verifies for acme/other")
	}
	if bytes.Equal(ExecutorKey(secret, "acme/shop"), secret) || sig == Sign(secret, body) {
		t.Error("the repository's key is the raw server secret")
	}
}

// The webhook executor signs with the repository's key, keeps the
// repository in the signed body, and copies nothing of the answer.
func TestWebhookExecutorSignsPerRepositoryAndEchoesNothing(t *testing.T) {
	secret := []byte("server-executor-secret")
	var gotBody []byte
	var gotSig string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotSig = r.Header.Get(SignatureHeader)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "deploy failed: DATABASE_PASSWORD=SECRET-VALUE")
	}))
	defer srv.Close()
	e := WebhookExecutor{HTTP: testHTTP(), Secret: secret}
	res, err := e.Run(context.Background(), &config.WebhookExecutor{URL: srv.URL + "/hooks?token=SECRET"},
		StepPayload{Action: "deploy", Repository: "acme/shop", SHA: "abc"}, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gotBody), `"repository":"acme/shop"`) {
		t.Errorf("signed body %s lacks the repository", gotBody)
	}
	if gotSig != Sign(ExecutorKey(secret, "acme/shop"), gotBody) {
		t.Errorf("signature %s is not made with acme/shop's key", gotSig)
	}
	if res.Status != http.StatusInternalServerError || res.Summary() != "HTTP 500" {
		t.Errorf("result = %+v, summary %q; want the status only", res, res.Summary())
	}
}

func TestExecutorErrorsNameTheHostOnly(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	u := dead.URL
	dead.Close()
	e := WebhookExecutor{HTTP: testHTTP(), Secret: []byte("s")}
	_, err := e.Run(context.Background(), &config.WebhookExecutor{URL: u + "/hooks?token=SECRET", Timeout: config.Duration{Duration: time.Minute}},
		StepPayload{Repository: "acme/shop"}, "k")
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("err = %v; want an error naming the host, without the query", err)
	}
}

// recordingDoer notes each call's timeout and passes it on.
type recordingDoer struct {
	next     egress.Doer
	timeouts []time.Duration
}

func (r *recordingDoer) Do(ctx context.Context, c egress.Call) (*egress.Response, error) {
	r.timeouts = append(r.timeouts, c.Timeout)
	return r.next.Do(ctx, c)
}

// An executor request gets its own configured timeout, at most
// MaxExecutorRequest (a longer step answers 202 and calls back), and no
// client-wide limit cuts it (the client has none: see egress).
func TestWebhookExecutorUsesItsOwnTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, tc := range []struct {
		configured, want time.Duration
	}{{24 * time.Hour, MaxExecutorRequest}, {90 * time.Second, 90 * time.Second}, {0, MaxExecutorRequest}} {
		rec := &recordingDoer{next: testHTTP()}
		e := WebhookExecutor{HTTP: rec, Secret: []byte("s")}
		if _, err := e.Run(context.Background(), &config.WebhookExecutor{URL: srv.URL, Timeout: config.Duration{Duration: tc.configured}},
			StepPayload{Repository: "acme/shop"}, "k"); err != nil {
			t.Fatal(err)
		}
		if len(rec.timeouts) != 1 || rec.timeouts[0] != tc.want {
			t.Errorf("configured %s: calls with timeouts %v, want one with %s", tc.configured, rec.timeouts, tc.want)
		}
	}
}

// An executor URL pointing inside deploybot's network is refused for good
// (no retry can change it), naming the host.
func TestWebhookExecutorRefusesPrivateAddresses(t *testing.T) {
	e := WebhookExecutor{HTTP: egress.New(egress.Options{}), Secret: []byte("s")}
	_, err := e.Run(context.Background(), &config.WebhookExecutor{URL: "http://169.254.169.254/hooks?token=SECRET"}, StepPayload{Repository: "acme/shop"}, "k")
	if !permanent(err) || !strings.Contains(err.Error(), "169.254.169.254 is a link-local address: not allowed") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %v", err)
	}
}

// Without a server secret every repository's key would be public
// (HMAC of an empty key), so a webhook step is refused, never sent unsigned.
func TestWebhookExecutorNeedsTheServerSecret(t *testing.T) {
	called := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
	defer srv.Close()
	e := WebhookExecutor{HTTP: testHTTP()}
	_, err := e.Run(context.Background(), &config.WebhookExecutor{URL: srv.URL}, StepPayload{Repository: "acme/shop"}, "k")
	if !permanent(err) || !strings.Contains(err.Error(), "DEPLOYBOT_EXECUTOR_SECRET") || called {
		t.Fatalf("err = %v, executor called: %v", err, called)
	}
}
