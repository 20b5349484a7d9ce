package pacer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock                   { return &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }
func testLimits() Limits                     { l := DefaultLimits(); l.MaxInlineWait = time.Second; return l }
func sendN(t *testing.T, p *Pacers, id int64, pri Priority, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		s, wait, err := p.Admit(id, pri)
		if err != nil || wait != 0 {
			t.Fatalf("write %d of %d (%s): wait %s, err %v", i+1, n, pri, wait, err)
		}
		s.Done()
	}
}

// hourOf sends blocks of 25 writes two minutes apart.
func hourOf(t *testing.T, p *Pacers, c *fakeClock, blocks int) {
	t.Helper()
	for range blocks {
		sendN(t, p, 1, Final, 25)
		c.advance(2 * time.Minute)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body string
		mark                     Priority
		want                     Priority
	}{
		{"create deployment", "POST", "/repos/acme/shop/deployments", `{"ref":"abc"}`, 0, Final},
		{"success status", "POST", "/repos/acme/shop/deployments/7/statuses", `{"state":"success"}`, 0, Final},
		{"failure status", "POST", "/repos/acme/shop/deployments/7/statuses", `{"state":"failure"}`, 0, Final},
		{"error status", "POST", "/repos/acme/shop/deployments/7/statuses", `{"state":"error"}`, 0, Final},
		{"inactive status", "POST", "/repos/acme/shop/deployments/7/statuses", `{"state":"inactive"}`, 0, Final},
		{"queued status", "POST", "/repos/acme/shop/deployments/7/statuses", `{"state":"queued"}`, 0, Droppable},
		{"in_progress status", "POST", "/repos/acme/shop/deployments/7/statuses", `{"state":"in_progress"}`, 0, Droppable},
		{"pending status", "POST", "/repos/acme/shop/deployments/7/statuses", `{"state":"pending"}`, 0, Normal},
		{"in_progress status marked normal", "POST", "/repos/acme/shop/deployments/7/statuses", `{"state":"in_progress"}`, Normal, Normal},
		{"check run created in progress", "POST", "/repos/acme/shop/check-runs", `{"name":"deploy/staging","status":"in_progress"}`, 0, Normal},
		{"check run created with conclusion", "POST", "/repos/acme/shop/check-runs", `{"name":"g","conclusion":"success"}`, 0, Final},
		{"check run completed", "PATCH", "/repos/acme/shop/check-runs/9", `{"status":"completed"}`, 0, Final},
		{"check run concluded", "PATCH", "/repos/acme/shop/check-runs/9", `{"conclusion":"failure"}`, 0, Final},
		{"check run progress", "PATCH", "/repos/acme/shop/check-runs/9", `{"output":{"title":"x","summary":"y"}}`, 0, Normal},
		{"protection rule answer", "POST", "/repos/acme/shop/actions/runs/5/deployment_protection_rule", `{"state":"approved"}`, 0, Final},
		{"reaction", "POST", "/repos/acme/shop/issues/comments/3/reactions", `{"content":"eyes"}`, 0, Droppable},
		{"comment", "POST", "/repos/acme/shop/issues/4/comments", `{"body":"hi"}`, 0, Normal},
		{"comment edit unmarked", "PATCH", "/repos/acme/shop/issues/comments/3", `{"body":"hi"}`, 0, Normal},
		{"comment edit intermediate", "PATCH", "/repos/acme/shop/issues/comments/3", `{"body":"hi"}`, Droppable, Droppable},
		{"comment edit final", "PATCH", "/repos/acme/shop/issues/comments/3", `{"body":"hi"}`, Final, Final},
		{"tag", "POST", "/repos/acme/shop/git/refs", `{"ref":"refs/tags/x","sha":"abc"}`, 0, Normal},
		{"enterprise prefix", "POST", "/api/v3/repos/acme/shop/deployments/7/statuses", `{"state":"success"}`, 0, Final},
		{"repo named deployments", "POST", "/repos/acme/deployments/issues/1/comments", `{"body":"x"}`, 0, Normal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.mark != Unclassified {
				ctx = WithPriority(ctx, tc.mark)
			}
			req := httptest.NewRequest(tc.method, "https://api.github.com"+tc.path, nil).WithContext(ctx)
			body := []byte(tc.body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			if got := Classify(req); got != tc.want {
				t.Errorf("Classify = %s, want %s", got, tc.want)
			}
			if b, _ := io.ReadAll(req.Body); string(b) != tc.body {
				t.Errorf("the body to send became %q", b)
			}
		})
	}
}

