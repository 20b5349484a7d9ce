package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/store/storetest"
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

// intakeConcurrency is how many deliveries are in flight at once in the
// concurrent benchmarks (the figure issue 9 measures at).
const intakeConcurrency = 32

// benchEcho is deploybot's own check run echoed back (≈ 8 KB): the intake
// skips it after the signature check, without a write.
var benchEcho = func() []byte {
	pad := bytes.Repeat([]byte("x"), 7<<10)
	return []byte(fmt.Sprintf(`{"action":"completed","installation":{"id":4242},"repository":{"full_name":"acme/shop"},`+
		`"check_run":{"id":1,"head_sha":"0123456789abcdef0123456789abcdef01234567","app":{"id":1},"pad":"%s"}}`, pad))
}()

// intakeFigures are one measurement at intakeConcurrency.
type intakeFigures struct {
	perSecond float64
	p50, p99  time.Duration
}

// measureConcurrently sends n signed deliveries of event to h from
// intakeConcurrency workers.
func measureConcurrently(tb testing.TB, h http.Handler, n int, event string, payload []byte, wantCode int) intakeFigures {
	sig := sign(sandboxWebhookSecret, payload)
	run := time.Now().UnixNano()
	var next atomic.Int64
	lats := make([][]time.Duration, intakeConcurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range intakeConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				req := httptest.NewRequest("POST", "/api/github/hook", bytes.NewReader(payload))
				req.Header.Set("X-GitHub-Event", event)
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", run, i))
				req.Header.Set("X-Hub-Signature-256", sig)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(rec, req)
				lats[w] = append(lats[w], time.Since(t0))
				if rec.Code != wantCode {
					tb.Errorf("status %d: %s", rec.Code, rec.Body.String())
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	lat := slices.Concat(lats...)
	if len(lat) == 0 {
		return intakeFigures{}
	}
	slices.Sort(lat)
	return intakeFigures{float64(len(lat)) / elapsed.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100]}
}

// runIntakeConcurrently measures h with b.N deliveries, right after the
// signature-only baseline with as many (the machine's load changes from
// second to second, so each figure has its own baseline next to it), and
// reports deliveries/s, p50/p99 latency and the share of the baseline.
func runIntakeConcurrently(b *testing.B, h http.Handler, event string, payload []byte, wantCode int) {
	base := measureConcurrently(b, signatureOnly(), b.N, event, payload, http.StatusOK)
	b.ReportAllocs()
	b.ResetTimer()
	got := measureConcurrently(b, h, b.N, event, payload, wantCode)
	b.StopTimer()
	b.ReportMetric(got.perSecond, "deliveries/s")
	b.ReportMetric(float64(got.p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(got.p99.Microseconds()), "p99-µs")
	b.ReportMetric(base.perSecond, "baseline-deliveries/s")
	b.ReportMetric(100*got.perSecond/base.perSecond, "%-of-baseline")
}

// signatureOnly checks the signature and answers 200: the floor.
func signatureOnly() http.Handler {
	secret := []byte(sandboxWebhookSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if github.ValidateSignature(r.Header.Get(github.SHA256SignatureHeader), body, secret) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// BenchmarkIntakeConcurrent measures the intake at 32 deliveries in flight:
// the signature-only baseline, then on SQLite (and PostgreSQL when
// DEPLOYBOT_TEST_DATABASE_URL is set) a delivery that is stored (a user's
// comment: group commit) and one that is not (deploybot's own check run).
func BenchmarkIntakeConcurrent(b *testing.B) {
	b.Run("baseline", func(b *testing.B) {
		runIntakeConcurrently(b, signatureOnly(), "issue_comment", benchPayload, http.StatusOK)
	})
	// Each case below measures the baseline again just before itself.
	dbs := []struct{ name, url string }{{"sqlite", ""}}
	if os.Getenv(storetest.EnvVar) != "" {
		dbs = append(dbs, struct{ name, url string }{"postgres", "postgres"})
	}
	for _, db := range dbs {
		for _, tc := range []struct {
			name, event string
			payload     []byte
		}{{"stored", "issue_comment", benchPayload}, {"skipped", "check_run", benchEcho}} {
			b.Run(db.name+"/"+tc.name, func(b *testing.B) {
				url := "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
				if db.url != "" {
					url = storetest.URL(b)
				}
				a := benchApp(b, url)
				runIntakeConcurrently(b, a.Handler(), tc.event, tc.payload, http.StatusAccepted)
			})
		}
	}
}

// benchApp is deploybot on databaseURL with its queue not started (the
// intake alone is measured) and GitHub unreachable.
func benchApp(b *testing.B, databaseURL string) *App {
	ctx := context.Background()
	logger := zerolog.Nop()
	a, err := New(ctx, Settings{
		AppID: 1, PrivateKey: []byte("unused"), WebhookSecret: sandboxWebhookSecret,
		APIURL: "http://127.0.0.1:1/", DatabaseURL: databaseURL, LogFormat: "json",
	}, Options{Logger: &logger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(ctx) })
	return a
}
