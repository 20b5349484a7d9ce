package config

import (
	"strings"
	"testing"
)

// TestChecksAndReviewsGateSwitches: the checks gate is on unless `checks:
// false`; reviews approvals must be on the deployed commit unless
// `dismiss_stale: false`.
func TestChecksAndReviewsGateSwitches(t *testing.T) {
	for _, tt := range []struct {
		name, gates  string
		checksOff    bool
		checksSet    bool
		reviews      bool
		dismissStale bool
	}{
		{name: "no gates: checks runs with its defaults"},
		{name: "checks: false turns it off", gates: "checks: false", checksOff: true},
		{name: "checks: true is the default", gates: "checks: true"},
		{name: "checks with settings", gates: "checks: { wait: 5m }", checksSet: true},
		{name: "reviews dismiss stale approvals by default", gates: "reviews:", reviews: true, dismissStale: true},
		{name: "dismiss_stale: false", gates: "reviews: { dismiss_stale: false }", reviews: true},
		{name: "dismiss_stale: (empty) is the default", gates: "reviews: { dismiss_stale: }", reviews: true, dismissStale: true},
		{name: "dismiss_stale: true", gates: "reviews: { approvals: 2, dismiss_stale: true }", reviews: true, dismissStale: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			yml := "environments:\n  staging:\n    executor: { external: }\n"
			if tt.gates != "" {
				yml += "    gates:\n      " + tt.gates + "\n"
			}
			cfg, err := Parse([]byte(yml))
			if err != nil {
				t.Fatal(err)
			}
			g := cfg.Environments["staging"].Gates
			if g.ChecksOff != tt.checksOff || (g.Checks != nil) != tt.checksSet {
				t.Fatalf("checks off=%v set=%v, want off=%v set=%v", g.ChecksOff, g.Checks != nil, tt.checksOff, tt.checksSet)
			}
			if (g.Reviews != nil) != tt.reviews || (g.Reviews != nil && g.Reviews.StaleApprovals == tt.dismissStale) {
				t.Fatalf("reviews = %+v, want dismiss_stale %v", g.Reviews, tt.dismissStale)
			}
		})
	}
	_, err := Parse([]byte("environments:\n  staging:\n    executor: { external: }\n    gates: { reviews: { dismiss_stale: maybe } }\n"))
	if err == nil || !strings.Contains(err.Error(), "dismiss_stale") {
		t.Fatalf("dismiss_stale: maybe: %v", err)
	}
}
