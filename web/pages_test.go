package web

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// signedInAs serves s to a session whose readable repositories are set
// (as GitHub last said), without asking GitHub.
func signedInAs(t *testing.T, s *Server, repos ...string) func(path string) (int, string) {
	t.Helper()
	sess := &session{ID: "test-" + t.Name(), Login: "alice", Token: "ghu_x", Expires: s.c.Now().Add(time.Hour)}
	readable := map[string]string{}
	for _, r := range repos {
		readable[strings.ToLower(r)] = r
	}
	s.access[sess.ID] = &access{repos: readable, checked: s.c.Now()}
	cookie, err := s.seal.seal(sessionCookie, sess)
	if err != nil {
		t.Fatal(err)
	}
	return func(path string) (int, string) {
		r := httptest.NewRequest("GET", path, nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
}

var olderLink = regexp.MustCompile(`id="older" href="([^"]+)"`)

func TestHistoryPaginatesAndFilters(t *testing.T) {
	st := storetest.Open(t)
	var ds []store.Deployment
	for i := range 120 {
		state, env := store.StateSuccess, "staging"
		if i%4 == 0 {
			state, env = store.StateFailure, "production"
		}
		ds = append(ds, store.Deployment{Repo: "acme/shop", Environment: env, State: state, SHA: fmt.Sprintf("%040x", i), RequestedBy: "alice", InstallationID: 1})
	}
	storetest.AddDeployments(t, st, ds)
	s, err := New(Config{Store: st, ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "https://d.example"})
	if err != nil {
		t.Fatal(err)
	}
	get := signedInAs(t, s, "acme/shop")
	for _, tc := range []struct {
		name  string
		path  string
		pages []int // rows on each page, following "Older"
	}{
		{"everything", "/acme/shop", []int{50, 50, 20}},
		{"one environment", "/acme/shop?environment=production", []int{30}},
		{"one state", "/acme/shop?state=success", []int{50, 40}},
		{"nothing matches", "/acme/shop?trigger=release", []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			for i, want := range tc.pages {
				status, body := get(path)
				if status != http.StatusOK {
					t.Fatalf("%s: %d", path, status)
				}
				if got := strings.Count(body, `/deployments/`) - strings.Count(body, `class="sha" href=`); got != want {
					t.Fatalf("page %d (%s): %d rows, want %d", i+1, path, got, want)
				}
				m := olderLink.FindStringSubmatch(body)
				if last := i == len(tc.pages)-1; last != (m == nil) {
					t.Fatalf("page %d (%s): older link %v", i+1, path, m)
				}
				if m != nil {
					path = html.UnescapeString(m[1])
				}
			}
		})
	}
	t.Run("a repository the user cannot read is 404, like one that does not exist", func(t *testing.T) {
		get := signedInAs(t, s, "acme/other")
		status, body := get("/acme/shop")
		_, missing := get("/acme/nothing")
		if status != http.StatusNotFound || body != missing {
			t.Fatalf("%d\n%s", status, body)
		}
	})
}

// The dashboard says where a rollout is (its step, canary weight and own
// words), what is live by its ref, and how long its monitoring window has.
func TestDashboardShowsRolloutAndMonitoring(t *testing.T) {
	now := time.Now()
	s := newTestServer(t, Config{ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "http://deploybot.test", Now: func() time.Time { return now }})
	st := s.c.Store
	ctx := t.Context()
	live := storetest.AddDeployments(t, st, []store.Deployment{{Repo: "acme/web", Environment: "production", State: store.StateSuccess, Ref: "v1.4.0", SHA: "1234567abc", RequestedBy: "alice", InstallationID: 1}})[0]
	next := storetest.AddDeployments(t, st, []store.Deployment{{Repo: "acme/web", Environment: "production", State: store.StateWaiting, SHA: "89abcdef01", RequestedBy: "bob", InstallationID: 1}},
		store.Step{Name: "pause", Spec: `{"weight":25,"manual":true}`})[0]
	storetest.SetStep(t, st, next.ID, 0, store.StateWaiting, "Canary at 25 %: paused for Promote")
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.StartMonitor(ctx, store.Monitor{DeploymentID: live.ID, Repo: "acme/web", Environment: "production", StartedAt: now, EndsAt: now.Add(42*time.Minute + 30*time.Second)})
	}); err != nil {
		t.Fatal(err)
	}
	code, body := signedInAs(t, s, "acme/web")("/")
	if code != http.StatusOK {
		t.Fatalf("%d", code)
	}
	for _, want := range []string{`<code class="ref">v1.4.0</code>`, "monitoring, 42 min left", "at pause (25 %)", "Canary at 25 %: paused for Promote"} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks %q:\n%s", want, body)
		}
	}
}
