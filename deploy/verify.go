package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/deploybot/deploybot/config"
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
	checks := r.env.Verify.Health
	if len(checks) == 0 {
		return done("no health checks configured"), nil
	}
	var state healthState
	_ = json.Unmarshal([]byte(r.st.Result), &state)
	if len(state.Checks) != len(checks) {
		state.Checks = make([]healthCheckState, len(checks))
		if err := r.status(ctx, "in_progress", fmt.Sprintf("Verifying: %d health check(s)", len(checks))); err != nil {
			return outcome{}, err
		}
	}
	elapsed := r.svc.now().Sub(r.st.StartedAt)
	wait := time.Duration(0)
	for i, hc := range checks {
		cs := &state.Checks[i]
		cs.URL = hc.URL
		if cs.OK {
			continue
		}
		cs.Attempts++
		cs.OK, cs.Last = r.svc.probe(ctx, hc)
		if cs.OK {
			continue
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
				reason: fmt.Sprintf("health check %s failed after %d attempts: %s", hc.URL, cs.Attempts, cs.Last),
				detail: fmt.Sprintf("%s: %s after %d attempts", hc.URL, cs.Last, cs.Attempts)}, nil
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

// probe makes one health request.
func (s *Service) probe(ctx context.Context, hc config.HealthCheck) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hc.URL, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "deploybot-verify")
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return false, "unreachable: " + err.Error()
	}
	defer resp.Body.Close()
	want := hc.Status
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return false, fmt.Sprintf("HTTP %d, want %d", resp.StatusCode, want)
	}
	if hc.Contains != "" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if !strings.Contains(string(body), hc.Contains) {
			return false, fmt.Sprintf("HTTP %d but body lacks %q", resp.StatusCode, hc.Contains)
		}
	}
	return true, fmt.Sprintf("HTTP %d", resp.StatusCode)
}
