package deploy

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/deploybot/deploybot/internal/pacer"
)

// The pacer's "no budget yet" reaches a job through go-github as a
// *url.Error; the job snoozes for the wait it carries (a durable timer).
func TestPacerWaitSnoozes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want time.Duration
		ok   bool
	}{
		{"wait error", &pacer.WaitError{Installation: 1, Priority: pacer.Final, Wait: 30 * time.Second}, 30 * time.Second, true},
		{"through go-github", &url.Error{Op: "Post", URL: "https://api.github.com/x",
			Err: fmt.Errorf("POST /x: %w", &pacer.WaitError{Installation: 1, Priority: pacer.Normal, Wait: 2 * time.Minute})}, 2 * time.Minute, true},
		{"dropped is not a limit", &url.Error{Op: "Post", URL: "https://api.github.com/x", Err: pacer.ErrDropped}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wait, ok, secondary := RateLimitBackoff(tc.err, 3)
			if ok != tc.ok || wait != tc.want || secondary {
				t.Errorf("RateLimitBackoff = %s %v %v, want %s %v false", wait, ok, secondary, tc.want, tc.ok)
			}
		})
	}
}