func TestWindows(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  func(t *testing.T, p *Pacers, c *fakeClock) // writes already made
		pri     Priority
		outcome Outcome
		wait    time.Duration // for Waited and Deferred
	}{
		{"no pressure: droppable sent", nil, Droppable, Sent, 0},
		{"39 in the minute: droppable sent", func(t *testing.T, p *Pacers, _ *fakeClock) { sendN(t, p, 1, Final, 39) }, Droppable, Sent, 0},
		{"40 in the minute: droppable dropped", func(t *testing.T, p *Pacers, _ *fakeClock) { sendN(t, p, 1, Final, 40) }, Droppable, Dropped, 0},
		{"40 a minute ago: droppable sent", func(t *testing.T, p *Pacers, c *fakeClock) {
			sendN(t, p, 1, Final, 40)
			c.advance(time.Minute + time.Millisecond)
		}, Droppable, Sent, 0},
		{"250 in the hour: droppable dropped", func(t *testing.T, p *Pacers, c *fakeClock) {
			for i := 0; i < 5; i++ {
				sendN(t, p, 1, Final, 50)
				c.advance(2 * time.Minute)
			}
		}, Droppable, Dropped, 0},
		{"63 in the minute: normal sent", func(t *testing.T, p *Pacers, _ *fakeClock) { sendN(t, p, 1, Final, 63) }, Normal, Sent, 0},
		{"64 in the minute: normal deferred to the oldest's minute", func(t *testing.T, p *Pacers, c *fakeClock) {
			sendN(t, p, 1, Final, 64)
			c.advance(10 * time.Second)
		}, Normal, Deferred, 50*time.Second + time.Nanosecond},
		{"64 in the minute: final sent", func(t *testing.T, p *Pacers, _ *fakeClock) { sendN(t, p, 1, Final, 64) }, Final, Sent, 0},
		{"80 in the minute: final deferred", func(t *testing.T, p *Pacers, c *fakeClock) {
			sendN(t, p, 1, Final, 80)
			c.advance(30 * time.Second)
		}, Final, Deferred, 30*time.Second + time.Nanosecond},
		{"80 in the minute, the oldest leaving in 0.5 s: final waits inline", func(t *testing.T, p *Pacers, c *fakeClock) {
			sendN(t, p, 1, Final, 1)
			c.advance(30 * time.Second)
			sendN(t, p, 1, Final, 79)
			c.advance(29500 * time.Millisecond)
		}, Final, Waited, 500*time.Millisecond + time.Nanosecond},
		{"another installation's writes do not count", func(t *testing.T, p *Pacers, _ *fakeClock) { sendN(t, p, 2, Final, 80) }, Droppable, Sent, 0},
		{"474 in the hour: normal sent", func(t *testing.T, p *Pacers, c *fakeClock) {
			sendN(t, p, 1, Final, 24)
			c.advance(2 * time.Minute)
			hourOf(t, p, c, 18)
		}, Normal, Sent, 0},
		{"475 in the hour: normal deferred to the oldest's hour", func(t *testing.T, p *Pacers, c *fakeClock) { hourOf(t, p, c, 19) },
			Normal, Deferred, time.Hour - 38*time.Minute + time.Nanosecond},
		{"475 in the hour: final sent", func(t *testing.T, p *Pacers, c *fakeClock) { hourOf(t, p, c, 19) }, Final, Sent, 0},
		{"500 in the hour: final deferred to the oldest's hour", func(t *testing.T, p *Pacers, c *fakeClock) { hourOf(t, p, c, 20) },
			Final, Deferred, time.Hour - 40*time.Minute + time.Nanosecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			p := New(testLimits(), c.now, nil)
			if tc.before != nil {
				tc.before(t, p, c)
			}
			before := p.Count(tc.pri, tc.outcome)
			_, wait, err := p.Admit(1, tc.pri)
			var we *WaitError
			switch tc.outcome {
			case Sent:
				if err != nil || wait != 0 {
					t.Fatalf("want sent at once; wait %s, err %v", wait, err)
				}
			case Waited:
				if err != nil || wait != tc.wait {
					t.Fatalf("want an inline wait of %s; wait %s, err %v", tc.wait, wait, err)
				}
			case Dropped:
				if !errors.Is(err, ErrDropped) {
					t.Fatalf("want dropped; err %v", err)
				}
			case Deferred:
				if !errors.As(err, &we) || we.Wait != tc.wait || we.Priority != tc.pri {
					t.Fatalf("want a WaitError of %s; err %v", tc.wait, err)
				}
			}
			if n := p.Count(tc.pri, tc.outcome) - before; n != 1 {
				t.Errorf("count of %s %s went up by %d, want 1", tc.pri, tc.outcome, n)
			}
		})
	}
}

