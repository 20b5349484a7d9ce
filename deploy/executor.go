package deploy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
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
	// CallbackURL is where a webhook executor that answered 202 reports the
	// step's result (absent when deploybot has no public URL).
	CallbackURL string `json:"callback_url,omitempty"`
}

// Signature and idempotency headers of the webhook executor.
const (
	SignatureHeader   = "X-Deploybot-Signature-256"
	IdempotencyHeader = "X-Deploybot-Idempotency-Key"
)

// ExecResult is what an executor answered: its status only. The body is
// the deployer's and may hold anything; it is neither shown nor kept.
type ExecResult struct {
	Status int `json:"status"`
}

// Done reports an answer that means the step is done: 200, 201 or 204
// (202 means accepted, still running; see webhookStep).
func (r ExecResult) Done() bool {
	return r.Status == http.StatusOK || r.Status == http.StatusCreated || r.Status == http.StatusNoContent
}

// Summary is one line for records.
func (r ExecResult) Summary() string { return fmt.Sprintf("HTTP %d", r.Status) }

// defaultExecutorTimeout bounds a webhook step whose config sets none.
const defaultExecutorTimeout = 10 * time.Minute

// MaxExecutorRequest bounds one HTTP request to a webhook executor, whatever
// its timeout: an executor that needs longer answers 202 and reports its
// result by callback, so no job holds a request open for long.
const MaxExecutorRequest = 5 * time.Minute

// NoAnswerError is an executor that gave no complete answer within the
// request's bound (the request reached it, as far as deploybot can tell).
type NoAnswerError struct{ Within time.Duration }

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("no answer within %s", config.D(e.Within))
}

// WebhookExecutor POSTs signed step JSON to the environment's URL.
type WebhookExecutor struct {
	HTTP   egress.Doer // required
	Secret []byte      // the server's executor secret; each repository signs with its own key
}

func (s *Service) webhookExecutor() WebhookExecutor {
	return WebhookExecutor{HTTP: s.httpClient(), Secret: s.ExecutorSecret}
}

// ExecutorKey is the key that signs step JSON for repo ("owner/repo"):
// HMAC-SHA256(secret, repo). A receiver derives it from the server secret
// and the repository it deploys, so a body signed for one repository does
// not verify for another.
func ExecutorKey(secret []byte, repo string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(repo))
	return mac.Sum(nil)
}

// Sign returns the X-Deploybot-Signature-256 value for body under key.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Run sends one step, signed with the payload's repository key, within the
// config's timeout and at most MaxExecutorRequest. A transport error is
// returned as error (the caller may retry with the same idempotency key),
// one that ran out of time as *NoAnswerError; any HTTP answer is a result.
func (e WebhookExecutor) Run(ctx context.Context, cfg *config.WebhookExecutor, payload StepPayload, key string) (ExecResult, error) {
	if len(e.Secret) == 0 {
		return ExecResult{}, permanentError{errors.New("the server has no DEPLOYBOT_EXECUTOR_SECRET, so it cannot sign webhook steps; ask the operator to set it")}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return ExecResult{}, err
	}
	timeout := cfg.Timeout.Duration
	if timeout <= 0 {
		timeout = defaultExecutorTimeout
	}
	timeout = min(timeout, MaxExecutorRequest)
	resp, err := e.HTTP.Do(ctx, egress.Call{
		Method: http.MethodPost, URL: cfg.URL, Body: body, Timeout: timeout,
		Header: http.Header{
			"Content-Type":    {"application/json"},
			"User-Agent":      {"deploybot"},
			SignatureHeader:   {Sign(ExecutorKey(e.Secret, payload.Repository), body)},
			IdempotencyHeader: {key},
		},
	})
	if err != nil {
		if errors.As(err, new(*egress.Refused)) { // an address or URL no retry will change
			return ExecResult{}, permanentError{fmt.Errorf("executor: %w", err)}
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return ExecResult{}, &NoAnswerError{Within: timeout}
		}
		return ExecResult{}, fmt.Errorf("executor: %w", err)
	}
	return ExecResult{Status: resp.Status}, nil
}
