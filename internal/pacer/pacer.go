// Package pacer keeps each GitHub App installation's writes under GitHub's
// secondary rate limits: about 80 content-creating requests (POST, PATCH,
// PUT, DELETE) a minute and 500 an hour per installation. A client that keeps
// writing once limited risks being banned, so writes are budgeted before they
// are sent, in sliding windows, by priority:
//
//   - Final writes (the Deployment, its final status, check-run conclusions,
//     the final record, protection-rule answers) may use the whole budget;
//   - Normal writes leave a reserve for Final ones (by default 20 % of the
//     minute and 5 % of the hour);
//   - Droppable writes (the 👀 reaction, queued/in_progress statuses,
//     intermediate record edits) are not sent at all once half of either
//     window is used: ErrDropped, which callers treat as "not needed".
//
// A Normal or Final write without budget waits inline when the wait is short
// (Limits.MaxInlineWait); otherwise it fails with a *WaitError carrying the
// wait, which the caller's job turns into a durable snooze.
//
// The budget is per process. Two replicas working for one installation would
// each spend the whole budget; they need either a shared budget (the
// windows' write times in the store, admitted in a transaction or under a
// per-installation advisory lock, at one more database round trip per
// write) or a split one (each replica configured with 1/N of the limits,
// simple but wasteful when the load is uneven).
package pacer

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Priority ranks a write.
type Priority int

// Priorities; the zero value lets the transport classify the request.
const (
	Unclassified Priority = iota
	Droppable
	Normal
	Final
)

func (p Priority) String() string {
	switch p {
	case Droppable:
		return "droppable"
	case Normal:
		return "normal"
	case Final:
		return "final"
	}
	return "unclassified"
}

// Priorities lists the priorities a write can have, for metrics.
var Priorities = []Priority{Droppable, Normal, Final}

// Limits configure a budget. Tests scale Minute and Hour (and MaxInlineWait)
// down to run an hour of writes in seconds.
type Limits struct {
	PerMinute, PerHour int           // GitHub: 80 and 500
	Minute, Hour       time.Duration // the windows: a minute and an hour
	// ReserveMinute and ReserveHour are the shares of each window Normal
	// writes may not use: kept for Final ones.
	ReserveMinute, ReserveHour float64
	// DropAt is the share of either window past which Droppable writes are
	// not sent.
	DropAt float64
	// MaxInlineWait is the longest a write waits for budget in place;
	// longer waits are returned as *WaitError.
	MaxInlineWait time.Duration
}

// DefaultLimits are GitHub's secondary limits for content-creating requests.
func DefaultLimits() Limits {
	return Limits{
		PerMinute: 80, PerHour: 500, Minute: time.Minute, Hour: time.Hour,
		ReserveMinute: 0.2, ReserveHour: 0.05, DropAt: 0.5, MaxInlineWait: time.Second,
	}
}

// Scaled is l with its windows and inline wait divided by factor: a "minute"
// of Minute/factor.
func (l Limits) Scaled(factor float64) Limits {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / factor) }
	l.Minute, l.Hour, l.MaxInlineWait = scale(l.Minute), scale(l.Hour), scale(l.MaxInlineWait)
	return l
}

// ErrDropped is returned for a Droppable write not sent under pressure.
var ErrDropped = errors.New("write not sent: GitHub's secondary rate limit is near and this write is not needed")

// WaitError is returned for a Normal or Final write that would have to wait
// longer than Limits.MaxInlineWait for budget. Nothing was sent.
type WaitError struct {
	Installation int64
	Priority     Priority
	Wait         time.Duration
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("installation %d is out of write budget for %s writes: retry in %s", e.Installation, e.Priority, e.Wait)
}

// Outcome is what happened to one write.
type Outcome int

// Outcomes.
const (
	Sent     Outcome = iota // sent at once
	Waited                  // sent after a short inline wait
	Deferred                // returned as *WaitError
	Dropped                 // not sent: ErrDropped
	outcomes
)

func (o Outcome) String() string {
	return [...]string{"sent", "waited", "deferred", "dropped"}[o]
}

// Outcomes lists every outcome, for metrics.
var Outcomes = []Outcome{Sent, Waited, Deferred, Dropped}

// Pacers holds one budget per installation.
type Pacers struct {
	limits Limits
	now    func() time.Time
	// Observe, when set, is told every decision (metrics).
	observe func(Priority, Outcome)

	mu      sync.Mutex
	budgets map[int64]*budget
	counts  [Final + 1][outcomes]atomic.Int64
}

// New returns the pacers for limits; now is the clock (time.Now when nil).
func New(l Limits, now func() time.Time, observe func(Priority, Outcome)) *Pacers {
	if now == nil {
		now = time.Now
	}
	return &Pacers{limits: l, now: now, observe: observe, budgets: map[int64]*budget{}}
}

// Limits returns the configured limits.
func (p *Pacers) Limits() Limits { return p.limits }

// Count is how many writes of priority pri had outcome o.
func (p *Pacers) Count(pri Priority, o Outcome) int64 { return p.counts[pri][o].Load() }

func (p *Pacers) budget(installation int64) *budget {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.budgets[installation]
	if b == nil {
		b = &budget{}
		p.budgets[installation] = b
	}
	return b
}

