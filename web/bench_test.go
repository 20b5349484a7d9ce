package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// BenchmarkDashboard renders / for a user who can read 200 repositories
// with 3 environments each and 10,000 recorded deployments (SQLite unless
// DEPLOYBOT_TEST_DATABASE_URL is set): the cookie is opened, the access
// list is cached, the store is read and the page rendered.
func BenchmarkDashboard(b *testing.B) {
	const repos, deployments = 200, 10000
	envs := []string{"staging", "production", "qa"}
	st := storetest.Open(b)
	now := time.Now()
	var ds []store.Deployment
	for i := range deployments {
		state := store.StateSuccess
		switch {
		case i%10 == 3:
			state = store.StateFailure
		case i >= deployments-40:
			state = store.StateRunning
		}
		repo := fmt.Sprintf("acme/service-%03d", i%repos)
		ds = append(ds, store.Deployment{Repo: repo, Environment: envs[(i/repos)%len(envs)], State: state, InstallationID: 1,
			SHA: fmt.Sprintf("%040x", i), RequestedBy: "alice", FinishedAt: now.Add(-time.Duration(deployments-i) * time.Minute)})
	}
	storetest.AddDeployments(b, st, ds)
	for i := range 20 {
		if _, err := st.LockManually(b.Context(), store.ManualLock{Repo: fmt.Sprintf("acme/service-%03d", i), Environment: "production",
			Owner: "bob", Reason: "freeze"}, now); err != nil {
			b.Fatal(err)
		}
	}
	s, err := New(Config{Store: st, ClientID: "id", ClientSecret: "secret", SessionKey: testKey, PublicURL: "https://d.example"})
	if err != nil {
		b.Fatal(err)
	}
	sess := &session{ID: "bench", Login: "alice", Token: "ghu_x", Expires: now.Add(time.Hour)}
	readable := map[string]string{}
	for i := range repos {
		name := fmt.Sprintf("acme/service-%03d", i)
		readable[name] = name
	}
	s.access[sess.ID] = &access{repos: readable, checked: now.Add(time.Hour)} // cached for the whole run
	cookie, _ := s.seal.seal(sessionCookie, sess)
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})

	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusOK || strings.Count(w.Body.String(), "<tr data-repo=") != repos*len(envs) {
		b.Fatalf("%d, %d rows", w.Code, strings.Count(w.Body.String(), "<tr data-repo="))
	}
	b.ReportMetric(float64(w.Body.Len()), "page-bytes")
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
