package checks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
)

// A manual lock blocks everyone but its owner; an expired one is ignored.
func TestLockGateHonoursManualLocks(t *testing.T) {
	env := &config.Environment{Name: "staging"}
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	freeze := &ManualLock{Owner: "mia", Reason: "release freeze", ExpiresAt: now.Add(2 * time.Hour)}
	for _, tc := range []struct {
		name    string
		actor   string
		lock    *ManualLock
		holder  int64
		want    Verdict
		reasons []string
	}{
		{name: "another user is blocked", actor: "walt", lock: freeze, holder: 7, want: Block,
			reasons: []string{"🔒 staging locked by @mia until 14:00 UTC: release freeze"}},
		{name: "another user is blocked even while queued", actor: "walt", lock: freeze, holder: 3, want: Block},
		{name: "the owner deploys", actor: "MIA", lock: freeze, holder: 7, want: Pass, reasons: []string{"locked by @mia, who asked"}},
		{name: "the owner still queues", actor: "mia", lock: freeze, holder: 3, want: Wait},
		{name: "an expired lock is ignored", actor: "walt", lock: &ManualLock{Owner: "mia", ExpiresAt: now}, holder: 7, want: Pass,
			reasons: []string{"is free"}},
		{name: "a lock without expiry holds", actor: "walt", lock: &ManualLock{Owner: "mia"}, holder: 7, want: Block,
			reasons: []string{"🔒 staging locked by @mia"}},
		{name: "no lock", actor: "walt", holder: 7, want: Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Lock{}.Evaluate(context.Background(), Input{Environment: env, Actor: tc.actor, DeploymentID: 7,
				LockHolder: tc.holder, ManualLock: tc.lock, Now: now})
			if err != nil || r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), %v; want %s", r.Verdict, r.Reason, err, tc.want)
			}
			for _, want := range tc.reasons {
				if !strings.Contains(r.Reason, want) {
					t.Errorf("reason %q does not contain %q", r.Reason, want)
				}
			}
			if r.Verdict == Block && !strings.Contains(r.Detail, "/unlock staging") {
				t.Errorf("detail does not say how to get the lock released: %q", r.Detail)
			}
		})
	}
}

func TestFormatUntil(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	if got := FormatUntil(now.Add(2*time.Hour), now); got != "14:00 UTC" {
		t.Errorf("same day = %q", got)
	}
	if got := FormatUntil(now.Add(26*time.Hour), now); got != "Tue 3 Mar 14:00 UTC" {
		t.Errorf("next day = %q", got)
	}
}
