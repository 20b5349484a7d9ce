package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/store/storetest"
)

// How a fuzz input is signed.
const (
	fuzzSigned      = iota // correct signature
	fuzzUnsigned           // no signature header
	fuzzCorrupted          // correct signature with one hex digit changed
	fuzzWrongSecret        // signed with another secret
	fuzzSignatureKinds
)

// fuzzApp is deploybot with its queue not started (the fuzz target runs the
// delivery worker itself) and GitHub unreachable: the emulator is closed, so
// any request a handler makes fails at once and no input reaches a network.
func fuzzApp(f *testing.F) *App {
	sim := githubsim.New(githubsim.Options{AppID: 1, AppSlug: "deploybot"})
	sim.Close()
	logger := zerolog.Nop()
	a, err := New(context.Background(), Settings{
		AppID: 1, PrivateKey: sim.PrivateKeyPEM(), WebhookSecret: sandboxWebhookSecret, APIURL: sim.URL,
		WebURL: "https://github.com/", DatabaseURL: storetest.URL(f), ExecutorSecret: sandboxExecutorSecret,
		PublicURL: "http://deploybot.invalid", LogFormat: "json",
	}, Options{Logger: &logger})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close(context.Background()) })
	return a
}

// FuzzWebhookIntake feeds arbitrary bodies and headers through the webhook
// intake and the delivery worker: nothing panics, nothing unverified is
// stored, and a stored payload without a repository is cancelled at once
// (or needs no work), never retried.
func FuzzWebhookIntake(f *testing.F) {
	f.Add([]byte(`{"action":"created","installation":{"id":4242}}`), "issue_comment", "seed-1", byte(fuzzSigned))
	f.Add([]byte(`{"action":5}`), "check_run", "seed-2", byte(fuzzSigned))
	f.Add([]byte(`{}`), "push", "seed-3", byte(fuzzUnsigned))
	a := fuzzApp(f)
	h := a.Handler()
	worker := &deliveryWorker{app: a}
	f.Fuzz(func(t *testing.T, body []byte, event, delivery string, sigKind byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, before := a.Store.Delivery(ctx, delivery)
		existed := before == nil

		req := httptest.NewRequest("POST", "/api/github/hook", bytes.NewReader(body))
		setHeader(req, "X-GitHub-Event", event)
		setHeader(req, "X-GitHub-Delivery", delivery)
		signed := sigKind%fuzzSignatureKinds == fuzzSigned
		switch sigKind % fuzzSignatureKinds {
		case fuzzSigned:
			req.Header.Set("X-Hub-Signature-256", sign(sandboxWebhookSecret, body))
		case fuzzCorrupted:
			sig := []byte(sign(sandboxWebhookSecret, body))
			i := len("sha256=") + int(sigKind)%(len(sig)-len("sha256="))
			sig[i] = "0123456789abcdef"[(bytes.IndexByte([]byte("0123456789abcdef"), sig[i])+1)%16]
			req.Header.Set("X-Hub-Signature-256", string(sig))
		case fuzzWrongSecret:
			req.Header.Set("X-Hub-Signature-256", sign("not-the-secret", body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		d, err := a.Store.Delivery(ctx, delivery)
		stored := err == nil && !existed
		if !signed {
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("unverified request answered %d, want 401", rec.Code)
			}
			if stored {
				t.Fatalf("unverified request stored as delivery %q", delivery)
			}
			return
		}
		if !stored {
			return
		}
		if rec.Code != http.StatusAccepted {
			t.Fatalf("stored delivery answered %d, want 202", rec.Code)
		}
		if !bytes.Equal(d.Payload, body) || d.Event != event {
			t.Fatalf("stored %s %q, received %s %q", d.Event, d.Payload, event, body)
		}
		err = worker.Work(ctx, &river.Job[DeliveryArgs]{Args: DeliveryArgs{ID: delivery}})
		var cancelled *river.JobCancelError
		if err != nil && !errors.As(err, &cancelled) && !hasRepository(body) {
			t.Fatalf("payload without a repository would be retried: %v", err)
		}
	})
}

// setHeader sets a header the way a client could send it: values with
// bytes no HTTP/1.1 client can put in a header are left out.
func setHeader(r *http.Request, name, value string) {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c == 0x7f {
			return
		}
	}
	r.Header.Set(name, value)
}

// hasRepository reports whether a payload carries a repository object,
// which every event deploybot acts on needs.
func hasRepository(body []byte) bool {
	var p struct {
		Repository json.RawMessage `json:"repository"`
	}
	if json.Unmarshal(body, &p) != nil {
		return false
	}
	var obj map[string]any
	return json.Unmarshal(p.Repository, &obj) == nil && obj != nil
}
