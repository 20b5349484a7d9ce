package pacer

import (
	"context"
	"sync"
	"time"
)

// A reservation lets a job that makes several writes in a row (the finish
// step: final status, check-run conclusion, final record) make all of them
// or none: its first write admits them all at once, or is deferred with
// nothing sent. Without it, a job deferred at its third write would run
// again and repeat the first two, spending the budget twice.
type reservation struct {
	n   int
	pri Priority

	mu      sync.Mutex
	pacers  *Pacers
	budget  *budget
	held    []*slot // admitted, not yet used
	claimed bool
}

type reservationKey struct{}

// Reserve marks ctx so that the first write made with it admits n writes of
// priority pri at once (the writes made later with ctx use them). release
// gives back the ones left unused; call it when the writes are done.
func Reserve(ctx context.Context, n int, pri Priority) (_ context.Context, release func()) {
	r := &reservation{n: n, pri: pri}
	return context.WithValue(ctx, reservationKey{}, r), r.release
}

func reservationFrom(ctx context.Context) *reservation {
	r, _ := ctx.Value(reservationKey{}).(*reservation)
	return r
}

// take admits one write of the reservation: the first claims all n.
// ok is false when the reservation is used up (the write is admitted on
// its own).
func (r *reservation) take(p *Pacers, installation int64) (s Slot, wait time.Duration, err error, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := p.now()
	if !r.claimed {
		b := p.budget(installation)
		held, wait, err := b.admitN(p.limits, r.pri, r.n, now)
		p.record(r.pri, installation, wait, err)
		if err != nil {
			return Slot{}, 0, p.waitError(installation, r.pri, wait, err), true
		}
		r.claimed, r.pacers, r.budget, r.held = true, p, b, held
	} else if len(r.held) == 0 {
		return Slot{}, 0, nil, false
	} else {
		p.record(r.pri, installation, 0, nil)
	}
	sl := r.held[0]
	r.held = r.held[1:]
	return Slot{b: r.budget, s: sl, p: p}, max(sl.at.Sub(now), 0), nil, true
}

func (r *reservation) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.budget != nil && len(r.held) > 0 {
		r.budget.remove(r.held)
	}
	r.held = nil
}

// admitN admits n writes of pri at once (the same time), or none.
func (b *budget) admitN(l Limits, pri Priority, n int, now time.Time) ([]*slot, time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune(now.Add(-l.Hour))
	perMinute, perHour := caps(l, pri)
	// More than a window holds is never admitted at once: the rest of the
	// reservation's writes are admitted one by one.
	n = max(min(n, perMinute, perHour), 1)
	at := latest(now, b.freeAt(perMinute-n+1, l.Minute), b.freeAt(perHour-n+1, l.Hour))
	wait := at.Sub(now)
	if wait > l.MaxInlineWait {
		return nil, wait, errNoBudget
	}
	held := make([]*slot, n)
	for i := range held {
		held[i] = &slot{at: at}
		b.insert(held[i])
	}
	return held, wait, nil
}

func (b *budget) remove(gone []*slot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	drop := map[*slot]bool{}
	for _, s := range gone {
		drop[s] = true
	}
	kept := b.slots[:0]
	for _, s := range b.slots {
		if !drop[s] {
			kept = append(kept, s)
		}
	}
	b.slots = kept
}
