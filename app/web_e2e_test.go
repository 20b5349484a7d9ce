package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
)

// Alice deploys and finds the deployment on deploybot's pages; Mallory,
// who cannot read the repository, finds nothing of it - not even by URL.
func TestPagesShowOnlyWhatTheUserCanRead(t *testing.T) {
	t.Parallel()
	c := &clock{}
	s := newStoryAt(t, "", c.Now)
	s.Repo.SetPermission("alice", "write")
	s.Sim.AddRepo(SandboxOwner, "secret", "main").SetPermission("mallory", "read")
	pr, sha := s.openPR("feature", "alice")
	s.comment(pr, "alice", "/deploy staging")
	s.deploymentsFinished(1)
	rows, err := s.App.Store.History(s.ctx, SandboxRepoFull, store.HistoryFilter{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("history %v %v", rows, err)
	}
	record := fmt.Sprintf("/%s/deployments/%d", SandboxRepoFull, rows[0].ID)

	alice := s.signIn("alice")
	t.Run("alice sees what is live on the dashboard", func(t *testing.T) {
		page := alice.sees("/")
		contains(t, "dashboard", page, `data-repo="acme/shop" data-env="staging"`)
		contains(t, "dashboard", page, sha[:7]+`</a> <code class="ref">feature</code> by alice`)
		contains(t, "dashboard", page, `href="`+record+`"`)
	})
	t.Run("alice opens the history and the record", func(t *testing.T) {
		contains(t, "history", alice.sees("/acme/shop?environment=staging&state=success"), `href="`+record+`"`)
		contains(t, "filtered history", alice.sees("/acme/shop?state=failure"), "No deployments match these filters")
		page := alice.sees(record)
		contains(t, "record", page, `<table id="steps">`)
		contains(t, "record", page, "<td>verify</td>")
		contains(t, "record", page, sha)
	})

	mallory := s.signIn("mallory")
	t.Run("mallory sees neither the repository nor its record", func(t *testing.T) {
		if page := mallory.sees("/"); strings.Contains(page, "acme/shop") {
			t.Errorf("mallory's dashboard shows acme/shop:\n%s", page)
		}
		_, missing := mallory.get("/acme/nothing-here")
		for _, path := range []string{"/acme/shop", record, "/ACME/Shop", "/acme/shop/deployments/99999"} {
			status, body := mallory.get(path)
			if status != http.StatusNotFound || body != missing {
				t.Errorf("%s: %d, want the same 404 as a repository that does not exist:\n%s", path, status, body)
			}
		}
	})
	t.Run("a record shows only under its own repository", func(t *testing.T) {
		s.Repo.SetPermission("mallory", "none")
		if status, _ := mallory.get(fmt.Sprintf("/acme/secret/deployments/%d", rows[0].ID)); status != http.StatusNotFound {
			t.Errorf("acme/shop's record under acme/secret: %d", status)
		}
	})

	t.Run("access is re-checked with GitHub every 5 minutes", func(t *testing.T) {
		reads := func() int {
			n := 0
			for _, r := range s.Sim.Requests() {
				if r.Operation == "apps/list-installations-for-authenticated-user" {
					n++
				}
			}
			return n
		}
		before := reads()
		s.Repo.SetPermission("alice", "none")
		alice.sees(record) // still within 5 minutes of signing in
		c.Advance(4 * time.Minute)
		alice.sees("/acme/shop")
		if reads() != before {
			t.Fatalf("GitHub was asked again within 5 minutes (%d reads, had %d)", reads(), before)
		}
		c.Advance(time.Minute + time.Second)
		if status, _ := alice.get(record); status != http.StatusNotFound {
			t.Errorf("5 minutes after losing access alice still reads the record: %d", status)
		}
		if reads() != before+1 {
			t.Errorf("%d reads of the user's installations, want %d", reads(), before+1)
		}
	})

	t.Run("signing out needs the page's CSRF token", func(t *testing.T) {
		page := mallory.sees("/")
		if status, _ := mallory.post("/auth/logout", url.Values{}); status != http.StatusForbidden {
			t.Fatalf("sign-out without a token: %d", status)
		}
		if status, _ := mallory.post("/auth/logout", url.Values{"csrf": {csrf(t, alice.sees("/"))}}); status != http.StatusForbidden {
			t.Fatalf("sign-out with another session's token: %d", status)
		}
		if status, _ := mallory.post("/auth/logout", url.Values{"csrf": {csrf(t, page)}}); status != http.StatusOK {
			t.Fatalf("sign-out: %d", status)
		}
		resp, err := noRedirects(mallory.client.Jar).Get(s.Server.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
			t.Errorf("after signing out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// A signed-out visitor goes to /auth/login, which goes to GitHub with a
// state bound to the browser; a callback with a state the browser was not
// given is refused; fixed routes win over /{owner}/{repo}.
func TestSignInFlowAndLoginCSRF(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	client := noRedirects(nil)
	step := func(c *http.Client, u string) *http.Response {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := step(client, s.Server.URL+"/acme/shop?state=success")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/auth/login?return_to=%2Facme%2Fshop%3Fstate%3Dsuccess" {
		t.Fatalf("signed-out visitor: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = step(client, s.Server.URL+resp.Header.Get("Location"))
	to, _ := url.Parse(resp.Header.Get("Location"))
	id, _ := s.Sim.OAuthClient()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(to.String(), s.Sim.WebHostURL()+"login/oauth/authorize?") ||
		to.Query().Get("client_id") != id || to.Query().Get("redirect_uri") != s.Server.URL+"/auth/callback" || len(to.Query().Get("state")) < 20 {
		t.Fatalf("/auth/login: %d %s", resp.StatusCode, to)
	}
	var stateCookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "deploybot_oauth" {
			stateCookie = c
		}
	}
	if stateCookie == nil || !stateCookie.HttpOnly || stateCookie.SameSite != http.SameSiteLaxMode || stateCookie.Secure {
		t.Fatalf("state cookie %+v", stateCookie)
	}

	// The attacker's own sign-in: a real code, for the attacker.
	s.Sim.SignInWeb("attacker")
	resp = step(client, to.String())
	attackerCallback := resp.Header.Get("Location")
	if !strings.HasPrefix(attackerCallback, s.Server.URL+"/auth/callback?code=") {
		t.Fatalf("GitHub's answer: %s", attackerCallback)
	}
	t.Run("a victim's browser refuses the attacker's callback", func(t *testing.T) {
		victim := newStoryBrowserJar(t)
		step(noRedirects(victim), s.Server.URL+"/auth/login") // the victim has a state of its own
		if resp := step(noRedirects(victim), attackerCallback); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback with a foreign state: %d", resp.StatusCode)
		}
		if resp := step(noRedirects(nil), attackerCallback); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback without a state cookie: %d", resp.StatusCode)
		}
	})

	t.Run("fixed routes win over /{owner}/{repo}", func(t *testing.T) {
		for path, want := range map[string]int{"/healthz": 200, "/metrics": 200, "/readyz": 200, "/api/github": 404,
			"/deployments/1": 404, "/static/style.css": 200, "/setup/callback": 404, "/auth/nothing": 404} {
			if resp := step(client, s.Server.URL+path); resp.StatusCode != want {
				t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
			}
		}
	})
}

// Bob locks staging with a comment; the dashboard shows the lock with an
// Unlock button, which does exactly what `/unlock staging` would: Alice
// may not lift Bob's lock, Bob may, and only with the page's CSRF token.
func TestUnlockButtonIsTheUnlockCommand(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("alice", "write")
	s.Repo.SetPermission("bob", "maintain")
	pr, _ := s.openPR("feature", "alice")
	s.comment(pr, "bob", "/lock staging code freeze")
	s.settle()
	locked := func() bool {
		l, err := s.App.Store.ManualLock(s.ctx, SandboxRepoFull, "staging", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return l != nil
	}
	if !locked() {
		t.Fatalf("/lock did not lock staging: %v", s.deploybotComments(pr))
	}
	unlock := "/acme/shop/environments/staging/unlock"

	alice := s.signIn("alice")
	page := alice.sees("/")
	contains(t, "dashboard", page, "🔒 bob: code freeze")
	contains(t, "dashboard", page, `action="`+unlock+`"`)
	t.Run("alice may not lift bob's lock", func(t *testing.T) {
		status, body := alice.post(unlock, url.Values{"csrf": {csrf(t, page)}})
		if status != http.StatusForbidden || !strings.Contains(body, "Only @bob or a repository admin can unlock it") || !locked() {
			t.Fatalf("%d, locked %v:\n%s", status, locked(), body)
		}
	})
	bob := s.signIn("bob")
	t.Run("without the page's CSRF token nothing happens", func(t *testing.T) {
		if status, _ := bob.post(unlock, url.Values{}); status != http.StatusForbidden || !locked() {
			t.Fatalf("%d, locked %v", status, locked())
		}
		if status, _ := bob.post(unlock, url.Values{"csrf": {csrf(t, page)}}); status != http.StatusForbidden || !locked() {
			t.Fatalf("with alice's token: %d, locked %v", status, locked())
		}
	})
	t.Run("a user who cannot read the repository gets 404", func(t *testing.T) {
		mallory := s.signIn("mallory")
		if status, _ := mallory.post(unlock, url.Values{"csrf": {csrf(t, mallory.sees("/"))}}); status != http.StatusNotFound || !locked() {
			t.Fatalf("%d, locked %v", status, locked())
		}
	})
	t.Run("bob lifts his lock", func(t *testing.T) {
		status, body := bob.post(unlock, url.Values{"csrf": {csrf(t, bob.sees("/"))}})
		if status != http.StatusOK || !strings.Contains(body, "unlocked") || locked() {
			t.Fatalf("%d, locked %v:\n%s", status, locked(), body)
		}
	})
}

// A canary of production waits for Promote; the dashboard offers Promote
// and Abort on it, and pressing Promote there is `/promote production` by
// the signed-in user: a reader's press is refused, a writer's goes on.
func TestPromoteFromTheDashboard(t *testing.T) {
	t.Parallel()
	s := newStory(t, canaryConfig)
	s.Repo.SetPermission("alice", "write")
	s.Repo.SetPermission("rita", "read")
	pr, _ := s.openPR("feature/search", "alice")
	s.comment(pr, "alice", "/deploy production")
	s.paused()
	promote := "/acme/shop/environments/production/promote"

	rita := s.signIn("rita")
	page := rita.sees("/")
	contains(t, "dashboard", page, `action="`+promote+`"`)
	contains(t, "dashboard", page, `action="/acme/shop/environments/production/abort"`)
	status, body := rita.post(promote, url.Values{"csrf": {csrf(t, page)}})
	if status != http.StatusForbidden || !strings.Contains(body, "you can&#39;t promote the deployment to `production`") {
		t.Fatalf("a reader's Promote: %d\n%s", status, body)
	}
	if got := calls(s.Target); got != "deploy@10,deploy@50" {
		t.Fatalf("a reader's Promote moved the canary: %s", got)
	}

	alice := s.signIn("alice")
	status, body = alice.post(promote, url.Values{"csrf": {csrf(t, alice.sees("/"))}})
	if status != http.StatusOK || !strings.Contains(body, "Promoted") {
		t.Fatalf("alice's Promote: %d\n%s", status, body)
	}
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" {
		t.Fatalf("canary ended %s", d.LatestState())
	}
	contains(t, "the record", s.deploybotComments(pr)[0], "promoted by @alice")
}
