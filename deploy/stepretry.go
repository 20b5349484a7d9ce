package deploy

import (
	"errors"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// A step that fails because GitHub failed for a moment (a 5xx answer, a
// dropped connection) runs again within about a second, not after River's
// default backoff (attempt⁴ seconds: 1 s, 16 s, 81 s, 256 s, ...).
//
// Repeating the step is safe where repeating the request would not be: a
// POST that creates something (a deployment, the record comment, a check
// run, a tag) may have taken effect before its answer was lost, so the HTTP
// middleware never repeats it; the step runs again as "recovering" and first
// looks for what the lost attempt made (the deployment by the id in its
// payload, the comment by its marker, the check run by its external_id, the
// tag by its SHA).
//
// The first fastStepRetries attempts wait 1, 2, 4 and 8 s (±25 % jitter, so
// the steps that one GitHub hiccup failed together do not retry in step).
// After that GitHub is down rather than hiccuping, and River's default
// takes over: its long tail (hours, bounded by the queue's MaxAttempts)
// rides out an outage instead of failing deployments that are mid-deploy.
const (
	fastStepRetries = 4
	fastStepBase    = time.Second
)

// StepRetryDelay is how long after its attempt-th attempt (1-based) a step
// that failed with a transient GitHub error runs again. ok is false when
// River's default backoff applies (other errors, later attempts).
func StepRetryDelay(attempt int, transient bool) (time.Duration, bool) {
	if !transient || attempt < 1 || attempt > fastStepRetries {
		return 0, false
	}
	base := fastStepBase << (attempt - 1)
	return base*3/4 + rand.N(base/2), true // [0.75·base, 1.25·base)
}

// transientError marks a step error as GitHub failing for a moment.
type transientError struct{ error }

func (e transientError) Unwrap() error { return e.error }

func isTransient(err error) bool {
	var t transientError
	return errors.As(err, &t)
}

// transientGitHub reports whether err is a 5xx from GitHub or a transport
// failure on the way to api (GitHub's API base URL). Transport failures
// elsewhere (an executor, a health check) have their own rules.
func transientGitHub(err error, api *url.URL) bool {
	var ge *github.ErrorResponse
	if errors.As(err, &ge) {
		return ge.Response != nil && ge.Response.StatusCode >= 500
	}
	var ue *url.Error
	if errors.As(err, &ue) && api != nil && api.Host != "" {
		u, perr := url.Parse(ue.URL)
		return perr == nil && u.Host == api.Host && strings.HasPrefix(u.Path, api.Path)
	}
	return false
}
