package app

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// webhookEventLabels returns the distinct event labels of
// deploybot_webhooks_total in the App's registry.
func webhookEventLabels(t *testing.T, a *App) []string {
	t.Helper()
	families, err := a.metrics.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "deploybot_webhooks_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "event" {
					seen[l.GetValue()] = true
				}
			}
		}
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func hookRequest(event, delivery, signature string, body io.Reader) *http.Request {
	req := httptest.NewRequest("POST", "/api/github/hook", body)
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	return req
}

// X-GitHub-Event is the sender's text until the signature is verified:
// a thousand unsigned requests with a thousand event names, and signed
// ones with unknown names, add no label values beyond two fixed ones.
func TestWebhookMetricsLabelsAreBounded(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.settle()
	h := s.App.Handler()
	body := []byte(`{"action":"created","installation":{"id":4242}}`)
	for i := range 1000 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, hookRequest(fmt.Sprintf("attacker-%d", i), fmt.Sprintf("u-%d", i), "", bytes.NewReader(body)))
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("unsigned request %d: %d, want 401", i, rec.Code)
		}
	}
	for i := range 20 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, hookRequest(fmt.Sprintf("made-up-%d", i), fmt.Sprintf("s-%d", i), sign(sandboxWebhookSecret, body), bytes.NewReader(body)))
		if rec.Code != http.StatusAccepted {
			t.Fatalf("signed unknown event %d: %d, want 202", i, rec.Code)
		}
	}
	allowed := map[string]bool{"unverified": true, "other": true, "ping": true}
	for ev := range s.App.handlers {
		allowed[ev] = true
	}
	labels := webhookEventLabels(t, s.App)
	for _, l := range labels {
		if !allowed[l] {
			t.Errorf("event label %q comes from a request header", l)
		}
	}
	if len(labels) > len(allowed) {
		t.Errorf("%d event labels: %v", len(labels), labels)
	}
}

// The server bounds how long and how much a client may hold.
func TestServerTimeoutsAreSet(t *testing.T) {
	t.Parallel()
	srv := newServer(":0", http.NotFoundHandler())
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 || d > 5*time.Minute {
			t.Errorf("%s = %v, want set and at most 5m", name, d)
		}
	}
	if srv.ReadTimeout < srv.ReadHeaderTimeout {
		t.Errorf("ReadTimeout %v < ReadHeaderTimeout %v", srv.ReadTimeout, srv.ReadHeaderTimeout)
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d, want set and at most 1 MB", srv.MaxHeaderBytes)
	}
}

// stalledBody is a request body that signals its first read and then
// blocks until released: a client trickling a large delivery.
type stalledBody struct {
	once    sync.Once
	reading chan struct{}
	release chan struct{}
}

func (b *stalledBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.reading) })
	<-b.release
	return 0, io.EOF
}

// When every intake slot holds a stalled request, the next one is answered
// 503 with Retry-After at once; when the slots free up, requests get in.
func TestWebhookIntakeLimitsRequestsInFlight(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	h := s.App.routes(2)
	release := make(chan struct{})
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		b := &stalledBody{reading: make(chan struct{}), release: release}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, hookRequest("issue_comment", fmt.Sprintf("slow-%d", i), "sha256=00", b))
			codes[i] = rec.Code
		}()
		<-b.reading // the request holds a slot
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hookRequest("issue_comment", "third", "sha256=00", bytes.NewReader([]byte(`{}`))))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("third request while two are in flight: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	close(release)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusUnauthorized {
			t.Errorf("stalled request %d ended %d, want 401 (bad signature)", i, c)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, hookRequest("issue_comment", "fourth", "sha256=00", bytes.NewReader([]byte(`{}`))))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("request after the slots freed: %d, want 401", rec.Code)
	}
}
