package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// problemsOf parses data and returns its problems (nil when it is valid).
func problemsOf(t *testing.T, data string) []Problem {
	t.Helper()
	_, err := Parse([]byte(data))
	if err == nil {
		return nil
	}
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("Parse = %v; want *Error", err)
	}
	return perr.Problems
}

// Every value below is a planted SECRET-<n>; problems name the key path,
// line, column and the expected shape, never the value.
func TestProblemsNeverQuoteValues(t *testing.T) {
	wrap := func(lines string) string { return "environments:\n  staging:\n" + lines }
	tests := []struct{ name, yaml, path string }{
		{"env url", wrap(hook + "    url: SECRET-1\n"), "environments.staging.url"},
		{"webhook url with credentials", wrap("    executor: { webhook: { url: \"postgres://u:SECRET-2@dbhost\" } }\n"), "environments.staging.executor.webhook.url"},
		{"duration", wrap(hook + "    verify: { timeout: SECRET-3 }\n"), "environments.staging.verify.timeout"},
		{"duration that is a number", wrap(hook + "    verify: { timeout: 12345 }\n"), "environments.staging.verify.timeout"},
		{"permission", wrap(hook + "    permission: SECRET-4\n"), "environments.staging.permission"},
		{"boolean", wrap(hook + "    production: SECRET-5\n"), "environments.staging.production"},
		{"whole number", wrap(hook + "    verify: { health: [{ url: https://h.example.com, status: SECRET-6 }] }\n"), "environments.staging.verify.health[0].status"},
		{"enum", wrap(hook + "    monitor: { duration: 5m, on_failure: SECRET-7 }\n"), "environments.staging.monitor.on_failure"},
		{"strategy", wrap(hook + "    strategy: SECRET-8\n"), "environments.staging.strategy"},
		{"workflow", wrap("    executor: { actions: { workflow: SECRET-9 } }\n"), "environments.staging.executor.actions.workflow"},
		{"alias", wrap(hook + "    aliases: [\"SECRET 10\"]\n"), "environments.staging.aliases[0]"},
		{"requires", wrap(hook + "    requires: [SECRET-11]\n"), "environments.staging.requires[0]"},
		{"default environment", "default_environment: SECRET-12\n" + wrap(hook), "default_environment"},
		{"variable name", wrap(hook + "    gates: { variables: [SECRET-13] }\n"), "environments.staging.gates.variables[0]"},
		{"tag pattern", wrap(hook + "    gates: { release: { tag_pattern: \"SECRET-14[\" } }\n"), "environments.staging.gates.release.tag_pattern"},
		{"glob", wrap(hook + "    gates: { migrations: { paths: [\"SECRET-15[\"] } }\n"), "environments.staging.gates.migrations.paths[0]"},
		{"timezone", wrap(hook + "    gates: { window: { timezone: SECRET-16, allow: [Mon] } }\n"), "environments.staging.gates.window.timezone"},
		{"window", wrap(hook + "    gates: { window: { allow: [SECRET-17] } }\n"), "environments.staging.gates.window.allow[0]"},
		{"window time range", wrap(hook + "    gates: { window: { allow: [\"Mon SECRET-18:00-10:00\"] } }\n"), "environments.staging.gates.window.allow[0]"},
		{"deny period", wrap(hook + "    gates: { window: { deny: [SECRET-19] } }\n"), "environments.staging.gates.window.deny[0]"},
		{"size", wrap(hook + "    gates: { artifacts: { assets: [{ name: a.tgz, max_size: 5SECRET-20 }] } }\n"), "environments.staging.gates.artifacts.assets[0].max_size"},
		{"HTTP method", wrap(hook + "    verify: { smoke: [{ url: https://h.example.com, method: SECRET-21 }] }\n"), "environments.staging.verify.smoke[0].method"},
		{"metric query", wrap(hook + "    verify: { metrics: { prometheus: https://p.example.com, queries: [{ name: SECRET-22, query: up }] } }\n"), "environments.staging.verify.metrics.queries[0]"},
		{"duplicate metric name", wrap(hook + "    verify: { metrics: { prometheus: https://p.example.com, queries: [{ name: SECRET-23, query: up, max: 1 }, { name: SECRET-23, query: up, max: 1 }] } }\n"), "environments.staging.verify.metrics.queries[1].name"},
		{"shell string", wrap("    executor: { command: SECRET-24 --prod }\n"), "environments.staging.executor.command"},
		{"string where a mapping goes", "environments: SECRET-25\n", "environments"},
		{"string where a list goes", wrap(hook + "    verify: { health: SECRET-26 }\n"), "environments.staging.verify.health"},
		{"canary weight", wrap(hook + "    strategy: { canary: { steps: [{ weight: 1234567 }] } }\n"), "environments.staging.strategy.canary.steps[0].weight"},
		{"min above max", wrap(hook + "    verify: { metrics: { prometheus: https://p.example.com, queries: [{ name: e, query: up, min: 7654321, max: 1 }] } }\n"), "environments.staging.verify.metrics.queries[0].min"},
		{"flag value", wrap(hook + "    gates: { flags: { url: SECRET-27, expect: { on: true } } }\n"), "environments.staging.gates.flags.url"},
		{"remote reference", "remote: acme/SECRET-28\npath: SECRET-29.yml\nref: SECRET-30\n", "remote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problemsOf(t, tt.yaml)
			found := false
			for _, p := range ps {
				for _, planted := range []string{"SECRET", "1234567", "7654321", "12345", "dbhost"} {
					if strings.Contains(p.String(), planted) {
						t.Errorf("problem quotes the value %q: %s", planted, p)
					}
				}
				if p.Line < 1 || p.Column < 1 {
					t.Errorf("problem without a position: %s", p)
				}
				found = found || p.Path == tt.path
			}
			if !found {
				t.Errorf("no problem names %s; got %v", tt.path, ps)
			}
		})
	}
}

