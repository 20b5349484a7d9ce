package app

import (
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// maxInlineWait bounds how long one request may wait before retrying. Longer
// waits (a rate limit resetting in minutes, any secondary limit without
// retry-after) are not slept here: go-github turns the answer into a
// RateLimitError or AbuseRateLimitError and the job snoozes until then — a
// durable timer (deploy.RateLimitSnooze).
const maxInlineWait = 5 * time.Second

// maxRetries bounds the retries of one request; with serverErrorBase the
// three retries of a 5xx all happen within about a second (at most 1.05 s of
// waiting in all).
const (
	maxRetries      = 3
	serverErrorBase = 100 * time.Millisecond
)

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// retryMiddleware retries GitHub's 5xx answers for requests that are safe to
// repeat, and rate-limit refusals (the request had no effect) when the wait
// GitHub asks for (retry-after, x-ratelimit-reset) is short.
func retryMiddleware(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		for attempt := 0; ; attempt++ {
			resp, err := next.RoundTrip(req)
			wait, ok := retryAfter(req, resp, err, attempt, time.Now())
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

// repeatable reports whether a request whose answer was a 5xx may be sent
// again. A 5xx does not say whether the request took effect, so only requests
// that leave the same state when applied twice qualify:
//   - GET, HEAD: reads;
//   - PATCH: deploybot PATCHes a check run, a comment, a release or a ref to a
//     body it computed in full, never a relative change: twice is once;
//   - PUT, DELETE: idempotent by HTTP's definition, and GitHub's use agrees.
//
// POST creates things (a deployment, a deployment status, a comment, a check
// run, a tag, a reaction). Repeated after a lost answer it could make a
// second one, so it goes back to the pipeline step, which runs again within
// about a second (deploy.StepRetryDelay) and first looks for what the lost
// attempt made.
func repeatable(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// serverErrorBackoff is the wait before retry attempt+1 of a 5xx: 100, 200,
// 400 ms, each drawn from [½, 1½)× so that requests GitHub failed together
// do not come back together.
func serverErrorBackoff(attempt int) time.Duration {
	base := serverErrorBase << attempt
	return base/2 + rand.N(base)
}

func retryAfter(req *http.Request, resp *http.Response, err error, attempt int, now time.Time) (time.Duration, bool) {
	if attempt >= maxRetries || err != nil || resp == nil {
		return 0, false
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !repeatable(req.Method) {
			return 0, false
		}
		return serverErrorBackoff(attempt), true
	case http.StatusForbidden, http.StatusTooManyRequests:
		// A refusal for rate limits had no effect: any method may retry.
		// Without retry-after or an exhausted x-ratelimit-remaining (a plain
		// 403, or a secondary limit asking for at least a minute) the answer
		// goes back to the caller.
		if d, ok := deploy.LimitWaitFromHeaders(resp.Header, now); ok {
			return d, d <= maxInlineWait
		}
	}
	return 0, false
}

var _ githubapp.ClientMiddleware = retryMiddleware
