package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"
)

// benchPayload is a realistic issue_comment delivery (≈ 8 KB, like GitHub's).
var benchPayload = func() []byte {
	pad := bytes.Repeat([]byte("x"), 7<<10)
	return []byte(fmt.Sprintf(`{"action":"created","installation":{"id":4242},"comment":{"id":1,"body":"/deploy staging","pad":"%s"}}`, pad))
}()

// runIntake drives handler with b.N signed deliveries and reports
// deliveries/s and p50/p99 latency.
func runIntake(b *testing.B, h http.Handler, wantCode int) {
	sig := sign(sandboxWebhookSecret, benchPayload)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/api/github/hook", bytes.NewReader(benchPayload))
		req.Header.Set("X-GitHub-Event", "issue_comment")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", start.UnixNano(), i))
		req.Header.Set("X-Hub-Signature-256", sig)
		w := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(w, req)
		lat = append(lat, time.Since(t0))
		if w.Code != wantCode {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkIntakeBaseline only checks the signature and answers 200: the
// floor that persistence and enqueueing are measured against.
func BenchmarkIntakeBaseline(b *testing.B) {
	secret := []byte(sandboxWebhookSecret)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if github.ValidateSignature(r.Header.Get(github.SHA256SignatureHeader), body, secret) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	runIntake(b, h, http.StatusOK)
}

// BenchmarkIntake is the real intake on SQLite: signature, dedupe by
// delivery id, and the delivery stored and its job enqueued in one
// transaction, then 202.
func BenchmarkIntake(b *testing.B) {
	ctx := context.Background()
	logger := zerolog.Nop()
	a, err := New(ctx, Settings{
		AppID: 1, PrivateKey: []byte("unused"), WebhookSecret: sandboxWebhookSecret,
		APIURL: "http://127.0.0.1:1/", DatabaseURL: "sqlite:" + filepath.Join(b.TempDir(), "bench.db"), LogFormat: "json",
	}, Options{Logger: &logger})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(ctx)
	runIntake(b, a.Handler(), http.StatusAccepted)
}