// Slot is one admitted write: Done records when its answer came back.
type Slot struct {
	b *budget
	s *slot
	p *Pacers
}

// Done moves the write's time to now (never earlier): GitHub counted it
// between sending and answering, so the window's end is kept conservative.
func (s Slot) Done() {
	if s.b == nil {
		return
	}
	s.b.done(s.s, s.p.now())
}

// Admit decides one write of priority pri for installation now. It returns
// the slot to mark Done and how long to wait before sending (≤
// MaxInlineWait); or ErrDropped; or a *WaitError.
func (p *Pacers) Admit(installation int64, pri Priority) (Slot, time.Duration, error) {
	if pri == Unclassified {
		pri = Normal
	}
	b := p.budget(installation)
	s, wait, err := b.admit(p.limits, pri, p.now())
	p.record(pri, installation, wait, err)
	if err != nil {
		return Slot{}, 0, p.waitError(installation, pri, wait, err)
	}
	return Slot{b: b, s: s, p: p}, wait, nil
}

// errNoBudget is admit's answer when the wait is too long to wait inline.
var errNoBudget = errors.New("no budget")

func (p *Pacers) waitError(installation int64, pri Priority, wait time.Duration, err error) error {
	if errors.Is(err, errNoBudget) {
		return &WaitError{Installation: installation, Priority: pri, Wait: wait}
	}
	return err
}

// record counts one decision.
func (p *Pacers) record(pri Priority, _ int64, wait time.Duration, err error) {
	o := Sent
	switch {
	case errors.Is(err, ErrDropped):
		o = Dropped
	case err != nil:
		o = Deferred
	case wait > 0:
		o = Waited
	}
	p.counts[pri][o].Add(1)
	if p.observe != nil {
		p.observe(pri, o)
	}
}

// budget is one installation's writes of the last hour, oldest first. A
// write's time is when it may be sent (admission, or the end of an inline
// wait), moved to when its answer came back.
type budget struct {
	mu    sync.Mutex
	slots []*slot
	// promised is, per priority, the latest time a deferred write was told
	// to come back: the next one deferred comes back a fair share of the
	// minute later, so that deferred writes return one by one instead of
	// all at the moment one write leaves the window.
	promised [Final + 1]time.Time
}

type slot struct{ at time.Time }

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// caps are the writes of pri allowed per minute and per hour.
func caps(l Limits, pri Priority) (perMinute, perHour int) {
	perMinute, perHour = l.PerMinute, l.PerHour
	if pri != Final {
		perMinute -= int(float64(l.PerMinute)*l.ReserveMinute + 0.5)
		perHour -= int(float64(l.PerHour)*l.ReserveHour + 0.5)
	}
	return perMinute, perHour
}

func (b *budget) admit(l Limits, pri Priority, now time.Time) (*slot, time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune(now.Add(-l.Hour))
	if pri == Droppable {
		inMinute := b.since(now.Add(-l.Minute))
		if float64(inMinute) >= l.DropAt*float64(l.PerMinute) || float64(len(b.slots)) >= l.DropAt*float64(l.PerHour) {
			return nil, 0, ErrDropped
		}
	}
	perMinute, perHour := caps(l, pri)
	at := latest(now, b.freeAt(perMinute, l.Minute), b.freeAt(perHour, l.Hour))
	wait := at.Sub(now)
	if wait > l.MaxInlineWait {
		if last := b.promised[pri]; last.After(now) {
			at = latest(at, last.Add(l.Minute/time.Duration(max(perMinute, 1))))
		}
		b.promised[pri] = at
		return nil, at.Sub(now), errNoBudget
	}
	s := &slot{at: at}
	b.insert(s)
	return s, wait, nil
}

// freeAt is the earliest time one more write fits limit writes per window.
// Every write kept (those ahead of now too, already admitted) counts: the
// k-th from the end must have left the window.
func (b *budget) freeAt(limit int, window time.Duration) time.Time {
	if limit <= 0 {
		return farFuture // no write of this priority fits
	}
	k := len(b.slots) - limit // writes that must leave the window first
	if k < 0 {
		return time.Time{}
	}
	// A nanosecond past the window: the write at the edge has left it.
	return b.slots[k].at.Add(window + time.Nanosecond)
}

// since counts the writes at or after t.
func (b *budget) since(t time.Time) int {
	i := sort.Search(len(b.slots), func(i int) bool { return !b.slots[i].at.Before(t) })
	return len(b.slots) - i
}

// prune drops the writes older than t.
func (b *budget) prune(t time.Time) {
	i := sort.Search(len(b.slots), func(i int) bool { return b.slots[i].at.After(t) })
	if i > 0 {
		b.slots = append(b.slots[:0], b.slots[i:]...)
	}
}

func (b *budget) insert(s *slot) {
	i := sort.Search(len(b.slots), func(i int) bool { return b.slots[i].at.After(s.at) })
	b.slots = append(b.slots, nil)
	copy(b.slots[i+1:], b.slots[i:])
	b.slots[i] = s
}

func (b *budget) done(s *slot, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !now.After(s.at) {
		return
	}
	s.at = now
	sort.SliceStable(b.slots, func(i, j int) bool { return b.slots[i].at.Before(b.slots[j].at) })
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
