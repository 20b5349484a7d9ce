package app

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
)

// maxInlineWait bounds how long one request may wait before retrying. Longer
// waits (a rate limit resetting in minutes) are not slept here: go-github
// turns the answer into a RateLimitError and the pipeline snoozes its job
// until the reset — a durable timer.
const maxInlineWait = 5 * time.Second

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// retryMiddleware retries GitHub's 5xx answers for requests that are safe to
// repeat, and rate-limit refusals (the request had no effect) when the wait
// GitHub asks for (Retry-After, x-ratelimit-reset) is short.
func retryMiddleware(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		for attempt := 0; ; attempt++ {
			resp, err := next.RoundTrip(req)
			wait, ok := retryAfter(req, resp, err, attempt)
			if !ok || (req.Body != nil && req.GetBody == nil) {
				return resp, err
			}
			if req.GetBody != nil {
				body, berr := req.GetBody()
				if berr != nil {
					return resp, err
				}
				req.Body = body
			}
			if resp != nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
			}
			t := time.NewTimer(wait)
			select {
			case <-req.Context().Done():
				t.Stop()
				return nil, req.Context().Err()
			case <-t.C:
			}
		}
	})
}

func retryAfter(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if attempt >= 3 || err != nil || resp == nil {
		return 0, false
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if req.Method == http.MethodPost {
			return 0, false // may have taken effect; the pipeline's step recovery decides
		}
		return time.Duration(200<<attempt) * time.Millisecond, true
	case http.StatusForbidden, http.StatusTooManyRequests:
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, perr := strconv.Atoi(s); perr == nil {
				d := time.Duration(secs) * time.Second
				return d, d <= maxInlineWait
			}
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, perr := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); perr == nil {
				d := time.Until(time.Unix(reset, 0)) + 500*time.Millisecond
				return max(d, 0), d <= maxInlineWait
			}
		}
	}
	return 0, false
}

var _ githubapp.ClientMiddleware = retryMiddleware
