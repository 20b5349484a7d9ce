package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParseFile(t *testing.T, name string) *Config {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return cfg
}

func TestParseDemo(t *testing.T) {
	cfg := mustParseFile(t, "testdata/demo.yml")
	if got, want := cfg.EnvironmentNames(), []string{"production", "staging"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	if cfg.DefaultEnvironment != "staging" || cfg.AllowForks {
		t.Errorf("default = %q, allow_forks = %v", cfg.DefaultEnvironment, cfg.AllowForks)
	}
	st, prod := cfg.Environments["staging"], cfg.Environments["production"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"staging permission", st.Permission, PermissionWrite},
		{"staging strategy", st.Strategy.Name, StrategyDirect},
		{"staging executor", st.Executor.Kind(), "webhook"},
		{"staging webhook url", st.Executor.Webhook.URL, "http://127.0.0.1:9999/hooks/staging"},
		{"staging webhook timeout", st.Executor.Webhook.Timeout, D(10 * time.Minute)},
		{"staging verify timeout", st.Verify.Timeout, D(time.Minute)},
		{"staging health timeout (inherits verify.timeout)", st.Verify.Health[0].Timeout, D(time.Minute)},
		{"staging health interval", st.Verify.Health[0].Interval, D(10 * time.Second)},
		{"staging rollback window", st.Rollback.Window, D(24 * time.Hour)},
		{"staging monitor", st.Monitor, Monitor{Interval: D(time.Minute), OnFailure: "notify"}},
		{"staging requires", len(st.Requires), 0},
		{"production permission", prod.Permission, PermissionMaintain},
		{"production aliases", prod.Aliases, []string{"prod"}},
		{"production requires", prod.Requires, []string{"staging"}},
		{"production order gate", prod.Gates.Order, []string{"staging"}},
		{"production verify timeout", prod.Verify.Timeout, D(5 * time.Minute)},
		{"production health", prod.Verify.Health[0], HealthCheck{URL: "https://example.com/healthz", Status: 200, Contains: "ok", Timeout: D(2 * time.Minute), Interval: D(10 * time.Second)}},
		{"production is production", prod.Production, true},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestParseDesignExample(t *testing.T) {
	cfg := mustParseFile(t, "testdata/design.yml")
	st, prod := cfg.Environments["staging"], cfg.Environments["production"]
	if !st.OnRelease || st.Gates.Checks == nil || st.Gates.Checks.Wait != D(20*time.Minute) {
		t.Errorf("staging: on_release=%v checks=%+v", st.OnRelease, st.Gates.Checks)
	}
	if got := cfg.ReleaseEnvironments(); len(got) != 1 || got[0] != st {
		t.Errorf("ReleaseEnvironments = %v", got)
	}
	if a := prod.Executor.Actions; a == nil || a.Workflow != "deploy.yml" || a.Ref != "main" {
		t.Errorf("actions = %+v", a)
	}
	wantSteps := []CanaryStep{{Weight: 10, Pause: D(5 * time.Minute)}, {Weight: 50, Pause: D(10 * time.Minute)}, {Weight: 100, Pause: D(0)}}
	if prod.Strategy.Name != StrategyCanary || !reflect.DeepEqual(prod.Strategy.Canary.Steps, wantSteps) {
		t.Errorf("strategy = %+v", prod.Strategy)
	}
	g := prod.Gates
	if g.Security.BlockOn != "high" || g.Dependencies.BlockOn != "critical" {
		t.Errorf("severity gates = %+v %+v", g.Security, g.Dependencies)
	}
	if g.Migrations.Backup.Kind() != "webhook" || g.Migrations.Backup.Webhook.URL != "https://deployer.internal/hooks/db-backup" ||
		!reflect.DeepEqual(g.Migrations.Paths, []string{"db/migrations/**"}) || !reflect.DeepEqual(g.Migrations.RequireChecks, []string{"migrations"}) {
		t.Errorf("migrations = %+v", g.Migrations)
	}
	if !reflect.DeepEqual(g.Variables, []string{"DATABASE_URL"}) {
		t.Errorf("variables = %v", g.Variables)
	}
	if g.Window.Timezone != "Europe/Berlin" || g.Window.Location().String() != "Europe/Berlin" {
		t.Errorf("window = %+v", g.Window)
	}
	m := prod.Verify.Metrics
	if m.Prometheus != "http://prometheus.internal:9090" || m.Interval != D(30*time.Second) || m.FailureLimit != 2 ||
		len(m.Queries) != 1 || *m.Queries[0].Max != 0.01 || m.Queries[0].Min != nil {
		t.Errorf("metrics = %+v", m)
	}
	if mo := prod.Monitor; mo.Duration != D(30*time.Minute) || mo.Interval != D(time.Minute) || mo.OnFailure != "rollback" || !mo.Enabled() {
		t.Errorf("monitor = %+v", prod.Monitor)
	}
	if prod.Rollback != (Rollback{Window: D(24 * time.Hour)}) {
		t.Errorf("rollback = %+v", prod.Rollback)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config)
	}{
		{"single environment is the default", "environments:\n  web:\n    executor: { external: {} }\n", func(t *testing.T, c *Config) {
			if c.DefaultEnvironment != "web" {
				t.Errorf("default = %q", c.DefaultEnvironment)
			}
			if c.Environments["web"].Executor.Kind() != "external" {
				t.Errorf("kind = %q", c.Environments["web"].Executor.Kind())
			}
		}},
		{"several environments, no default", "environments:\n  a: { executor: { external: } }\n  b: { executor: { external: } }\n", func(t *testing.T, c *Config) {
			if c.DefaultEnvironment != "" {
				t.Errorf("default = %q", c.DefaultEnvironment)
			}
			if _, ok := c.Default(); ok {
				t.Error("Default() found one")
			}
		}},
		{"default by alias resolves to canonical name", "default_environment: PROD\nenvironments:\n  production: { aliases: [prod], executor: { external: {} } }\n  qa: { executor: { external: {} } }\n", func(t *testing.T, c *Config) {
			if c.DefaultEnvironment != "production" {
				t.Errorf("default = %q", c.DefaultEnvironment)
			}
		}},
		{"production defaults to maintain, permission override", "environments:\n  p: { production: true, executor: { external: {} } }\n  q: { production: true, permission: Admin, executor: { external: {} } }\n", func(t *testing.T, c *Config) {
			if c.Environments["p"].Permission != PermissionMaintain || c.Environments["q"].Permission != PermissionAdmin {
				t.Errorf("permissions = %q %q", c.Environments["p"].Permission, c.Environments["q"].Permission)
			}
		}},
		{"gate and check defaults", `allow_forks: true
environments:
  e:
    executor: { command: { argv: [./deploy.sh, --env, e] } }
    strategy: blue-green
    rollback: { window: 2d }
    gates: { checks: , reviews: {}, security: , dependencies: { block_on: moderate }, release: { tag_pattern: 'v\d+\.\d+\.\d+' } }
    verify:
      health: [{ url: https://e.example.com/healthz }]
      smoke: [{ url: https://e.example.com/ }]
      metrics: { prometheus: https://prom.example.com, queries: [{ name: p99, query: x, min: 0 }] }
`, func(t *testing.T, c *Config) {
			e := c.Environments["e"]
			if !c.AllowForks {
				t.Error("allow_forks")
			}
			if !reflect.DeepEqual(e.Executor.Command, &CommandExecutor{Argv: []string{"./deploy.sh", "--env", "e"}, Timeout: D(10 * time.Minute)}) {
				t.Errorf("command = %+v", e.Executor.Command)
			}
			if e.Strategy.Name != StrategyBlueGreen || e.Strategy.BlueGreen.KeepPrevious != D(48*time.Hour) {
				t.Errorf("strategy = %+v", e.Strategy.BlueGreen)
			}
			g := e.Gates
			if g.Checks.Wait != D(30*time.Minute) || g.Reviews.Approvals != 1 || g.Security.BlockOn != "high" || g.Dependencies.BlockOn != "medium" {
				t.Errorf("gates = %+v %+v %+v %+v", g.Checks, g.Reviews, g.Security, g.Dependencies)
			}
			if !g.Release.MatchTag("v1.2.3") || g.Release.MatchTag("v1.2.3-rc1") || g.Release.MatchTag("xv1.2.3") {
				t.Error("tag pattern must match whole tags")
			}
			if h := e.Verify.Health[0]; h.Status != 200 || h.Timeout != D(5*time.Minute) {
				t.Errorf("health = %+v", h)
			}
			if s := e.Verify.Smoke[0]; s.Method != "GET" || s.Status != 200 {
				t.Errorf("smoke = %+v", s)
			}
			if m := e.Verify.Metrics; m.Interval != D(30*time.Second) || m.FailureLimit != 1 || *m.Queries[0].Min != 0 {
				t.Errorf("metrics = %+v", m)
			}
		}},
		{"rolling and artifacts", `environments:
  r:
    executor: { actions: { workflow: .github/workflows/roll.yaml, inputs: { region: eu, replicas: 3 } } }
    strategy: { rolling: { instances: 10, batch_size: 3 } }
    gates: { artifacts: { assets: [app.tgz, { name: "app-*.tar.gz", max_size: 200MB }] }, variables: TOKEN, window: { deny: 2026-12-24 } }
`, func(t *testing.T, c *Config) {
			e := c.Environments["r"]
			if e.Executor.Actions.Workflow != "roll.yaml" || !reflect.DeepEqual(e.Executor.Actions.Inputs, map[string]string{"region": "eu", "replicas": "3"}) {
				t.Errorf("actions = %+v", e.Executor.Actions)
			}
			if e.Strategy.Rolling.BatchCount() != 4 {
				t.Errorf("batches = %d", e.Strategy.Rolling.BatchCount())
			}
			want := []Asset{{Name: "app.tgz"}, {Name: "app-*.tar.gz", MaxSize: "200MB", MaxBytes: 200e6}}
			if !reflect.DeepEqual(e.Gates.Artifacts.Assets, want) || !reflect.DeepEqual(e.Gates.Variables, []string{"TOKEN"}) {
				t.Errorf("artifacts = %+v variables = %v", e.Gates.Artifacts.Assets, e.Gates.Variables)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestMergeKeys(t *testing.T) {
	c, err := Parse([]byte(`environments:
  a: &base
    executor: { webhook: { url: https://d.example.com/a } }
    verify: { timeout: 2m }
  b:
    <<: *base
    verify: { timeout: 3m }
`))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Environments["b"]
	if b.Executor.Webhook.URL != "https://d.example.com/a" || b.Verify.Timeout != D(3*time.Minute) {
		t.Errorf("b = %+v %+v", b.Executor.Webhook, b.Verify)
	}
}

func TestEnvironmentLookup(t *testing.T) {
	cfg := mustParseFile(t, "testdata/demo.yml")
	tests := []struct{ in, want string }{
		{"prod", "production"}, {"PROD", "production"}, {"Production", "production"},
		{"production", "production"}, {"staging", "staging"}, {"STAGING", "staging"},
		{"dev", ""}, {"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			env, ok := cfg.Environment(tt.in)
			if got := ""; ok {
				got = env.Name
				if got != tt.want {
					t.Errorf("Environment(%q) = %q, want %q", tt.in, got, tt.want)
				}
			} else if tt.want != "" {
				t.Errorf("Environment(%q) not found, want %q", tt.in, tt.want)
			}
		})
	}
	if env, _ := cfg.Environment("prod"); !env.Matches("Prod") || env.Matches("staging") {
		t.Error("Matches")
	}
}

func TestPermission(t *testing.T) {
	order := []string{"none", "read", "triage", "write", "maintain", "admin"}
	for i, s := range order {
		p, err := ParsePermission(s)
		if err != nil || p.Rank() != i {
			t.Errorf("ParsePermission(%q) = %q (rank %d), %v", s, p, p.Rank(), err)
		}
	}
	if p, _ := ParsePermission("Push"); p != PermissionWrite {
		t.Errorf("push = %q", p)
	}
	if _, err := ParsePermission("owner"); err == nil {
		t.Error("owner accepted")
	}
	if !PermissionAdmin.AtLeast(PermissionMaintain) || PermissionWrite.AtLeast(PermissionMaintain) {
		t.Error("AtLeast")
	}
}

func TestSizesAndSeverities(t *testing.T) {
	sizes := map[string]int64{"200MB": 200e6, "1GiB": 1 << 30, "512": 512, "1.5 kb": 1500}
	for s, want := range sizes {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "MB", "10 parsecs", "-1MB"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
	if SeverityRank("moderate") != SeverityRank("medium") || SeverityRank("critical") <= SeverityRank("high") || SeverityRank("x") != 0 {
		t.Error("SeverityRank")
	}
}

// The strategy keys of issue 10: manual pauses, auto_promote, max_failures.
func TestStrategyOptions(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		check      func(t *testing.T, s Strategy)
		wantErr    string
	}{
		{"pause: manual waits for Promote", `{ canary: { steps: [{ weight: 10, pause: manual }, { weight: 50, pause: 5m }, { weight: 100 }] } }`,
			func(t *testing.T, s Strategy) {
				want := []CanaryStep{{Weight: 10, Manual: true}, {Weight: 50, Pause: D(5 * time.Minute)}, {Weight: 100}}
				if !reflect.DeepEqual(s.Canary.Steps, want) {
					t.Errorf("steps = %+v", s.Canary.Steps)
				}
			}, ""},
		{"blue-green promotes itself by default", `blue-green`,
			func(t *testing.T, s Strategy) {
				if !s.BlueGreen.AutoPromote {
					t.Error("auto_promote defaults to false")
				}
			}, ""},
		{"auto_promote: false waits", `{ blue-green: { preview_url: "https://preview.example", auto_promote: false } }`,
			func(t *testing.T, s Strategy) {
				if s.BlueGreen.AutoPromote || s.BlueGreen.PreviewURL != "https://preview.example" {
					t.Errorf("blue-green = %+v", s.BlueGreen)
				}
			}, ""},
		{"rolling with max_failures and a smaller last batch", `{ rolling: { instances: 10, batch_size: 3, max_failures: 1 } }`,
			func(t *testing.T, s Strategy) {
				r := s.Rolling
				if r.BatchCount() != 4 || r.MaxFailures != 1 {
					t.Errorf("rolling = %+v", r)
				}
				if a, b := r.BatchRange(4); a != 10 || b != 10 {
					t.Errorf("last batch = %d..%d, want 10..10", a, b)
				}
			}, ""},
		{"a pause that is neither a duration nor manual", `{ canary: { steps: [{ weight: 10, pause: later }, { weight: 100 }] } }`, nil, "pause"},
		{"negative max_failures", `{ rolling: { batches: 2, max_failures: -1 } }`, nil, "max_failures must be 0 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte("environments:\n  prod:\n    executor: { webhook: { url: https://d.example/h } }\n    strategy: " + tc.yaml + "\n"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			env, _ := cfg.Environment("prod")
			tc.check(t, env.Strategy)
		})
	}
}
