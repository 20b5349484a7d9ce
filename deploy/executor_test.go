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
