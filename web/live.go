package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/deploybot/deploybot/store"
)

// Live updates: the pages open /events (static/live.js), a stream of
// server-sent events naming what changed in the repositories the viewer
// can read - names only, never a row's content - and reload their live
// parts when a change concerns them. The events come from the store's
// change feed, which hears every replica's writes, so a page follows a
// deployment whichever replica runs it, with no polling anywhere.

// keepAlive is how often an idle stream says something, so proxies and
// load balancers that drop quiet connections keep it open.
const keepAlive = 25 * time.Second

// liveEvent is what one event tells the page.
type liveEvent struct {
	Changes []store.Change `json:"changes,omitempty"`
	// Reload: changes were missed; whatever the page shows may be stale.
	Reload bool `json:"reload,omitempty"`
}

// streams ends every open stream when the server stops.
type streams struct {
	once sync.Once
	done chan struct{}
}

// EndStreams ends the open event streams (the server is shutting down;
// browsers reconnect to another replica by themselves).
func (s *Server) EndStreams() { s.streams.once.Do(func() { close(s.streams.done) }) }

// events is GET /events. A stream lasts until the viewer's repositories
// are due to be read from GitHub again (AccessTTL after the last time):
// the browser then reconnects, and signedIn reads them again, so a revoked
// access ends the updates as it ends the pages.
func (s *Server) events(w http.ResponseWriter, r *http.Request, v *viewer) {
	sub, err := s.c.Store.Subscribe()
	if err != nil {
		s.c.Logger.Warn().Err(err).Msg("live updates unavailable")
		http.Error(w, "live updates are unavailable; reload the page to see changes", http.StatusServiceUnavailable)
		return
	}
	defer sub.Close()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the stream outlives the server's answer deadline
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	// retry: how long the browser waits before it reconnects.
	if _, err := w.Write([]byte("retry: 2000\n: deploybot live updates\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	// The stream ends when the viewer's repositories are due to be read again.
	end := time.NewTimer(max(v.checked.Add(s.c.AccessTTL).Sub(s.c.Now()), time.Second))
	defer end.Stop()
	idle := time.NewTicker(keepAlive)
	defer idle.Stop()
	for {
		var msg []byte
		select {
		case <-r.Context().Done():
			return
		case <-s.streams.done:
			return
		case <-sub.Closed():
			return
		case <-end.C:
			return
		case <-idle.C:
			msg = []byte(": keep-alive\n\n")
		case <-sub.Ready():
			changes, lost := sub.Take()
			msg = eventFor(v, changes, lost)
			if msg == nil {
				continue
			}
			idle.Reset(keepAlive)
		}
		if _, err := w.Write(msg); err != nil || rc.Flush() != nil {
			return
		}
	}
}

// eventFor is the event the viewer gets for changes: only those in
// repositories the viewer can read, nil when none.
func eventFor(v *viewer, changes []store.Change, lost bool) []byte {
	ev := liveEvent{Reload: lost}
	for _, c := range changes {
		if name, ok := v.canRead(c.Repo); ok {
			c.Repo = name
			ev.Changes = append(ev.Changes, c)
		}
	}
	if len(ev.Changes) == 0 && !ev.Reload {
		return nil
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("event: change\ndata: ")
	b.Write(data) // JSON has no raw newlines, so it is one data line
	b.WriteString("\n\n")
	return b.Bytes()
}
