package deploy

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

func TestErrorClassification(t *testing.T) {
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Request: &http.Request{}} }
	reset := time.Now().Add(10 * time.Minute)
	retryAfter := 90 * time.Second
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		wait      time.Duration // 0: not rate limited
	}{
		{"422 is permanent", &github.ErrorResponse{Response: resp(422)}, true, 0},
		{"404 is permanent", fmt.Errorf("wrapped: %w", &github.ErrorResponse{Response: resp(404)}), true, 0},
		{"409 is retried", &github.ErrorResponse{Response: resp(409)}, false, 0},
		{"502 is retried", &github.ErrorResponse{Response: resp(502)}, false, 0},
		{"network error is retried", errors.New("connection reset"), false, 0},
		{"primary rate limit waits for the reset", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: reset}}, Response: resp(403)}, false, 10 * time.Minute},
		{"secondary rate limit honours Retry-After", &github.AbuseRateLimitError{RetryAfter: &retryAfter, Response: resp(403)}, false, retryAfter},
		{"explicit permanent", permanentError{errors.New("bad spec")}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := permanent(tc.err); got != tc.permanent && tc.wait == 0 {
				t.Errorf("permanent = %v, want %v", got, tc.permanent)
			}
			wait, limited := RateLimitWait(tc.err)
			if limited != (tc.wait > 0) {
				t.Fatalf("RateLimitWait = %v, want %v", limited, tc.wait > 0)
			}
			if limited && (wait < tc.wait-5*time.Second || wait > tc.wait+5*time.Second) {
				t.Errorf("wait = %v, want about %v", wait, tc.wait)
			}
		})
	}
}
