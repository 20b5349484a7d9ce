package githubsim

import (
	"sync"
	"time"
)

// Round trips. A client's latency to GitHub is set by its sequential
// requests: requests in flight at the same time cost one round trip
// together. The Sim numbers rounds: a round is a maximal period during
// which at least one request is in flight, so a request that arrives while
// another is being served joins that one's round, and a request that
// arrives when none is in flight opens the next round. Each Request in the
// log carries its round. Concurrent requests of unrelated work (another
// deployment, a webhook handler) merge into the same rounds, so a count
// over a period is a lower bound on that period's sequential requests only
// when nothing else talks to the Sim meanwhile — which is how tests use it.
//
// SetLatency adds a fixed delay to every request, while it is in flight
// (before it is handled), so that time measured through the Sim reflects
// round trips: n sequential requests take at least n×latency.
type rounds struct {
	mu       sync.Mutex
	inFlight int
	n        int
	latency  time.Duration
}

// begin notes a request's arrival and returns its round and the latency to
// add to it.
func (r *rounds) begin() (int, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inFlight == 0 {
		r.n++
	}
	r.inFlight++
	return r.n, r.latency
}

// end notes that a request was answered (its response is about to leave).
func (r *rounds) end() {
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
}

// Rounds returns the number of rounds so far (the last one may still be in
// flight). The rounds of a period are Rounds() at its end minus Rounds() at
// its start, when no request was in flight at its start.
func (s *Sim) Rounds() int {
	s.rounds.mu.Lock()
	defer s.rounds.mu.Unlock()
	return s.rounds.n
}

// SetLatency delays every request from now on by d before it is served (0:
// none): an emulated network round trip.
func (s *Sim) SetLatency(d time.Duration) {
	s.rounds.mu.Lock()
	s.rounds.latency = d
	s.rounds.mu.Unlock()
}
