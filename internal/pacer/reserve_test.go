package pacer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A reservation's writes are admitted all together or none: the first one
// waits for room for all of them, the others use that room.
func TestReservation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		before     int // Final writes already in the minute
		reserve    int
		writes     int // sent with the reservation's context
		wantSent   int
		wantLeft   int // writes in the window after release
		firstWaits bool
	}{
		{"room for all: all sent", 77, 3, 3, 3, 80, false},
		{"room for two of three: none sent", 78, 3, 3, 0, 78, true},
		{"one used of three: two given back", 10, 3, 1, 1, 11, false},
		{"more writes than reserved: the rest admitted alone", 10, 2, 4, 4, 14, false},
		{"more than a minute holds: a minute's worth", 0, 100, 81, 80, 80, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			p := New(testLimits(), c.now, nil)
			sendN(t, p, 1, Final, tc.before)
			sent := 0
			rt := p.Middleware(roundTripperFunc(func(r *http.Request) (*http.Response, error) {
				sent++
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
			}))
			ctx, release := Reserve(ForInstallation(context.Background(), 1), tc.reserve, Final)
			var errs []error
			for range tc.writes {
				req, _ := http.NewRequestWithContext(ctx, "PATCH", "https://api.github.com/repos/a/b/check-runs/1", strings.NewReader(`{"status":"completed"}`))
				_, err := rt.RoundTrip(req)
				errs = append(errs, err)
			}
			release()
			var we *WaitError
			if got := errors.As(errs[0], &we); got != tc.firstWaits {
				t.Errorf("first write: err %v, want a WaitError: %v", errs[0], tc.firstWaits)
			}
			if sent != tc.wantSent {
				t.Errorf("sent %d, want %d", sent, tc.wantSent)
			}
			b := p.budget(1)
			if n := len(b.slots); n != tc.wantLeft {
				t.Errorf("%d writes counted after release, want %d", n, tc.wantLeft)
			}
		})
	}
}
