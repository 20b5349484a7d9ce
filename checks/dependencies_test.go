package checks

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/githubsim"
)

func TestDependenciesGate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    *config.SeverityGate
		seed   func(r *githubsim.Repo)
		want   Verdict
		reason string
		detail []string
	}{
		{name: "no alerts", want: Pass, reason: "no open Dependabot alerts at or above high"},
		{
			name: "alerts below the threshold pass",
			seed: func(r *githubsim.Repo) { r.AddDependabotAlert("npm", "minimist", "medium") },
			want: Pass, reason: "no open Dependabot alerts at or above high",
		},
		{
			name: "high and critical alerts block",
			seed: func(r *githubsim.Repo) {
				r.AddDependabotAlert("npm", "lodash", "high")
				r.AddDependabotAlert("pip", "requests", "low")
				r.AddDependabotAlert("go", "golang.org/x/net", "critical")
			},
			want:   Block,
			reason: "2 open Dependabot alerts at or above high: golang.org/x/net (go, critical), lodash (npm, high)",
			detail: []string{
				"| alert | package | ecosystem | severity | advisory | link |",
				"| #3 | `golang.org/x/net` | go | critical | `GHSA-",
				"[alert](https://github.com/acme/shop/security/dependabot/1) |",
				"Upgrade the affected packages", "gates.dependencies.block_on",
			},
		},
		{
			name: "block_on critical lets high through",
			cfg:  &config.SeverityGate{BlockOn: "critical"},
			seed: func(r *githubsim.Repo) { r.AddDependabotAlert("npm", "lodash", "high") },
			want: Pass, reason: "no open Dependabot alerts at or above critical",
		},
		{
			name: "block_on medium (moderate) blocks on medium",
			cfg:  &config.SeverityGate{BlockOn: "moderate"},
			seed: func(r *githubsim.Repo) { r.AddDependabotAlert("rubygems", "rack", "medium") },
			want: Block, reason: "1 open Dependabot alert at or above medium: rack (rubygems, medium)",
		},
		{
			name: "closed alerts do not count",
			seed: func(r *githubsim.Repo) {
				r.SetAlertState(githubsim.Dependabot, r.AddDependabotAlert("npm", "lodash", "critical"), "dismissed")
				r.SetAlertState(githubsim.Dependabot, r.AddDependabotAlert("npm", "axios", "high"), "fixed")
			},
			want: Pass, reason: "no open Dependabot alerts at or above high",
		},
		{
			name: "disabled: skipped",
			seed: func(r *githubsim.Repo) { r.SetFeature(githubsim.Dependabot, "disabled") },
			want: Skip, reason: "Dependabot alerts are not enabled",
			detail: []string{"**Dependabot alerts: not enabled.** GitHub answered 403: Dependabot alerts are disabled for this repository. To gate",
				"enable Dependabot alerts", "“Dependabot alerts: read”", "Set `if_disabled: block` under `gates.dependencies`"},
		},
		{
			name: "not readable by the app: skipped",
			seed: func(r *githubsim.Repo) { r.SetFeature(githubsim.Dependabot, "forbidden") },
			want: Skip, reason: "Dependabot alerts are not enabled",
			detail: []string{"GitHub answered 403: Resource not accessible by integration"},
		},
		{
			name: "disabled with if_disabled: block",
			cfg:  &config.SeverityGate{BlockOn: "high", IfDisabled: "block"},
			seed: func(r *githubsim.Repo) { r.SetFeature(githubsim.Dependabot, "disabled") },
			want: Block, reason: "Dependabot alerts are not enabled; this environment requires them",
			detail: []string{"set `if_disabled: neutral` under `gates.dependencies`"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			if tc.seed != nil {
				tc.seed(f.repo)
			}
			r := eval(t, Dependencies{Config: tc.cfg}, f.input(&config.Environment{}, f.sha))
			wantResult(t, r, tc.want, tc.reason, tc.detail...)
		})
	}
}

// TestDependenciesGateAllPages follows the after-cursor and asks only for
// the severities that block.
func TestDependenciesGateAllPages(t *testing.T) {
	f := newSim(t)
	for i := range 130 {
		f.repo.AddDependabotAlert("npm", fmt.Sprintf("pkg-%03d", i), "high")
	}
	f.repo.AddDependabotAlert("npm", "left-pad", "low")
	f.sim.ResetRequests()
	r := eval(t, Dependencies{}, f.input(&config.Environment{}, f.sha))
	if r.Verdict != Block || !strings.HasPrefix(r.Reason, "130 open Dependabot alerts at or above high: ") || !strings.HasSuffix(r.Reason, " and 125 more") {
		t.Fatalf("got %s %q", r.Verdict, r.Reason)
	}
	if !strings.Contains(r.Detail, "`pkg-000`") || !strings.Contains(r.Detail, "`pkg-129`") {
		t.Fatalf("detail lacks the first or last alert:\n%s", r.Detail)
	}
	var pages []string
	for _, rq := range f.sim.Requests() {
		if rq.Path == "/repos/acme/shop/dependabot/alerts" {
			pages = append(pages, rq.Query.Get("after"))
			if rq.Query.Get("state") != "open" || rq.Query.Get("severity") != "high,critical" {
				t.Errorf("query %v: want state=open severity=high,critical", rq.Query)
			}
		}
	}
	if len(pages) != 2 || pages[0] != "" || pages[1] == "" {
		t.Fatalf("pages read with after=%q, want two, the second by cursor", pages)
	}
}

func TestDependenciesGateErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
	}{
		{"server error", 500, nil},
		{"rate limited", 403, http.Header{"X-RateLimit-Remaining": {"0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			f.sim.FailNext("GET", "/repos/acme/shop/dependabot/alerts", 1, tc.status, tc.header)
			r, err := Dependencies{}.Evaluate(context.Background(), f.input(&config.Environment{}, f.sha))
			if err == nil {
				t.Fatalf("no error, got %s %q", r.Verdict, r.Reason)
			}
		})
	}
}
