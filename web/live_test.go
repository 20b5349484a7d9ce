package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// openStream opens /events as a signed-in viewer of repos and returns a
// reader of its events' data lines.
func openStream(t *testing.T, s *Server, repos ...string) (*httptest.Server, func() (liveEvent, error)) {
	t.Helper()
	signedInAs(t, s, repos...) // registers the session's access
	sess := &session{ID: "test-" + t.Name(), Login: "alice", Token: "ghu_x", Expires: s.c.Now().Add(time.Hour)}
	cookie, _ := s.seal.seal(sessionCookie, sess)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+"/events", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/events answered %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	return srv, func() (liveEvent, error) {
		var ev liveEvent
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return ev, json.Unmarshal([]byte(data), &ev)
			}
		}
		if err := lines.Err(); err != nil {
			return ev, err
		}
		return ev, io.EOF
	}
}

// A signed-in page hears, by name only, the changes of the repositories
// its viewer can read, and nothing of the others.
func TestLiveEventsFollowWhatTheViewerCanRead(t *testing.T) {
	s := newTestServer(t, Config{ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "http://deploybot.test"})
	_, next := openStream(t, s, "acme/Web")

	storetest.AddDeployments(t, s.c.Store, []store.Deployment{{Repo: "acme/secret", Environment: "production", SHA: "5ec12e7", State: store.StateRunning, Reason: "hidden"}})
	d := storetest.AddDeployments(t, s.c.Store, []store.Deployment{{Repo: "acme/web", Environment: "staging", SHA: "abc1234", State: store.StateRunning}})[0]
	ev, err := next()
	if err != nil {
		t.Fatal(err)
	}
	want := store.Change{Repo: "acme/Web", Environment: "staging", Deployment: d.ID}
	if len(ev.Changes) != 1 || ev.Changes[0] != want || ev.Reload {
		t.Fatalf("the viewer of acme/Web was told %+v; want only %+v (named as GitHub spells it)", ev, want)
	}
}

func TestLiveEventsEnd(t *testing.T) {
	for name, end := range map[string]func(s *Server){
		"when the server shuts down": func(s *Server) { s.EndStreams() },
		"when the store closes":      func(s *Server) { s.c.Store.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			s := newTestServer(t, Config{ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "http://deploybot.test"})
			_, next := openStream(t, s, "acme/web")
			end(s)
			if ev, err := next(); err != io.EOF {
				t.Fatalf("the stream went on: %+v %v", ev, err)
			}
		})
	}
	t.Run("when the viewer's access must be read again", func(t *testing.T) {
		s := newTestServer(t, Config{ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "http://deploybot.test", AccessTTL: 50 * time.Millisecond})
		_, next := openStream(t, s, "acme/web")
		if ev, err := next(); err != io.EOF {
			t.Fatalf("the stream outlived the viewer's access check: %+v %v", ev, err)
		}
	})
}

func TestLiveEventsNeedSignIn(t *testing.T) {
	s := newTestServer(t, Config{ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "http://deploybot.test"})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/events", nil).WithContext(context.Background()))
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "/auth/login") {
		t.Fatalf("signed out, /events answered %d %s", w.Code, w.Header().Get("Location"))
	}
}

// Pages that follow live updates say which repository they show; the
// script is served from deploybot itself (the CSP allows nothing else).
func TestPagesFollowLiveUpdates(t *testing.T) {
	s := newTestServer(t, Config{ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "http://deploybot.test"})
	storetest.AddDeployments(t, s.c.Store, []store.Deployment{{Repo: "acme/web", Environment: "staging", SHA: "abc1234", State: store.StateSuccess}})
	get := signedInAs(t, s, "acme/web")
	// The record page (it needs the deploy service) is followed in the
	// browser story (app/browser_e2e_test.go).
	for path, live := range map[string]string{"/": "*", "/acme/web": "acme/web"} {
		t.Run(path, func(t *testing.T) {
			code, body := get(path)
			if code != http.StatusOK || !strings.Contains(body, `<main data-live="`+live+`">`) || !strings.Contains(body, `<script src="/static/live.js" defer>`) {
				t.Fatalf("%s (%d) does not follow live updates of %q:\n%s", path, code, live, body)
			}
		})
	}
	_, notFound := get("/acme/other")
	if strings.Contains(notFound, "data-live") {
		t.Fatal("a page that shows nothing live loads the live script")
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/static/live.js", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `new EventSource("/events")`) {
		t.Fatalf("/static/live.js: %d", w.Code)
	}
}
