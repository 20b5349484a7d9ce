package checks

import (
	"context"
	"fmt"
)

// Lock passes when this deployment holds the environment's in-flight slot.
// Otherwise it waits: requests queue FIFO and are woken when the slot is
// handed to them, never by polling.
type Lock struct{}

func (Lock) Name() string { return "lock" }

func (Lock) Evaluate(_ context.Context, in Input) (Result, error) {
	r := Result{Gate: "lock"}
	switch in.LockHolder {
	case in.DeploymentID:
		r.Verdict, r.Reason = Pass, fmt.Sprintf("%s is free for this deployment", in.Environment.Name)
	default:
		r.Verdict = Wait
		r.Reason = fmt.Sprintf("deployment #%d is in flight to %s; %d queued ahead of this one", in.LockHolder, in.Environment.Name, in.QueuedAhead)
	}
	return r, nil
}
