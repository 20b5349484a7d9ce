package deploy

import (
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
)

func TestTogetherReturnsTheFirstErrorInOrder(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	var ran atomic.Int32
	err := together(func() error { return nil }, nil, func() error { return second }, func() error { return first })
	if !errors.Is(err, second) {
		t.Errorf("err = %v, want the second function's", err)
	}
	if err := together(func() error { ran.Add(1); return nil }, func() error { ran.Add(1); return nil }); err != nil || ran.Load() != 2 {
		t.Errorf("err = %v, ran %d, want nil and 2", err, ran.Load())
	}
}

// The backup step uses the gates step's read of what is live only when it
// is fresh and the backup runs for the first time; otherwise it reads again.
func TestLiveReadAhead(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	gatesWith := func(at time.Time) store.Step {
		b, _ := json.Marshal(gatesResult{Live: &liveRead{At: at, SHA: "abc", Deployment: 7}})
		return store.Step{Name: stepGates, State: store.StepDone, Result: string(b)}
	}
	for _, tc := range []struct {
		name       string
		gates      store.Step
		attempts   int
		recovering bool
		use        bool
	}{
		{"fresh, first attempt", gatesWith(now.Add(-2 * time.Second)), 1, false, true},
		{"older than a minute", gatesWith(now.Add(-liveReadFresh)), 1, false, false},
		{"from the future", gatesWith(now.Add(time.Second)), 1, false, false},
		{"backup runs again", gatesWith(now), 2, false, false},
		{"backup recovering", gatesWith(now), 1, true, false},
		{"gates read nothing", store.Step{Name: stepGates, State: store.StepDone}, 1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := []store.Step{tc.gates, {Name: stepBackup, Attempts: tc.attempts}}
			r := &run{svc: &Service{Now: func() time.Time { return now }}, steps: steps, st: &steps[1],
				recovering: tc.recovering, d: &store.Deployment{Step: 1}}
			live := r.liveReadAhead()
			if (live != nil) != tc.use {
				t.Fatalf("read ahead used = %v, want %v", live != nil, tc.use)
			}
			if live != nil && (live.SHA != "abc" || live.Deployment != 7) {
				t.Errorf("live = %+v", live)
			}
		})
	}
}
