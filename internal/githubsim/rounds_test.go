package githubsim

import (
	"sync"
	"testing"
	"time"
)

// The round counter by itself: overlapping requests share a round, a
// request that arrives when none is in flight opens the next one.
func TestRoundCounter(t *testing.T) {
	type ev struct {
		begin bool
		want  int // round the begin joins
	}
	for _, tc := range []struct {
		name   string
		events []ev
		rounds int
	}{
		{"sequential", []ev{{true, 1}, {false, 0}, {true, 2}, {false, 0}, {true, 3}, {false, 0}}, 3},
		{"concurrent", []ev{{true, 1}, {true, 1}, {true, 1}, {false, 0}, {false, 0}, {false, 0}}, 1},
		// b starts while a is in flight, c while b is: one chain, one round.
		{"overlapping chain", []ev{{true, 1}, {true, 1}, {false, 0}, {true, 1}, {false, 0}, {false, 0}}, 1},
		{"concurrent then one", []ev{{true, 1}, {true, 1}, {false, 0}, {false, 0}, {true, 2}, {false, 0}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r rounds
			for i, e := range tc.events {
				if !e.begin {
					r.end()
					continue
				}
				if got, _ := r.begin(); got != e.want {
					t.Errorf("event %d joined round %d, want %d", i, got, e.want)
				}
			}
			if r.n != tc.rounds || r.inFlight != 0 {
				t.Errorf("rounds = %d (in flight %d), want %d", r.n, r.inFlight, tc.rounds)
			}
		})
	}
}

// Over HTTP: with 50 ms of emulated latency, four requests sent together
// are one round and four sent one after the other are four; every request
// of the log carries its round, and none is answered before the latency.
func TestRoundsOverHTTP(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.client.Repositories.Get(f.ctx, "acme", "shop"); err != nil { // the token exchange
		t.Fatal(err)
	}
	const latency = 50 * time.Millisecond
	f.sim.SetLatency(latency)
	get := func() {
		start := time.Now()
		if _, _, err := f.client.Repositories.Get(f.ctx, "acme", "shop"); err != nil {
			t.Error(err)
		}
		if d := time.Since(start); d < latency {
			t.Errorf("request answered after %v, before the emulated latency %v", d, latency)
		}
	}
	for _, tc := range []struct {
		name       string
		concurrent bool
		want       int
	}{
		{"concurrent", true, 1},
		{"sequential", false, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.sim.ResetRequests()
			before := f.sim.Rounds()
			var wg sync.WaitGroup
			for range 4 {
				if tc.concurrent {
					wg.Go(get)
				} else {
					get()
				}
			}
			wg.Wait()
			if got := f.sim.Rounds() - before; got != tc.want {
				t.Errorf("%d rounds, want %d", got, tc.want)
			}
			seen := map[int]bool{}
			for _, r := range f.sim.Requests() {
				if r.Round <= before {
					t.Errorf("request %s %s in round %d, before the test's first (%d)", r.Method, r.Path, r.Round, before+1)
				}
				seen[r.Round] = true
			}
			if len(seen) != tc.want {
				t.Errorf("the log shows %d rounds, want %d", len(seen), tc.want)
			}
		})
	}
}