// Keys the user wrote are named (they are structure), but bounded and
// without control characters.
func TestProblemsBoundKeys(t *testing.T) {
	long := strings.Repeat("k", 500)
	ps := problemsOf(t, "environments:\n  staging:\n"+hook+"    \""+long+"\\u001b[31m\": 1\n")
	if len(ps) != 1 {
		t.Fatalf("problems = %v", ps)
	}
	s := ps[0].String()
	if strings.Contains(s, "\x1b") || strings.Contains(s, long[:100]) || !strings.Contains(s, long[:60]) {
		t.Errorf("problem = %q", s)
	}
}

func TestRemoteReferencesAreRefused(t *testing.T) {
	for _, file := range []string{
		"remote: acme/vault\n",
		"remote: acme/vault\npath: secrets.yml\nref: main\n",
		"ref: other-branch\n",
		"environments: {}\nremote: acme/vault\n",
	} {
		t.Run(file, func(t *testing.T) {
			ps := problemsOf(t, file)
			if len(ps) != 1 || ps[0].Message != remoteReferenceMessage || ps[0].Line < 1 {
				t.Fatalf("problems = %v; want one: %s", ps, remoteReferenceMessage)
			}
			if strings.Contains(ps[0].String(), "vault") || strings.Contains(ps[0].String(), "other-branch") {
				t.Errorf("problem quotes the reference: %s", ps[0])
			}
		})
	}
}

// The merge-key bomb is refused after a walk linear in the file, not
// after expanding 2^20 mappings; a file with a few anchors still parses.
func TestAliasExpansionIsBounded(t *testing.T) {
	bomb, err := os.ReadFile("testdata/merge-bomb.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml, want string
		maxVisited       int
	}{
		{"merge-key bomb", string(bomb), "the file expands too much through anchors/aliases", 400},
		{"alias bomb in a list", "x: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\ny: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nz: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nw: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nv: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nenvironments: { staging: { aliases: *e } }\n", "expands too much", 150},
		{"merge into itself", "environments: &a { <<: *a }\n", "an alias refers to the node that contains it", 10},
		{"list containing itself", "environments:\n  staging:\n    aliases: &l [*l]\n", "an alias refers to the node that contains it", 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &decoder{}
			if cfg := d.parseDocument(context.Background(), []byte(tt.yaml)); cfg != nil {
				t.Fatalf("parsed %+v", cfg)
			}
			if d.visited > tt.maxVisited {
				t.Errorf("visited %d nodes; want at most %d", d.visited, tt.maxVisited)
			}
			for _, p := range d.problems {
				if strings.Contains(p.Message, tt.want) && p.Line > 0 && p.Column > 0 {
					return
				}
			}
			t.Errorf("no problem %q with a position; got %v", tt.want, d.problems)
		})
	}

}

func TestMergeKeysWithinBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("environments:\n  base: &base\n    executor: { webhook: { url: https://d.example.com/h } }\n    gates: { checks: { wait: 10m }, reviews: { approvals: 2 } }\n    verify: { timeout: 2m, health: [{ url: https://h.example.com }] }\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  env%d:\n    <<: *base\n    url: https://env%d.example.com\n", i, i)
	}
	cfg, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Environments["env39"]; got == nil || got.Gates.Reviews == nil || got.Gates.Reviews.Approvals != 2 {
		t.Errorf("env39 = %+v", got)
	}
}

func TestParseLimits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ParseContext(ctx, []byte("environments: {}\n")); !errors.Is(err, context.Canceled) {
		t.Errorf("ParseContext with an ended context = %v", err)
	}
	big := "environments:\n  staging:\n" + hook + strings.Repeat("# padding\n", MaxFileSize/10)
	ps := problemsOf(t, big)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "larger than 256 KiB") {
		t.Errorf("a file over MaxFileSize: %v", ps)
	}
}
