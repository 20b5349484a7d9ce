package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
)

func TestPermission(t *testing.T) {
	staging := &config.Environment{Name: "staging", Permission: config.PermissionWrite}
	prod := &config.Environment{Name: "production", Permission: config.PermissionMaintain}
	for _, tc := range []struct {
		name string
		env  *config.Environment
		role config.Permission
		want Verdict
	}{
		{"writer to staging", staging, config.PermissionWrite, Pass},
		{"admin to production", prod, config.PermissionAdmin, Pass},
		{"writer to production", prod, config.PermissionWrite, Block},
		{"triage to staging", staging, config.PermissionTriage, Block},
		{"no role", staging, "", Block},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Permission{}.Evaluate(context.Background(), Input{Environment: tc.env, Actor: "alice", ActorRole: tc.role})
			if err != nil || r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), %v; want %s", r.Verdict, r.Reason, err, tc.want)
			}
		})
	}
}

func TestLockAndOverall(t *testing.T) {
	env := &config.Environment{Name: "staging"}
	free, _ := Lock{}.Evaluate(context.Background(), Input{Environment: env, DeploymentID: 4, LockHolder: 4})
	busy, _ := Lock{}.Evaluate(context.Background(), Input{Environment: env, DeploymentID: 5, LockHolder: 4, QueuedAhead: 1})
	if free.Verdict != Pass || busy.Verdict != Wait || !strings.Contains(busy.Reason, "#4") {
		t.Fatalf("free=%+v busy=%+v", free, busy)
	}
	if Overall([]Result{free, busy}) != Wait || Overall([]Result{free}) != Pass ||
		Overall([]Result{busy, {Verdict: Block}}) != Block {
		t.Fatal("Overall does not fold BLOCK > WAIT > PASS")
	}
	if tbl := Table([]Result{{Gate: "lock", Verdict: Pass, Reason: "a|b"}}); !strings.Contains(tbl, `a\|b`) {
		t.Fatalf("table does not escape pipes: %s", tbl)
	}
}
