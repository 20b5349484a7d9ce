package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/deploybot/deploybot/store"
)

var seeded atomic.Int64 // numbers the seeded deployments' request keys

// AddDeployments records deployments as the pipeline would have left them,
// in one transaction: each with steps (when given), and the end recorded
// (FinishedAt, or now) when its state is final. Empty fields get defaults.
func AddDeployments(tb testing.TB, st *store.Store, ds []store.Deployment, steps ...store.Step) []*store.Deployment {
	tb.Helper()
	ctx := context.Background()
	var out []*store.Deployment
	err := st.InTx(ctx, func(tx *store.Tx) error {
		for i := range ds {
			d := ds[i]
			if d.RequestKey == "" {
				d.RequestKey = fmt.Sprintf("seed-%d", seeded.Add(1))
			}
			for f, def := range map[*string]string{&d.Ref: "main", &d.Task: "deploy", &d.Trigger: "comment", &d.Strategy: "direct", &d.EnvConfig: "{}"} {
				if *f == "" {
					*f = def
				}
			}
			final := d.FinishedAt
			created, _, err := tx.CreateDeployment(ctx, &d, steps)
			if err != nil {
				return err
			}
			if d.Done() {
				if final.IsZero() {
					final = created.CreatedAt
				}
				created.FinishedAt = final
				if err := tx.UpdateDeployment(ctx, created); err != nil {
					return err
				}
			}
			out = append(out, created)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seed deployments: %v", err)
	}
	return out
}

// SetStep changes step idx of deployment id as the pipeline would have:
// its state and what it says of itself.
func SetStep(tb testing.TB, st *store.Store, id int64, idx int, state, detail string) {
	tb.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		steps, err := tx.Steps(ctx, id)
		if err != nil {
			return err
		}
		if idx >= len(steps) {
			return fmt.Errorf("deployment %d has %d steps, not %d", id, len(steps), idx+1)
		}
		steps[idx].State, steps[idx].Detail = state, detail
		return tx.UpdateStep(ctx, steps[idx])
	})
	if err != nil {
		tb.Fatalf("seed step: %v", err)
	}
}
