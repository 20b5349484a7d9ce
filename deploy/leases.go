package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/store"
)

// Crash recovery in seconds: the replica running a step holds a lease on it
// (store/leases.go) and renews it every LeaseTTL/3. A replica that dies
// stops renewing; within LeaseTTL its lease expires and the lease reaper of
// any replica (checking every LeaseTTL/3) re-enqueues the step, which then
// runs the "recovering" path: it looks for the interrupted attempt's effect
// before doing anything, so nothing is repeated or skipped. A replica that
// is stopped (SIGTERM) hands its steps over at once instead (Drain).

// DefaultLeaseTTL is how long a replica may go silent before another one
// resumes its step: a replica killed mid-step is replaced within about
// LeaseTTL + LeaseTTL/3.
const DefaultLeaseTTL = 15 * time.Second

// errLeaseLost cancels a step whose lease another replica took over (this
// replica was cut off for longer than the lease).
var errLeaseLost = errors.New("the step's lease expired and another replica resumed it")

func (s *Service) leaseTTL() time.Duration {
	if s.LeaseTTL > 0 {
		return s.LeaseTTL
	}
	return DefaultLeaseTTL
}

// ReplicaID names this process in leases: host, pid and a random part, so
// each run of a step has its own owner (leaseOwner).
func ReplicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

func (s *Service) leaseOwner() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	replica := s.Replica
	if replica == "" {
		replica = "deploybot"
	}
	return replica + "/" + hex.EncodeToString(b)
}

// keepLease renews owner's lease on deployment id until the returned stop is
// called. The returned context is cancelled (cause errLeaseLost) when the
// lease turns out to be someone else's: another replica resumed the step, so
// this run must stop touching anything.
func (s *Service) keepLease(ctx context.Context, id int64, owner string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	ttl := s.leaseTTL()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			held, err := s.Store.RenewLease(ctx, id, owner, time.Now().Add(ttl))
			if err != nil {
				// The database is unreachable: keep trying; if this lasts
				// past the lease, another replica takes the step over and the
				// next renewal finds it gone.
				zerolog.Ctx(ctx).Warn().Err(err).Int64("deployment", id).Msg("renew step lease")
				continue
			}
			if !held {
				cancel(errLeaseLost)
				return
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

// ReapLeases resumes the steps whose runners stopped renewing their leases:
// it takes each expired lease and enqueues the deployment's current step,
// in one transaction. It returns how many steps it resumed.
func (s *Service) ReapLeases(ctx context.Context) (int, error) {
	resumed := 0
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		expired, err := tx.TakeExpiredLeases(ctx, time.Now(), reapBatch)
		if err != nil {
			return err
		}
		for _, l := range expired {
			// A stale job is harmless (runStep checks the cursor), so no
			// read of the deployment is needed here.
			if err := tx.Enqueue(ctx, StepArgs{DeploymentID: l.DeploymentID, Step: l.Step}, stepOpts(time.Time{})); err != nil {
				return err
			}
			zerolog.Ctx(ctx).Warn().Int64("deployment", l.DeploymentID).Int("step", l.Step).Str("owner", l.Owner).
				Msg("step lease expired: resuming the step on a live replica")
		}
		resumed = len(expired)
		return nil
	})
	return resumed, err
}

// RunLeaseReaper runs ReapLeases every LeaseTTL/3 until ctx ends. Every
// replica runs one; each expired lease is taken by exactly one of them.
func (s *Service) RunLeaseReaper(ctx context.Context) {
	tick := time.NewTicker(s.leaseTTL() / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := s.ReapLeases(ctx); err != nil && ctx.Err() == nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("lease reaper")
		} else if n > 0 && s.OnLeasesReaped != nil {
			s.OnLeasesReaped(n)
		}
	}
}

// Drain marks this replica as stopping: steps cancelled from now on hand
// themselves over to another replica at once (handOver) instead of waiting
// for their leases to expire. Call it before stopping the queue.
func (s *Service) Drain() { s.draining.Store(true) }

// handOver gives a step this replica stopped running back to the queue:
// its lease is released and its job enqueued again, together, so a live
// replica resumes it (recovering) right away. It uses its own short context:
// the step's was cancelled.
func (s *Service) handOver(d *store.Deployment, owner string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		held, err := tx.ReleaseLease(ctx, d.ID, owner)
		if err != nil || !held {
			return err // someone else already resumed it
		}
		return tx.Enqueue(ctx, StepArgs{DeploymentID: d.ID, Step: d.Step}, stepOpts(time.Time{}))
	})
}
