package checks

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ManualLock is a `/lock` someone holds on the environment.
type ManualLock struct {
	Owner     string
	Reason    string
	ExpiresAt time.Time // zero: until /unlock
}

// ActiveAt reports whether the lock is in force at now.
func (l *ManualLock) ActiveAt(now time.Time) bool {
	return l != nil && (l.ExpiresAt.IsZero() || now.Before(l.ExpiresAt))
}

// Describe is the one line users see about the lock:
// "🔒 staging locked by @mia until 14:00 UTC: release freeze".
func (l *ManualLock) Describe(env string, now time.Time) string {
	s := fmt.Sprintf("🔒 %s locked by @%s", env, l.Owner)
	if !l.ExpiresAt.IsZero() {
		s += " until " + FormatUntil(l.ExpiresAt, now)
	}
	if l.Reason != "" {
		s += ": " + l.Reason
	}
	return s
}

// FormatUntil writes t in UTC, with the date only when it is not today.
func FormatUntil(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04 UTC")
	}
	return t.Format("Mon 2 Jan 15:04 UTC")
}

// Lock blocks while someone other than the actor holds a manual lock on the
// environment, and otherwise passes when this deployment holds the
// environment's in-flight slot. Without the slot it waits: requests queue
// FIFO and are woken when the slot is handed to them, never by polling.
type Lock struct{}

func (Lock) Name() string { return "lock" }

func (Lock) Evaluate(_ context.Context, in Input) (Result, error) {
	r := Result{Gate: "lock"}
	if l := in.ManualLock; l.ActiveAt(in.Now) && !strings.EqualFold(l.Owner, in.Actor) {
		r.Verdict, r.Reason = Block, l.Describe(in.Environment.Name, in.Now)
		r.Detail = fmt.Sprintf("%s.\n\nOnly @%s deploys to `%s` while the lock holds. Ask them to comment `/unlock %s`",
			r.Reason, l.Owner, in.Environment.Name, in.Environment.Name)
		if !l.ExpiresAt.IsZero() {
			r.Detail += ", or deploy again after " + l.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		r.Detail += "."
		return r, nil
	}
	switch in.LockHolder {
	case in.DeploymentID:
		r.Verdict, r.Reason = Pass, fmt.Sprintf("%s is free for this deployment", in.Environment.Name)
		if l := in.ManualLock; l.ActiveAt(in.Now) {
			r.Reason = fmt.Sprintf("%s is locked by @%s, who asked for this deployment", in.Environment.Name, l.Owner)
		}
	default:
		r.Verdict = Wait
		r.Reason = fmt.Sprintf("deployment #%d is in flight to %s; %d queued ahead of this one", in.LockHolder, in.Environment.Name, in.QueuedAhead)
	}
	return r, nil
}
