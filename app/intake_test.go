package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
)

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func postHook(t *testing.T, url, event, delivery, signature string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/github/hook", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWebhookIntake(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	url := s.Server.URL
	s.settle()
	base, err := s.App.Store.CountDeliveries(context.Background()) // the emulator's own pushes
	if err != nil {
		t.Fatal(err)
	}
	good := []byte(`{"action":"created","installation":{"id":4242}}`)
	for _, tc := range []struct {
		name      string
		event     string
		delivery  string
		body      []byte
		signature string
		wantCode  int
		wantStore int // deliveries stored after this request, cumulative
	}{
		{name: "bad signature", event: "issue_comment", delivery: "d-1", body: good, signature: sign("wrong", good), wantCode: 401},
		{name: "no signature", event: "issue_comment", delivery: "d-2", body: good, wantCode: 401},
		{name: "signature of another body", event: "issue_comment", delivery: "d-3", body: good, signature: sign(sandboxWebhookSecret, []byte("{}")), wantCode: 401},
		{name: "malformed json", event: "issue_comment", delivery: "d-4", body: []byte(`{"action":`), signature: sign(sandboxWebhookSecret, []byte(`{"action":`)), wantCode: 400},
		{name: "missing delivery id", event: "issue_comment", delivery: "", body: good, signature: sign(sandboxWebhookSecret, good), wantCode: 400},
		{name: "unknown event is accepted and ignored", event: "star", delivery: "d-5", body: good, signature: sign(sandboxWebhookSecret, good), wantCode: 202},
		{name: "ping is accepted and ignored", event: "ping", delivery: "d-6", body: good, signature: sign(sandboxWebhookSecret, good), wantCode: 202},
		{name: "valid delivery is stored", event: "issue_comment", delivery: "d-7", body: good, signature: sign(sandboxWebhookSecret, good), wantCode: 202, wantStore: 1},
		{name: "redelivery is deduplicated", event: "issue_comment", delivery: "d-7", body: good, signature: sign(sandboxWebhookSecret, good), wantCode: 202, wantStore: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postHook(t, url, tc.event, tc.delivery, tc.signature, tc.body)
			if code != tc.wantCode {
				t.Fatalf("status %d (%s), want %d", code, body, tc.wantCode)
			}
			n, err := s.App.Store.CountDeliveries(context.Background())
			if err != nil || n-base != tc.wantStore {
				t.Fatalf("stored deliveries = %d (+%d), %v; want +%d", n, n-base, err, tc.wantStore)
			}
		})
	}

	t.Run("body over 25 MB", func(t *testing.T) {
		big := bytes.Repeat([]byte(" "), 25<<20+1)
		code, _ := postHook(t, url, "issue_comment", "d-big", sign(sandboxWebhookSecret, big), big)
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", code)
		}
	})
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	s.comment(pr, "walt", "/deploy staging")
	s.deploymentsFinished(1)
	get := func(path string) (int, string) {
		resp, err := http.Get(s.Server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/readyz", "ready"},
		{"/metrics", `deploybot_webhooks_total{event="issue_comment",outcome="queued"}`},
		{"/metrics", `deploybot_github_requests_total{method="POST",status="201"}`},
		{"/metrics", `deploybot_webhooks_total{event="deployment_status",outcome="skipped"}`}, // deploybot's own echoes
		{"/metrics", `deploybot_intake_commits_total`},
	} {
		code, body := get(tc.path)
		if code != 200 || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s = %d, want 200 containing %q:\n%.600s", tc.path, code, tc.want, body)
		}
	}
}
