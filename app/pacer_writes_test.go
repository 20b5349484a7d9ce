package app

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/internal/pacer"
	"github.com/deploybot/deploybot/store/storetest"
)

// With budget to spare the pacer changes nothing: a plain deploy makes
// exactly the writes it makes without a pacer, none dropped or deferred.
// The deploy measured is the second to dev, so something is live and it
// makes every write of a plain deploy (the backup tag too).
func TestPacerDropsNothingWithoutPressure(t *testing.T) {
	t.Parallel()
	plainDeploy := func(t *testing.T, noPacer bool) (writes, *pacer.Pacers) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
		sb, err := NewSandbox(ctx, SandboxOptions{TB: t, DatabaseURL: storetest.URL(t), Logger: &logger,
			Config: threeEnvConfig, NoPacer: noPacer})
		if err != nil {
			t.Fatal(err)
		}
		defer sb.Close()
		s := &story{t: t, Sandbox: sb, ctx: ctx}
		s.Repo.SetPermission("walt", "write")
		pr, _ := s.openPR("feature/a", "walt")
		s.comment(pr, "walt", "/deploy dev")
		s.deploymentsFinished(1)
		s.Repo.Commit("feature/a", map[string]string{"b.txt": "b"}, "another change")
		s.settle()
		s.Sim.ResetRequests()
		s.comment(pr, "walt", "/deploy dev")
		if d := s.deploymentsFinished(2)[1]; d.LatestState() != "success" {
			t.Fatalf("second deploy: %v", states(d))
		}
		return countWrites(s.Sim.Requests()), sb.App.Pacer
	}
	base, _ := plainDeploy(t, true)
	paced, p := plainDeploy(t, false)
	t.Logf("plain deploy: %d writes without the pacer (%s), %d with it", base.total, base, paced.total)
	if paced.total != base.total || !maps.Equal(paced.ops, base.ops) {
		t.Errorf("writes with the pacer: %d (%s); without: %d (%s)", paced.total, paced, base.total, base)
	}
	if base.ops["git/create-ref"] != 1 {
		t.Errorf("the measured deploy made no backup tag: %s", base)
	}
	for _, pri := range pacer.Priorities {
		if n := p.Count(pri, pacer.Dropped) + p.Count(pri, pacer.Deferred) + p.Count(pri, pacer.Waited); n != 0 {
			t.Errorf("%d %s writes were dropped, deferred or delayed without pressure", n, pri)
		}
	}
}
