package githubsim

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// SecondaryLimits are GitHub's secondary rate limits for content-creating
// requests (POST, PATCH, PUT, DELETE) per installation: at most PerMinute in
// any window of Minute and PerHour in any window of Hour. Tests scale the
// windows down to run an hour in seconds.
type SecondaryLimits struct {
	PerMinute, PerHour int
	Minute, Hour       time.Duration
}

// SecondaryLimitStats is what enforcing the limits saw.
type SecondaryLimitStats struct {
	// Refused counts the 403 secondary-limit answers sent.
	Refused int
	// Writes counts, per installation, the writes admitted (served).
	Writes map[int64]int
}

type secondary struct {
	limits  SecondaryLimits
	writes  map[int64][]time.Time // per installation, oldest first, within Hour
	served  map[int64]int
	refused int
}

// SetSecondaryLimits makes the Sim enforce l on installation tokens' writes,
// answering a write over either limit like GitHub: 403, its secondary rate
// limit message and a retry-after header; such a write has no effect.
func (s *Sim) SetSecondaryLimits(l SecondaryLimits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secondary = &secondary{limits: l, writes: map[int64][]time.Time{}, served: map[int64]int{}}
}

// SecondaryLimitStats reports the refusals and writes since
// SetSecondaryLimits.
func (s *Sim) SecondaryLimitStats() SecondaryLimitStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := SecondaryLimitStats{Writes: map[int64]int{}}
	if s.secondary == nil {
		return out
	}
	out.Refused = s.secondary.refused
	for id, n := range s.secondary.served {
		out.Writes[id] = n
	}
	return out
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// admit counts one write of installation at now, or refuses it
// (ok false) with the seconds until it would fit.
func (sec *secondary) admit(installation int64, now time.Time) (retryAfter int, ok bool) {
	l := sec.limits
	w := sec.writes[installation]
	i := 0
	for i < len(w) && !w[i].After(now.Add(-l.Hour)) {
		i++
	}
	w = w[i:]
	inMinute := 0
	for _, t := range w {
		if t.After(now.Add(-l.Minute)) {
			inMinute++
		}
	}
	var free time.Time
	if inMinute >= l.PerMinute {
		free = w[len(w)-inMinute].Add(l.Minute) // the oldest write of the minute leaves
	}
	if len(w) >= l.PerHour {
		if t := w[0].Add(l.Hour); t.After(free) {
			free = t
		}
	}
	if !free.IsZero() {
		sec.writes[installation] = w
		sec.refused++
		return max(int(math.Ceil(free.Sub(now).Seconds())), 1), false
	}
	sec.writes[installation] = append(w, now)
	sec.served[installation]++
	return 0, true
}

// secondaryLimitLocked answers a write over the secondary limits; ok is
// false when the write may go on.
func (s *Sim) secondaryLimitLocked(c *call, h http.Header) (status int, body []byte, limited bool) {
	if s.secondary == nil || c.tok == nil || !isWrite(c.r.Method) {
		return 0, nil, false
	}
	retry, ok := s.secondary.admit(c.tok.installation.ID, time.Now())
	if ok {
		return 0, nil, false
	}
	h.Set("Retry-After", strconv.Itoa(retry))
	body, _ = json.Marshal(map[string]any{
		"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
			"If you reach out to GitHub Support for help, please include the request ID " + h.Get("X-GitHub-Request-Id") + ".",
		"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
	})
	return http.StatusForbidden, body, true
}
