package checks

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/githubsim"
)

func TestSecurityGate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    *config.SeverityGate
		seed   func(r *githubsim.Repo)
		want   Verdict
		reason string
		detail []string
	}{
		{
			name: "no alerts", want: Pass,
			reason: "no open code scanning or secret scanning alerts at or above high",
		},
		{
			name: "alerts below the threshold pass",
			seed: func(r *githubsim.Repo) {
				r.AddCodeScanningAlert("medium", "go/weak-crypto", "Weak crypto")
				r.AddCodeScanningAlert("low", "go/unused", "Unused")
			},
			want: Pass, reason: "no open code scanning or secret scanning alerts at or above high",
			detail: []string{"2 open code scanning alerts below high are not blocking."},
		},
		{
			name: "code scanning and secret scanning alerts block",
			seed: func(r *githubsim.Repo) {
				r.AddCodeScanningAlert("medium", "go/weak-crypto", "Weak crypto")
				r.AddCodeScanningAlert("critical", "go/sql-injection", "SQL injection")
				r.AddSecretScanningAlert("github_personal_access_token")
			},
			want:   Block,
			reason: "2 open alerts at or above high: code scanning #2 (critical), secret scanning #1 (critical)",
			detail: []string{
				"| alert | severity | rule / secret type | link |",
				"| code scanning #2 | critical | `go/sql-injection` | [alert](https://github.com/acme/shop/security/code-scanning/2) |",
				"| secret scanning #1 | critical | `GitHub Personal Access Token` | [alert](https://github.com/acme/shop/security/secret-scanning/1) |",
				"1 open code scanning alert below high is not blocking.", "revoke a leaked secret", "gates.security.block_on",
			},
		},
		{
			name: "block_on critical lets high through",
			cfg:  &config.SeverityGate{BlockOn: "critical"},
			seed: func(r *githubsim.Repo) { r.AddCodeScanningAlert("high", "go/path-injection", "Path injection") },
			want: Pass, reason: "no open code scanning or secret scanning alerts at or above critical",
		},
		{
			name: "block_on low blocks on low",
			cfg:  &config.SeverityGate{BlockOn: "low"},
			seed: func(r *githubsim.Repo) { r.AddCodeScanningAlert("low", "go/unused", "Unused") },
			want: Block, reason: "1 open alert at or above low: code scanning #1 (low)",
		},
		{
			name: "a leaked secret blocks at any threshold",
			cfg:  &config.SeverityGate{BlockOn: "critical"},
			seed: func(r *githubsim.Repo) { r.AddSecretScanningAlert("aws_secret_access_key") },
			want: Block, reason: "1 open alert at or above critical: secret scanning #1 (critical)",
		},
		{
			name: "closed alerts do not count",
			seed: func(r *githubsim.Repo) {
				r.SetAlertState(githubsim.CodeScanning, r.AddCodeScanningAlert("critical", "go/sql-injection", "SQL injection"), "dismissed")
				r.SetAlertState(githubsim.CodeScanning, r.AddCodeScanningAlert("high", "go/xss", "XSS"), "fixed")
				r.SetAlertState(githubsim.SecretScanning, r.AddSecretScanningAlert("slack_api_token"), "resolved")
			},
			want: Pass, reason: "no open code scanning or secret scanning alerts at or above high",
		},
		{
			name: "many alerts are summarized",
			seed: func(r *githubsim.Repo) {
				for range 7 {
					r.AddSecretScanningAlert("stripe_api_key")
				}
			},
			want:   Block,
			reason: "7 open alerts at or above high: secret scanning #7 (critical), secret scanning #6 (critical), secret scanning #5 (critical), secret scanning #4 (critical), secret scanning #3 (critical) and 2 more",
		},
		{
			name: "secret scanning off, code scanning clean: pass and say so",
			seed: func(r *githubsim.Repo) { r.SetFeature(githubsim.SecretScanning, "disabled") },
			want: Pass, reason: "no open code scanning alerts at or above high; secret scanning is not enabled",
			detail: []string{"**secret scanning: not enabled.** GitHub answered 404: Secret scanning is disabled on this repository. To gate on it",
				"enable secret scanning", "“Secret scanning alerts: read”"},
		},
		{
			name: "code scanning forbidden, secret leaked: block and say so",
			seed: func(r *githubsim.Repo) {
				r.SetFeature(githubsim.CodeScanning, "forbidden")
				r.AddSecretScanningAlert("npm_access_token")
			},
			want:   Block,
			reason: "1 open alert at or above high: secret scanning #1 (critical); code scanning is not enabled",
			detail: []string{"**code scanning: not enabled.** GitHub answered 403: Advanced Security must be enabled"},
		},
		{
			name: "both off: skipped",
			seed: func(r *githubsim.Repo) {
				r.SetFeature(githubsim.CodeScanning, "disabled")
				r.SetFeature(githubsim.SecretScanning, "forbidden")
			},
			want: Skip, reason: "code scanning and secret scanning are not enabled",
			detail: []string{"GitHub answered 404: no analysis found", "enable code scanning", "Set `if_disabled: block` under `gates.security`"},
		},
		{
			name: "both off with if_disabled: block",
			cfg:  &config.SeverityGate{BlockOn: "high", IfDisabled: "block"},
			seed: func(r *githubsim.Repo) {
				r.SetFeature(githubsim.CodeScanning, "forbidden")
				r.SetFeature(githubsim.SecretScanning, "disabled")
			},
			want: Block, reason: "code scanning and secret scanning are not enabled; this environment requires them",
			detail: []string{"enable code scanning", "set `if_disabled: neutral` under `gates.security`"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			if tc.seed != nil {
				tc.seed(f.repo)
			}
			r := eval(t, Security{Config: tc.cfg}, f.input(&config.Environment{}, f.sha))
			wantResult(t, r, tc.want, tc.reason, tc.detail...)
		})
	}
}

