package deploy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/deploybot/deploybot/config"
)

// StepPayload is the step JSON every executor receives (DESIGN.md §7).
type StepPayload struct {
	Action       string   `json:"action"`
	DeploymentID int64    `json:"deployment_id"`
	Repository   string   `json:"repository"`
	Environment  string   `json:"environment"`
	Ref          string   `json:"ref"`
	SHA          string   `json:"sha"`
	PreviousSHA  string   `json:"previous_sha"`
	Strategy     string   `json:"strategy"`
	Step         ExecSpec `json:"step"`
}

// Signature and idempotency headers of the webhook executor.
const (
	SignatureHeader   = "X-Deploybot-Signature-256"
	IdempotencyHeader = "X-Deploybot-Idempotency-Key"
)

// ExecResult is what an executor answered.
type ExecResult struct {
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"` // first 512 bytes, for the record
}

// OK reports a 2xx answer.
func (r ExecResult) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Summary is one line for records.
func (r ExecResult) Summary() string {
	s := fmt.Sprintf("HTTP %d", r.Status)
	if b := strings.TrimSpace(r.Body); b != "" {
		s += ": " + truncate(strings.ReplaceAll(b, "\n", " "), 120)
	}
	return s
}

// WebhookExecutor POSTs signed step JSON to the environment's URL.
type WebhookExecutor struct {
	HTTP   *http.Client // required
	Secret []byte
}

func (s *Service) webhookExecutor() WebhookExecutor {
	return WebhookExecutor{HTTP: s.httpClient(), Secret: s.ExecutorSecret}
}

// Sign returns the X-Deploybot-Signature-256 value for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Run sends one step. A transport error is returned as error (the caller may
// retry with the same idempotency key); any HTTP answer is a result.
func (e WebhookExecutor) Run(ctx context.Context, cfg *config.WebhookExecutor, payload StepPayload, key string) (ExecResult, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return ExecResult{}, err
	}
	timeout := cfg.Timeout.Duration
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		return ExecResult{}, permanentError{fmt.Errorf("executor request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "deploybot")
	req.Header.Set(SignatureHeader, Sign(e.Secret, body))
	req.Header.Set(IdempotencyHeader, key)
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return ExecResult{}, fmt.Errorf("POST %s: %w", cfg.URL, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return ExecResult{Status: resp.StatusCode, Body: string(snippet)}, nil
}
