package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

func TestStepRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		name      string
		attempt   int
		transient bool
		lo, hi    time.Duration // 0, 0: River's default applies
	}{
		{"first retry after a 5xx is about a second", 1, true, 750 * time.Millisecond, 1250 * time.Millisecond},
		{"second", 2, true, 1500 * time.Millisecond, 2500 * time.Millisecond},
		{"third", 3, true, 3 * time.Second, 5 * time.Second},
		{"fourth", 4, true, 6 * time.Second, 10 * time.Second},
		{"fifth: GitHub is down, River's long tail", 5, true, 0, 0},
		{"other errors keep River's backoff", 1, false, 0, 0},
		{"no attempt", 0, true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d, ok := StepRetryDelay(tc.attempt, tc.transient)
				if ok != (tc.hi > 0) {
					t.Fatalf("ok = %v", ok)
				}
				if ok && (d < tc.lo || d >= tc.hi) {
					t.Fatalf("delay %v outside [%v, %v)", d, tc.lo, tc.hi)
				}
				seen[d] = true
			}
			if tc.hi > 0 && len(seen) < 2 {
				t.Errorf("no jitter: always %v", seen)
			}
		})
	}
}

func TestTransientGitHub(t *testing.T) {
	api, _ := url.Parse("https://api.github.com/")
	ghErr := func(code int) error {
		return fmt.Errorf("deployment status queued: %w", &github.ErrorResponse{Response: &http.Response{StatusCode: code, Request: &http.Request{}}})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"502 from GitHub", ghErr(502), true},
		{"500 from GitHub", ghErr(500), true},
		{"404 from GitHub", ghErr(404), false},
		{"connection to GitHub reset", &url.Error{Op: "Post", URL: "https://api.github.com/repos/a/b/deployments", Err: io.ErrUnexpectedEOF}, true},
		{"connection to an executor reset", &url.Error{Op: "Post", URL: "https://deploy.example.com/hook", Err: io.ErrUnexpectedEOF}, false},
		{"cancelled", context.Canceled, false},
		{"anything else", errors.New("bad config"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := transientGitHub(tc.err, api); got != tc.want {
				t.Fatalf("transientGitHub = %v, want %v", got, tc.want)
			}
		})
	}
}

// The step worker hands River the short delay only for the attempt that
// GitHub failed for a moment, and only once.
func TestStepWorkerNextRetry(t *testing.T) {
	now := time.Now()
	job := func(id int64, attempt int) *river.Job[StepArgs] {
		return &river.Job[StepArgs]{JobRow: &rivertype.JobRow{ID: id, Attempt: attempt, MaxAttempts: 12}}
	}
	transient := transientError{errors.New("502")}
	for _, tc := range []struct {
		name    string
		attempt int
		err     error
		lo, hi  time.Duration // 0: River's default (zero time)
	}{
		{"5xx on the first attempt: about a second", 1, transient, 750 * time.Millisecond, 1250 * time.Millisecond},
		{"5xx on the third attempt: about four seconds", 3, transient, 3 * time.Second, 5 * time.Second},
		{"5xx on the sixth attempt: River's backoff", 6, transient, 0, 0},
		{"another error: River's backoff", 1, errors.New("config"), 0, 0},
		{"success", 1, nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &stepWorker{}
			j := job(42, tc.attempt)
			w.planRetry(j, tc.err, now)
			at := w.NextRetry(j)
			if tc.hi == 0 {
				if !at.IsZero() {
					t.Fatalf("NextRetry = %v after now, want River's default", at.Sub(now))
				}
				return
			}
			if d := at.Sub(now); d < tc.lo || d >= tc.hi {
				t.Fatalf("NextRetry in %v, want [%v, %v)", d, tc.lo, tc.hi)
			}
			if again := w.NextRetry(j); !again.IsZero() {
				t.Fatal("the planned retry was not consumed")
			}
		})
	}
}

// refusal builds the error go-github makes of a refused answer.
// GitHub's secondary-limit answers link the docs section on them, which
// is how go-github tells them apart.
func refusal(t *testing.T, status int, message string, h http.Header) error {
	t.Helper()
	doc := "https://docs.github.com/rest"
	if strings.Contains(message, "secondary") {
		doc = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	}
	resp := &http.Response{StatusCode: status, Header: h, Request: &http.Request{Method: "POST", URL: &url.URL{Path: "/x"}},
		Body: io.NopCloser(strings.NewReader(`{"message":"` + message + `","documentation_url":"` + doc + `"}`))}
	err := github.CheckResponse(resp)
	if err == nil {
		t.Fatal("not an error")
	}
	return err
}

