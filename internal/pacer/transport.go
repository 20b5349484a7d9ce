package pacer

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

type installationKey struct{}

// ForInstallation marks requests made with ctx as the installation's: the
// pacer's Middleware budgets their writes. Unmarked requests (the app's own,
// with its JWT) pass unpaced.
func ForInstallation(ctx context.Context, id int64) context.Context {
	return context.WithValue(ctx, installationKey{}, id)
}

// InstallationTransport marks every request through it as installation id's.
func InstallationTransport(id int64, next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return next.RoundTrip(r.WithContext(ForInstallation(r.Context(), id)))
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Middleware budgets the writes of marked requests (ForInstallation): a
// write is sent, sent after a short wait, dropped (ErrDropped) or refused
// with a *WaitError. Reads pass untouched.
func (p *Pacers) Middleware(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		id, ok := r.Context().Value(installationKey{}).(int64)
		if !ok || !IsWrite(r.Method) {
			return next.RoundTrip(r)
		}
		pri := Classify(r)
		var slot Slot
		var wait time.Duration
		var err error
		res, reserved := reservationFrom(r.Context()), false
		if res != nil && pri != Droppable {
			slot, wait, err, reserved = res.take(p, id)
		}
		if !reserved {
			slot, wait, err = p.Admit(id, pri)
		}
		if err != nil {
			closeBody(r)
			return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
		}
		defer slot.Done()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-r.Context().Done():
				t.Stop()
				closeBody(r)
				return nil, r.Context().Err()
			case <-t.C:
			}
		}
		return next.RoundTrip(r)
	})
}

// closeBody closes the body of a request that will not be sent, as a
// RoundTripper must.
func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}
