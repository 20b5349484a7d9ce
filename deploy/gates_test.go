package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
)

// gateFunc is a gate made of a function, to exercise the runner.
type gateFunc struct {
	name string
	eval func(ctx context.Context) (checks.Result, error)
}

func (g gateFunc) Name() string { return g.name }
func (g gateFunc) Evaluate(ctx context.Context, _ checks.Input) (checks.Result, error) {
	return g.eval(ctx)
}

// One gate's error, panic or hang is that gate's BLOCK (fail closed); the
// others still decide; a GitHub rate limit is returned so the step snoozes.
func TestEvaluateGatesFailsClosed(t *testing.T) {
	pass := gateFunc{"ok", func(context.Context) (checks.Result, error) {
		return checks.Result{Verdict: checks.Pass, Reason: "fine"}, nil
	}}
	broken := gateFunc{"broken", func(context.Context) (checks.Result, error) { return checks.Result{}, errors.New("502 Bad Gateway") }}
	crash := gateFunc{"crash", func(context.Context) (checks.Result, error) { panic("nil map SECRET-from-panic") }}
	hang := gateFunc{"hang", func(ctx context.Context) (checks.Result, error) { <-ctx.Done(); return checks.Result{}, ctx.Err() }}

	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond) // stands in for gateTimeout
	defer cancel()
	got, err := evaluateGates(ctx, []checks.Gate{pass, broken, crash, hang}, checks.Input{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ok": "fine", "broken": "could not check: 502 Bad Gateway", "crash": "the crash gate crashed (a deploybot bug)", "hang": "could not check: context deadline exceeded"}
	for i, r := range got {
		g := []string{"ok", "broken", "crash", "hang"}[i]
		if r.Gate != g || !strings.HasPrefix(r.Reason, want[g]) || (g != "ok") != (r.Verdict == checks.Block) {
			t.Errorf("%s: %+v", g, r)
		}
		if strings.Contains(r.Reason+r.Detail, "SECRET-from-panic") || strings.Contains(r.Detail, "goroutine") {
			t.Errorf("%s: the panic value or stack reached the check run: %+v", g, r)
		}
	}

	limited := gateFunc{"limited", func(context.Context) (checks.Result, error) {
		return checks.Result{}, &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: time.Now().Add(time.Minute)}}}
	}}
	if _, err := evaluateGates(context.Background(), []checks.Gate{pass, limited}, checks.Input{}); err == nil {
		t.Fatal("a rate-limited gate must return the error so the step waits for the reset")
	}
}

// Rollbacks skip checks, reviews, order and window, never the others.
func TestSelectGatesByTask(t *testing.T) {
	env := webhookEnv()
	g := &env.Gates
	g.Checks, g.Reviews, g.Security, g.Dependencies = &config.ChecksGate{}, &config.ReviewsGate{}, &config.SeverityGate{}, &config.SeverityGate{}
	g.Migrations, g.Flags, g.Window, g.Artifacts, g.Release = &config.MigrationsGate{}, &config.FlagsGate{}, &config.WindowGate{}, &config.ArtifactsGate{}, &config.ReleaseGate{}
	g.Variables, env.Requires = []string{"X"}, []string{"staging"}
	names := func(task string) string {
		var out []string
		for _, gate := range selectGates(env, task) {
			out = append(out, gate.Name())
		}
		return strings.Join(out, " ")
	}
	for task, want := range map[string]string{
		TaskDeploy:     "checks reviews order security dependencies migrations variables flags window artifacts release",
		TaskRollback:   "security dependencies migrations variables flags artifacts release",
		TaskProtection: "checks reviews order security dependencies migrations variables flags window artifacts release",
	} {
		t.Run(task, func(t *testing.T) {
			if got := names(task); got != want {
				t.Errorf("gates = %s\nwant    %s", got, want)
			}
		})
	}
}