// TestSecurityGateNeverShowsSecret checks the leaked value is not repeated.
func TestSecurityGateNeverShowsSecret(t *testing.T) {
	f := newSim(t)
	f.repo.AddSecretScanningAlert("github_personal_access_token")
	alerts, _, err := f.gh.SecretScanning.ListAlertsForRepo(context.Background(), "acme", "shop", nil)
	if err != nil || len(alerts) != 1 || alerts[0].GetSecret() == "" {
		t.Fatalf("seed: %v %v", alerts, err)
	}
	r := eval(t, Security{}, f.input(&config.Environment{}, f.sha))
	if secret := alerts[0].GetSecret(); strings.Contains(r.Reason+r.Detail, secret) {
		t.Fatalf("result shows the secret:\n%s\n%s", r.Reason, r.Detail)
	}
}

// TestSecurityGateAllPages reads more than one page of code scanning alerts.
func TestSecurityGateAllPages(t *testing.T) {
	f := newSim(t)
	f.repo.AddCodeScanningAlert("high", "go/xss", "XSS")
	for range 120 {
		f.repo.AddCodeScanningAlert("low", "go/unused", "Unused")
	}
	f.sim.ResetRequests()
	r := eval(t, Security{}, f.input(&config.Environment{}, f.sha))
	if r.Verdict != Block || r.Reason != "1 open alert at or above high: code scanning #1 (high)" {
		t.Fatalf("got %s %q", r.Verdict, r.Reason)
	}
	pages := 0
	for _, rq := range f.sim.Requests() {
		if rq.Path == "/repos/acme/shop/code-scanning/alerts" {
			pages++
			if rq.Query.Get("state") != "open" {
				t.Errorf("query %v does not ask for open alerts", rq.Query)
			}
		}
	}
	if pages != 2 {
		t.Fatalf("%d pages read, want 2", pages)
	}
}

func TestSecurityGateErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		path   string
		status int
		header http.Header
	}{
		{"code scanning 500", "/repos/acme/shop/code-scanning/alerts", 500, nil},
		{"secret scanning 502", "/repos/acme/shop/secret-scanning/alerts", 502, nil},
		{"rate limited is not 'not enabled'", "/repos/acme/shop/code-scanning/alerts", 403, http.Header{"X-RateLimit-Remaining": {"0"}}},
		{"secondary rate limit is not 'not enabled'", "/repos/acme/shop/secret-scanning/alerts", 403, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			f.sim.FailNext("GET", tc.path, 1, tc.status, tc.header)
			r, err := Security{}.Evaluate(context.Background(), f.input(&config.Environment{}, f.sha))
			if err == nil {
				t.Fatalf("no error, got %s %q", r.Verdict, r.Reason)
			}
		})
	}
}

func TestCodeScanningSeverity(t *testing.T) {
	for _, tc := range []struct{ level, severity, want string }{
		{"critical", "error", "critical"},
		{"medium", "error", "medium"},
		{"", "error", "high"},
		{"", "warning", "medium"},
		{"", "note", "low"},
		{"", "none", "none"},
	} {
		a := &github.Alert{Rule: &github.Rule{SecuritySeverityLevel: github.String(tc.level), Severity: github.String(tc.severity)}}
		if tc.level == "" {
			a.Rule.SecuritySeverityLevel = nil
		}
		if got := codeScanningSeverity(a); got != tc.want {
			t.Errorf("level %q severity %q: got %q, want %q", tc.level, tc.severity, got, tc.want)
		}
		if tc.want == "none" && atOrAbove(tc.want, "low") {
			t.Errorf("severity none blocks")
		}
	}
}