// Writes admitted with an inline wait hold their place: the next write
// queues behind them instead of being promised the same moment.
func TestInlineWaitsQueue(t *testing.T) {
	c := newClock()
	p := New(testLimits(), c.now, nil)
	sendN(t, p, 1, Final, 2)
	c.advance(time.Second)
	sendN(t, p, 1, Final, 78)
	c.advance(59*time.Second - 100*time.Millisecond)
	_, first, err := p.Admit(1, Final)
	if err != nil || first != 100*time.Millisecond+time.Nanosecond {
		t.Fatalf("first waiter: %s %v", first, err)
	}
	_, second, err := p.Admit(1, Final)
	if err != nil || second != 100*time.Millisecond+time.Nanosecond {
		t.Fatalf("second waiter takes the other write leaving then: %s %v", second, err)
	}
	var we *WaitError
	if _, _, err := p.Admit(1, Final); !errors.As(err, &we) || we.Wait != time.Second+100*time.Millisecond+time.Nanosecond {
		t.Fatalf("third waiter: want a WaitError of 1.1 s, got %v", err)
	}
}

// A write whose answer came back late counts from then: GitHub counted it
// somewhere between sending and answering.
func TestDoneMovesTheWrite(t *testing.T) {
	c := newClock()
	p := New(testLimits(), c.now, nil)
	s, _, _ := p.Admit(1, Final)
	c.advance(5 * time.Second)
	s.Done()
	sendN(t, p, 1, Final, 79)
	c.advance(56 * time.Second) // 61 s after the first was sent, 56 after its answer
	var we *WaitError
	if _, _, err := p.Admit(1, Final); !errors.As(err, &we) || we.Wait != 4*time.Second+time.Nanosecond {
		t.Fatalf("want a WaitError of 4 s (the first write's answer + 1 min), got %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	c := newClock()
	p := New(testLimits(), c.now, nil)
	sent := 0
	next := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: 201, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
	})
	rt := p.Middleware(next)
	do := func(id int64, method, path, body string) error {
		req, _ := http.NewRequest(method, "https://api.github.com"+path, strings.NewReader(body))
		if id != 0 {
			req = req.WithContext(ForInstallation(req.Context(), id))
		}
		_, err := rt.RoundTrip(req)
		return err
	}
	for i := 0; i < 80; i++ {
		if err := do(1, "POST", "/repos/a/b/deployments", `{}`); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name               string
		id                 int64
		method, path, body string
		wantErr            func(error) bool
		wantSent           bool
	}{
		{"reads pass", 1, "GET", "/repos/a/b", "", nil, true},
		{"app requests are not paced", 0, "POST", "/repos/a/b/deployments", `{}`, nil, true},
		{"reaction dropped", 1, "POST", "/repos/a/b/issues/comments/1/reactions", `{"content":"eyes"}`, func(err error) bool { return errors.Is(err, ErrDropped) }, false},
		{"final deferred", 1, "POST", "/repos/a/b/deployments/1/statuses", `{"state":"success"}`, func(err error) bool { var we *WaitError; return errors.As(err, &we) }, false},
		{"other installation sent", 2, "POST", "/repos/a/b/issues/comments/1/reactions", `{"content":"eyes"}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := sent
			err := do(tc.id, tc.method, tc.path, tc.body)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			if got := sent > before; got != tc.wantSent {
				t.Errorf("sent = %v, want %v", got, tc.wantSent)
			}
		})
	}
}
