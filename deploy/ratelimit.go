package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/deploybot/deploybot/internal/pacer"
)

// GitHub's rules for a refused request ("Rate limits for the REST API",
// handling rate limit errors), in this order:
//
//  1. retry-after present: wait that many seconds;
//  2. x-ratelimit-remaining is 0: wait until x-ratelimit-reset;
//  3. otherwise (a secondary limit without either): wait at least a minute,
//     exponentially longer when the limit repeats.
//
// The same rules serve the HTTP middleware (which sleeps only short waits)
// and the jobs (which snooze: a durable timer).

// Secondary limits without a header: a minute, doubling on each repeat up to
// SecondaryLimitCap, plus up to 10 % jitter so the jobs of one installation,
// refused together, do not all come back in the same second.
const (
	SecondaryLimitFloor = time.Minute
	SecondaryLimitCap   = 16 * time.Minute
)

// LimitWaitFromHeaders applies rules 1 and 2 to a refused answer's headers.
// ok is false when neither header applies (rule 3 is the caller's, since only
// it knows how often the limit repeated).
func LimitWaitFromHeaders(h http.Header, now time.Time) (time.Duration, bool) {
	if s := h.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// A second past the reset: GitHub's clock and ours differ a little.
			return max(time.Unix(reset, 0).Sub(now)+time.Second, time.Second), true
		}
	}
	return 0, false
}

// SecondaryLimitBackoff is rule 3: the wait after a secondary limit that
// came without retry-after, repeats being how many came before it.
func SecondaryLimitBackoff(repeats int) time.Duration {
	d := SecondaryLimitCap
	if repeats < 5 { // 1, 2, 4, 8 min; 16 from the fifth on
		d = min(SecondaryLimitFloor<<max(repeats, 0), SecondaryLimitCap)
	}
	return d + rand.N(d/10+1)
}

// RateLimitWait reports how long to wait when GitHub refused a request for
// rate limits, so the job can snooze (a durable timer) until then. A
// secondary limit without headers waits the first back-off step; jobs that
// know how often they were refused use RateLimitBackoff.
func RateLimitWait(err error) (time.Duration, bool) {
	d, ok, _ := RateLimitBackoff(err, 0)
	return d, ok
}

// RateLimitBackoff is RateLimitWait for the repeats-th refusal in a row;
// secondary says whether rule 3 applied (the caller counts those repeats).
func RateLimitBackoff(err error, repeats int) (wait time.Duration, ok, secondary bool) {
	now := time.Now()
	var pw *pacer.WaitError
	if errors.As(err, &pw) {
		// deploybot's own write pacer (internal/pacer): nothing was sent;
		// the budget has room again after pw.Wait.
		return max(pw.Wait, time.Millisecond), true, false
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		if rl.Response != nil {
			if d, ok := LimitWaitFromHeaders(rl.Response.Header, now); ok {
				return d, true, false
			}
		}
		return max(rl.Rate.Reset.Time.Sub(now)+time.Second, time.Second), true, false
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		var h http.Header
		if ab.Response != nil {
			h = ab.Response.Header
		}
		if d, ok := LimitWaitFromHeaders(h, now); ok {
			return max(d, time.Second), true, false
		}
		// go-github also fills RetryAfter from x-ratelimit-reset, which GitHub
		// sends on every answer: with requests remaining that is the primary
		// window's reset, not a wait for this limit. Only a RetryAfter with no
		// such header behind it is taken as given.
		if h.Get("X-RateLimit-Reset") == "" && ab.GetRetryAfter() > 0 {
			return ab.GetRetryAfter(), true, false
		}
		return SecondaryLimitBackoff(repeats), true, true
	}
	// go-github recognises a limit only in a 403, and a secondary one only by
	// its documentation_url; GitHub also answers 429, and its messages say
	// "rate limit". Those are limits too, under the same rules.
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && limitAnswer(ge) {
		if d, ok := LimitWaitFromHeaders(ge.Response.Header, now); ok {
			return max(d, time.Second), true, false
		}
		return SecondaryLimitBackoff(repeats), true, true
	}
	return 0, false, false
}

func limitAnswer(ge *github.ErrorResponse) bool {
	switch ge.Response.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		return ge.Response.Header.Get("Retry-After") != "" || strings.Contains(strings.ToLower(ge.Message), "rate limit")
	}
	return false
}

// secondaryLimitsKey counts, in a job's metadata, the secondary limits
// without headers it met, so each repeat waits longer.
const secondaryLimitsKey = "deploybot_secondary_limits"

// RateLimitSnooze turns a rate-limit refusal met by a job into the snooze
// GitHub's rules ask for. job is the job's row (nil: no repeats known); ctx
// its work context (the repeat count is stored there). ok is false for other
// errors.
func RateLimitSnooze(ctx context.Context, job *rivertype.JobRow, err error) (snooze error, wait time.Duration, ok bool) {
	var repeats int
	if job != nil {
		var m map[string]json.RawMessage
		if json.Unmarshal(job.Metadata, &m) == nil {
			_ = json.Unmarshal(m[secondaryLimitsKey], &repeats)
		}
	}
	wait, ok, secondary := RateLimitBackoff(err, repeats)
	if !ok {
		return nil, 0, false
	}
	if secondary {
		// Best effort: outside a worker there is no count to keep.
		_ = river.MetadataSet(ctx, secondaryLimitsKey, repeats+1)
	}
	return river.JobSnooze(wait), wait, true
}
