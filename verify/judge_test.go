package verify

import (
	"testing"

	"github.com/deploybot/deploybot/config"
)

func f(v float64) *float64 { return &v }

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name       string
		q          config.MetricQuery
		baseline   *float64
		value      float64
		wantBreach bool
		wantCond   string
	}{
		{"within max", config.MetricQuery{Max: f(0.01)}, nil, 0.005, false, "≤ 0.01"},
		{"over max", config.MetricQuery{Max: f(0.01)}, nil, 0.02, true, "≤ 0.01"},
		{"under min", config.MetricQuery{Min: f(0.99)}, nil, 0.9, true, "≥ 0.99"},
		{"baseline + 20 %", config.MetricQuery{Baseline: &config.Baseline{MaxIncrease: 0.2}}, f(100), 119, false, "≤ 120 (baseline 100 + 20% + 0)"},
		{"over baseline + 20 %", config.MetricQuery{Baseline: &config.Baseline{MaxIncrease: 0.2}}, f(100), 121, true, "≤ 120 (baseline 100 + 20% + 0)"},
		{"a zero baseline allows no increase without tolerance", config.MetricQuery{Baseline: &config.Baseline{MaxIncrease: 0.5}}, f(0), 0.001, true, "≤ 0 (baseline 0 + 50% + 0)"},
		{"tolerance", config.MetricQuery{Baseline: &config.Baseline{MaxIncrease: 0.5, Tolerance: 0.01}}, f(0), 0.001, false, "≤ 0.01 (baseline 0 + 50% + 0.01)"},
		{"no baseline recorded: only fixed bounds apply", config.MetricQuery{Max: f(1), Baseline: &config.Baseline{}}, nil, 0.5, false, "≤ 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			breach, cond := Judge(tc.q, tc.baseline, tc.value)
			if breach != tc.wantBreach || cond != tc.wantCond {
				t.Errorf("Judge = %v %q, want %v %q", breach, cond, tc.wantBreach, tc.wantCond)
			}
		})
	}
}

func TestSparkline(t *testing.T) {
	if got := Sparkline([]float64{0, 1, 2, 3, 7}); got != "▁▂▃▄█" {
		t.Errorf("Sparkline = %q", got)
	}
	if got := Sparkline([]float64{5, 5}); got != "▁▁" {
		t.Errorf("flat Sparkline = %q", got)
	}
}
