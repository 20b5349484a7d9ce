package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
)

// healthState is kept on the verify step between attempts.
type healthState struct {
	Checks []healthCheckState `json:"checks"`
}

type healthCheckState struct {
	URL      string `json:"url"`
	Attempts int    `json:"attempts"`
	OK       bool   `json:"ok"`
	Last     string `json:"last"`
}

const defaultHealthInterval = 10 * time.Second

// verify runs the health checks; a failing one is retried on a durable timer
// (the job snoozes) until its timeout has passed since verification began.
func (r *run) verify(ctx context.Context) (outcome, error) {
	if len(r.env.Verify.Health) == 0 {
		return done("no health checks configured"), nil
	}
	return r.runHealthChecks(ctx, r.env.Verify.Health)
}

// runHealthChecks is one attempt at checks, state kept on the step.
func (r *run) runHealthChecks(ctx context.Context, checks []config.HealthCheck) (outcome, error) {
	var state healthState
	_ = json.Unmarshal([]byte(r.st.Result), &state)
	if len(state.Checks) != len(checks) {
		state.Checks = make([]healthCheckState, len(checks))
	}
	elapsed := r.svc.now().Sub(r.st.StartedAt)
	wait := time.Duration(0)
	for i, hc := range checks {
		cs := &state.Checks[i]
		cs.URL = egress.Redact(hc.URL) // shown and stored: its query may hold a token
		if cs.OK {
			continue
		}
		cs.Attempts++
		var refused bool
		cs.OK, cs.Last, refused = r.svc.probe(ctx, hc)
		if cs.OK {
			continue
		}
		if refused { // no retry changes an address the server does not call
			return outcome{kind: outcomeFail, result: state,
				reason: fmt.Sprintf("health check %s %s", cs.URL, cs.Last),
				detail: fmt.Sprintf("%s: %s", cs.URL, cs.Last)}, nil
		}
		timeout := hc.Timeout.Duration
		if timeout <= 0 {
			timeout = r.env.Verify.Timeout.Duration
		}
		if timeout <= 0 {
			timeout = 5 * time.Minute
		}
		if elapsed >= timeout {
			return outcome{kind: outcomeFail, result: state,
				reason: fmt.Sprintf("health check %s failed after %d attempts: %s", cs.URL, cs.Attempts, cs.Last),
				detail: fmt.Sprintf("%s: %s after %d attempts", cs.URL, cs.Last, cs.Attempts)}, nil
		}
		interval := hc.Interval.Duration
		if interval <= 0 {
			interval = defaultHealthInterval
		}
		interval = min(interval, timeout-elapsed)
		if wait == 0 || interval < wait {
			wait = interval
		}
	}
	if wait > 0 {
		return outcome{kind: outcomeWait, after: wait, result: state, detail: "retrying health checks"}, nil
	}
	return outcome{kind: outcomeDone, result: state, detail: healthSummary(state)}, nil
}

func healthSummary(s healthState) string {
	parts := make([]string, len(s.Checks))
	for i, c := range s.Checks {
		parts[i] = fmt.Sprintf("%s %s (attempt %d)", c.URL, c.Last, c.Attempts)
	}
	return strings.Join(parts, "; ")
}

// Health probes: each within probeTimeout; `contains` looks at the first
// MiB of the body.
const (
	probeTimeout = 10 * time.Second
	probeMaxBody = 1 << 20
)

// probe makes one health request. What it reports is the status code and
// whether `contains` matched: never the body, never the URL's query.
// refused is set when the guard would not call the URL at all.
func (s *Service) probe(ctx context.Context, hc config.HealthCheck) (ok bool, last string, refused bool) {
	call := egress.Call{URL: hc.URL, Header: http.Header{"User-Agent": {"deploybot-verify"}}, Timeout: probeTimeout}
	if hc.Contains != "" {
		call.MaxBody = probeMaxBody
	}
	resp, err := s.httpClient().Do(ctx, call)
	var refusal *egress.Refused
	switch {
	case errors.As(err, &refusal) && refusal.Kind == egress.RefusedBody:
		return false, fmt.Sprintf("body over 1 MiB, so %q was not looked for", hc.Contains), false
	case errors.As(err, &refusal):
		return false, "not called: " + refusal.Reason, true
	case err != nil:
		return false, "unreachable: " + err.Error(), false
	}
	want := hc.Status
	if want == 0 {
		want = http.StatusOK
	}
	if resp.Status != want {
		return false, fmt.Sprintf("HTTP %d, want %d", resp.Status, want), false
	}
	if hc.Contains != "" && !bytes.Contains(resp.Body, []byte(hc.Contains)) {
		return false, fmt.Sprintf("HTTP %d but body lacks %q", resp.Status, hc.Contains), false
	}
	return true, fmt.Sprintf("HTTP %d", resp.Status), false
}