// GitHub's rules: retry-after, then x-ratelimit-reset when nothing remains,
// then at least a minute, doubling on repeats up to the cap.
func TestRateLimitRules(t *testing.T) {
	in := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }
	const secondary = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	const primary = "API rate limit exceeded for installation ID 42."
	minute := time.Minute
	for _, tc := range []struct {
		name    string
		err     func(t *testing.T) error
		repeats int
		lo, hi  time.Duration // 0, 0: not a rate limit
		second  bool          // rule 3 applied
	}{
		{"primary: retry-after first", func(t *testing.T) error {
			return refusal(t, 403, primary, http.Header{"Retry-After": {"30"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {in(time.Hour)}})
		}, 0, 30 * time.Second, 30 * time.Second, false},
		{"primary: remaining 0 waits for the reset", func(t *testing.T) error {
			return refusal(t, 403, primary, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {in(10 * time.Minute)}})
		}, 0, 10*time.Minute - 2*time.Second, 10*time.Minute + 2*time.Second, false},
		{"secondary: retry-after", func(t *testing.T) error {
			return refusal(t, 403, secondary, http.Header{"Retry-After": {"90"}, "X-Ratelimit-Remaining": {"4000"}, "X-Ratelimit-Reset": {in(time.Hour)}})
		}, 3, 90 * time.Second, 90 * time.Second, false},
		{"secondary: remaining 0 waits for the reset", func(t *testing.T) error {
			return refusal(t, 429, secondary, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {in(3 * time.Minute)}})
		}, 0, 3*time.Minute - 2*time.Second, 3*time.Minute + 2*time.Second, false},
		{"secondary with requests remaining: a minute, not the primary reset", func(t *testing.T) error {
			return refusal(t, 403, secondary, http.Header{"X-Ratelimit-Remaining": {"4000"}, "X-Ratelimit-Reset": {in(40 * time.Minute)}})
		}, 0, minute, minute + minute/10 + 1, true},
		{"secondary without headers: a minute", func(t *testing.T) error { return refusal(t, 403, secondary, http.Header{}) },
			0, minute, minute + minute/10 + 1, true},
		{"repeat 1: two minutes", func(t *testing.T) error { return refusal(t, 403, secondary, http.Header{}) },
			1, 2 * minute, 2*minute + 2*minute/10 + 1, true},
		{"repeat 2: four", func(t *testing.T) error { return refusal(t, 403, secondary, http.Header{}) },
			2, 4 * minute, 4*minute + 4*minute/10 + 1, true},
		{"repeat 3: eight", func(t *testing.T) error { return refusal(t, 403, secondary, http.Header{}) },
			3, 8 * minute, 8*minute + 8*minute/10 + 1, true},
		{"repeat 9: capped at sixteen", func(t *testing.T) error { return refusal(t, 403, secondary, http.Header{}) },
			9, SecondaryLimitCap, SecondaryLimitCap + SecondaryLimitCap/10 + 1, true},
		{"429 without headers (go-github sees no limit): a minute", func(t *testing.T) error {
			return refusal(t, 429, "Too Many Requests", http.Header{"X-Ratelimit-Remaining": {"10"}})
		}, 0, minute, minute + minute/10 + 1, true},
		{"429 with retry-after", func(t *testing.T) error {
			return refusal(t, 429, "Too Many Requests", http.Header{"Retry-After": {"5"}})
		},
			0, 5 * time.Second, 5 * time.Second, false},
		{"a plain 403 is no rate limit", func(t *testing.T) error {
			return refusal(t, 403, "Resource not accessible by integration", http.Header{})
		},
			0, 0, 0, false},
		{"a 502 is no rate limit", func(t *testing.T) error { return refusal(t, 502, "Server Error", http.Header{}) },
			0, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fmt.Errorf("step: %w", tc.err(t))
			wait, ok, second := RateLimitBackoff(err, tc.repeats)
			if ok != (tc.hi > 0) {
				t.Fatalf("rate limited = %v (%T)", ok, errors.Unwrap(err))
			}
			if !ok {
				return
			}
			if second != tc.second {
				t.Errorf("secondary back-off = %v, want %v", second, tc.second)
			}
			if wait < tc.lo || wait > tc.hi {
				t.Errorf("wait %v, want [%v, %v]", wait, tc.lo, tc.hi)
			}
			// A job reads its repeats from its metadata.
			meta := []byte(`{"snoozes":7,"` + secondaryLimitsKey + `":` + strconv.Itoa(tc.repeats) + `}`)
			snooze, swait, sok := RateLimitSnooze(context.Background(), &rivertype.JobRow{Metadata: meta}, err)
			var js *river.JobSnoozeError
			if !sok || !errors.As(snooze, &js) || swait < tc.lo || swait > tc.hi {
				t.Errorf("RateLimitSnooze = %v %v %v", snooze, swait, sok)
			}
		})
	}
}
