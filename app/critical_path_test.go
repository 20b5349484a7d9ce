package app

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/deploy"
)

// criticalPathRounds is issue 9's budget: sequential GitHub round trips
// from the /deploy comment to the executor call.
const criticalPathRounds = 5

// The critical path (issue 9): from the `/deploy staging` comment of a
// plain deploy in a repository deploybot sees for the first time (its
// installation token cached, config and permission not) to the executor
// call, deploybot makes at most criticalPathRounds sequential round trips
// to GitHub — requests in flight at the same time count once. Every request
// takes 100 ms in the emulator, so that concurrent requests surely overlap
// (and the time to the executor call, logged, is the figure in
// BENCHMARKS.md; no assertion is made on it).
func TestCriticalPathRounds(t *testing.T) {
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/a", "walt")
	s.settle() // the push's config check caches the installation token
	s.Sim.ResetRequests()
	s.Sim.SetLatency(100 * time.Millisecond)

	type call struct {
		round int
		at    time.Time
	}
	first := make(chan call, 1)
	s.Target.OnCall(func(deploy.StepPayload) {
		select {
		case first <- call{round: s.Sim.Rounds(), at: time.Now()}:
		default:
		}
	})
	before, start := s.Sim.Rounds(), time.Now()
	s.comment(pr, "walt", "/deploy staging")
	var c call
	select {
	case c = <-first:
	case <-s.ctx.Done():
		t.Fatal("the executor was never called")
	}
	rounds := c.round - before
	t.Logf("critical path: %d rounds, executor called %v after the comment (100 ms per request)",
		rounds, c.at.Sub(start).Round(time.Millisecond))
	byRound := map[int][]string{}
	for _, r := range s.Sim.Requests() {
		if r.Round > before && r.Round <= c.round {
			byRound[r.Round] = append(byRound[r.Round], r.Method+" "+r.Operation)
		}
		if r.Operation == "apps/create-installation-access-token" {
			t.Errorf("the installation token was not cached: the story must start with it")
		}
	}
	var keys []int
	for k := range byRound {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var b strings.Builder
	for i, k := range keys {
		fmt.Fprintf(&b, "\n  round %d: %s", i+1, strings.Join(byRound[k], ", "))
	}
	t.Logf("requests before the executor call, by round:%s", b.String())
	if rounds > criticalPathRounds {
		t.Errorf("%d sequential GitHub round trips before the executor call, budget %d", rounds, criticalPathRounds)
	}
	s.Sim.SetLatency(0)
	if d := s.deploymentsFinished(1); d[0].LatestState() != "success" {
		t.Errorf("deployment ended %v", states(d[0]))
	}
}
