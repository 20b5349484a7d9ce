package config

import (
	"errors"
	"strings"
	"testing"
)

// env wraps environment lines (already indented by 4) in a valid file; the
// first env line is line 3.
func env(lines string) string {
	return "environments:\n  staging:\n" + lines
}

const hook = "    executor: { webhook: { url: https://d.example.com/h } }\n"

func TestInvalid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int
		msg  string
	}{
		{"empty file", "", 1, "no environments defined: add an `environments:` map, see README"},
		{"only comments", "# nothing\n", 1, "no environments defined"},
		{"no environments key", "allow_forks: true\n", 1, "no environments defined"},
		{"empty environments", "environments: {}\n", 1, "no environments defined"},
		{"syntax error", "environments:\n  a: [\n", 2, "invalid YAML"},
		{"top-level unknown key", "enviroments: {}\n", 1, `unknown top-level key "enviroments" (known: default_environment, allow_forks, environments, notify)`},
		{"unknown key in verify", env(hook + "    verify:\n      helth: []\n"), 5, `unknown key "helth" in environments.staging.verify (known: timeout, health, smoke, metrics)`},
		{"unknown key in environment", env(hook + "    urls: x\n"), 4, `unknown key "urls" in environments.staging`},
		{"duplicate key", env(hook + "    url: https://a.example.com\n    url: https://b.example.com\n"), 5, `duplicate key "url"`},
		{"executor timeout over a day", env("    executor:\n      webhook: { url: https://d.example.com/h, timeout: 25h }\n"), 4, "at most 24h"},
		{"bad duration", env(hook + "    verify:\n      timeout: 5 minutes\n"), 5, "environments.staging.verify.timeout: invalid duration: expected e.g. 30s, 5m, 1h"},
		{"integer duration", env(hook + "    verify: { timeout: 5 }\n"), 4, "bare number is ambiguous"},
		{"negative duration", env(hook + "    rollback: { window: -1h }\n"), 4, "must not be negative"},
		{"zero timeout", env("    executor: { webhook: { url: https://d.example.com/h, timeout: 0s } }\n"), 3, "must be longer than 0s"},
		{"bad env url", env(hook + "    url: staging.example.com\n"), 4, "invalid URL: expected an absolute http:// or https:// URL"},
		{"ftp webhook url", env("    executor: { webhook: { url: ftp://x.example.com } }\n"), 3, "absolute http:// or https://"},
		{"webhook without url", env("    executor: { webhook: {} }\n"), 3, "url is required"},
		{"bad permission", env(hook + "    permission: owner\n"), 4, "unknown permission: expected read, triage"},
		{"permission none", env(hook + "    permission: none\n"), 4, "permission none"},
		{"bool as string", env(hook + "    production: \"yes\"\n"), 4, "expected true or false"},
		{"no executor", env("    url: https://s.example.com\n"), 2, "no executor: set exactly one of webhook, actions, command, external"},
		{"empty environment", "environments:\n  staging:\n", 2, "needs at least an executor"},
		{"empty executor", env("    executor: {}\n"), 3, "no executor: set exactly one of webhook, actions, command, external"},
		{"two executors", env("    executor:\n      webhook: { url: https://d.example.com }\n      command: { argv: [x] }\n"), 5, "more than one executor (webhook, command)"},
		{"unknown executor", env("    executor: { ssh: {} }\n"), 3, `unknown key "ssh"`},
		{"shell string", env("    executor: { command: ./deploy.sh --prod }\n"), 3, "argv must be a list; deploybot never runs a shell string"},
		{"shell string in argv", env("    executor: { command: { argv: ./deploy.sh --prod } }\n"), 3, "argv must be a list; deploybot never runs a shell string"},
		{"command without argv", env("    executor: { command: { timeout: 1m } }\n"), 3, "argv is required"},
		{"actions without workflow", env("    executor: { actions: { ref: main } }\n"), 3, "workflow"},
		{"actions bad workflow", env("    executor: { actions: { workflow: deploy } }\n"), 3, "invalid workflow: expected a file name"},
		{"actions reserved input", env("    executor: { actions: { workflow: d.yml, inputs: { sha: x } } }\n"), 3, `input "sha" is set by deploybot`},
		{"external with keys", env("    executor: { external: { url: x } }\n"), 3, `unknown key "url" in environments.staging.executor.external (known: timeout)`},
		{"unknown strategy", env(hook + "    strategy: yolo\n"), 4, "unknown strategy (known: direct, blue-green, canary, rolling)"},
		{"unknown strategy key", env(hook + "    strategy: { yolo: {} }\n"), 4, `unknown key "yolo"`},
		{"canary scalar", env(hook + "    strategy: canary\n"), 4, "canary needs its steps"},
		{"canary not increasing", env(hook + "    strategy:\n      canary:\n        steps:\n          - { weight: 50 }\n          - { weight: 20 }\n          - { weight: 100 }\n"), 8, "steps[1].weight: weights must increase"},
		{"canary over 100", env(hook + "    strategy: { canary: { steps: [{ weight: 0 }, { weight: 100 }] } }\n"), 4, "steps[0].weight: weight must be between 1 and 100"},
		{"canary last not 100", env(hook + "    strategy:\n      canary:\n        steps: [{ weight: 10 }, { weight: 50 }]\n"), 6, "steps[1].weight: the last canary step must have weight 100"},
		{"rolling both forms", env(hook + "    strategy: { rolling: { batches: 2, instances: 4, batch_size: 2 } }\n"), 4, "either batches or instances"},
		{"rolling batch too big", env(hook + "    strategy: { rolling: { instances: 2, batch_size: 3 } }\n"), 4, "batch_size must be between 1 and instances"},
		{"unknown gate", env(hook + "    gates:\n      checks: {}\n      foo: {}\n"), 6, `unknown gate "foo" (known: checks, reviews, security, dependencies, migrations, variables, flags, window, artifacts, release`},
		{"permission gate is not configurable", env(hook + "    gates: { permission: {} }\n"), 4, `unknown gate "permission"`},
		{"bad severity", env(hook + "    gates: { security: { block_on: severe } }\n"), 4, "block_on: unknown value: expected one of low, medium, high, critical"},
		{"moderate only for dependencies", env(hook + "    gates: { security: { block_on: moderate } }\n"), 4, "block_on: unknown value: expected one of low, medium, high, critical"},
		{"migrations without paths", env(hook + "    gates:\n      migrations: { require_checks: [m] }\n"), 5, "paths is required"},
		{"migrations external backup", env(hook + "    gates:\n      migrations: { paths: [db/**], backup: { external: {} } }\n"), 5, "external cannot be used here"},
		{"bad variable name", env(hook + "    gates: { variables: [DATABASE-URL] }\n"), 4, "variables[0]: invalid variable or secret name"},
		{"flags without expect", env(hook + "    gates:\n      flags: { url: https://f.example.com }\n"), 5, "expect is required"},
		{"bad timezone", env(hook + "    gates:\n      window: { timezone: Mars/Olympus, allow: [Mon] }\n"), 5, "timezone: unknown timezone: expected an IANA name"},
		{"bad allow", env(hook + "    gates:\n      window:\n        allow:\n          - Mon-Thu 09:00-16:00\n          - Mon-Fri 9am-5pm\n"), 8, "allow[1]: invalid window: unknown day name"},
		{"bad deny", env(hook + "    gates:\n      window:\n        deny: [2027-01-03..2026-12-20]\n"), 6, "ends before it starts"},
		{"empty window", env(hook + "    gates:\n      window: { timezone: UTC }\n"), 5, "window needs allow and/or deny"},
		{"bad max_size", env(hook + "    gates:\n      artifacts: { assets: [{ name: a.tgz, max_size: huge }] }\n"), 5, "max_size: invalid size: expected e.g. 500KB"},
		{"bad tag pattern", env(hook + "    gates:\n      release: { tag_pattern: 'v[0-9' }\n"), 5, "invalid regular expression"},
		{"health status", env(hook + "    verify:\n      health:\n        - { url: https://s.example.com, status: 700 }\n"), 6, "status: status must be an HTTP status (100..599)"},
		{"health without url", env(hook + "    verify:\n      health:\n        - { status: 200 }\n"), 6, "url is required"},
		{"health not a list", env(hook + "    verify: { health: https://s.example.com }\n"), 4, "expected a list"},
		{"web metric with a baseline", env(hook + "    verify:\n      metrics:\n        queries:\n          - { name: e, web: { url: https://w.example.com/h, json_path: a.b }, baseline: { max_increase: 20% } }\n"), 7, "a web metric has no past values to compare with"},
		{"metric without bounds", env(hook + "    verify:\n      metrics:\n        prometheus: https://p.example.com\n        queries:\n          - { name: errors, query: up }\n"), 8, "queries[0]: metric query needs max, min or baseline"},
		{"metric min above max", env(hook + "    verify:\n      metrics:\n        prometheus: https://p.example.com\n        queries: [{ name: e, query: up, min: 2, max: 1 }]\n"), 7, "min: min must not be greater than max"},
		{"bad on_failure", env(hook + "    monitor: { duration: 10m, on_failure: panic }\n"), 4, "on_failure: unknown value: expected one of notify, rollback"},
		{"bad env name", "environments:\n  -bad:\n" + hook, 2, `invalid environment name "-bad"`},
		{"case-insensitive duplicate env", "environments:\n  staging:\n" + hook + "  Staging:\n" + hook, 4, `differs from "staging" only in case`},
		{"requires unknown", env(hook + "    requires: [qa]\n"), 4, "requires[0]: requires an unknown environment (known: staging)"},
		{"requires itself", env(hook + "    requires: staging\n"), 4, "requires itself"},
		{"requires cycle", "environments:\n  a:\n" + hook + "    requires: [b]\n  b:\n" + hook + "    requires: [c]\n  c:\n" + hook + "    requires: [a]\n", 4, "requires cycle: a → b → c → a"},
		{"alias collides with env name", "environments:\n  staging:\n" + hook + "  production:\n" + hook + "    aliases: [prod, staging]\n", 6, `aliases[1]: alias collides with environment "staging"`},
		{"alias collides with alias", "environments:\n  a:\n" + hook + "    aliases: [x]\n  b:\n" + hook + "    aliases: [X]\n", 7, `b.aliases[0]: alias is already an alias of environment "a"`},
		{"default unknown", "default_environment: prod\n" + env(hook), 1, "default_environment is not an environment (known: staging)"},
		{"two documents", env(hook) + "---\nenvironments: {}\n", 4, "only one YAML document"},
		{"wrong type for environment", "environments:\n  staging: [1, 2]\n", 2, "expected a mapping, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse = %v, %v; want *Error", cfg, err)
			}
			for _, p := range perr.Problems {
				if p.Line == tt.line && strings.Contains(p.String(), tt.msg) {
					return
				}
			}
			t.Errorf("no problem on line %d containing %q; got:\n%v", tt.line, tt.msg, err)
		})
	}
}

func TestAllProblemsSorted(t *testing.T) {
	_, err := Parse([]byte(`environments:
  staging:
    executor: { webhook: { url: nope } }
    verify: { timeout: 5 }
    requires: [ghost]
  production:
    verify: { helth: [] }
`))
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatal(err)
	}
	var lines []int
	for _, p := range perr.Problems {
		lines = append(lines, p.Line)
	}
	if want := []int{3, 4, 5, 6, 7}; !equalInts(lines, want) {
		t.Errorf("lines = %v, want %v\n%v", lines, want, err)
	}
	if !strings.HasPrefix(err.Error(), "line 3, column 33: environments.staging.executor.webhook.url: invalid URL") {
		t.Errorf("Error() = %q", err.Error())
	}
	if !strings.Contains(perr.Markdown(), "- line 7, column 15: unknown key \"helth\"") {
		t.Errorf("Markdown() = %q", perr.Markdown())
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
