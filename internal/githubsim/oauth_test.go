package githubsim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// noRedirect is a browser that stops at the first redirect.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func oauthConfig(sim *Sim, redirect string) *oauth2.Config {
	id, secret := sim.OAuthClient()
	web := sim.WebHostURL()
	return &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{AuthURL: web + "login/oauth/authorize", TokenURL: web + "login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams}}
}

// authorizeAs runs the browser part of the web flow and returns the code.
func authorizeAs(t *testing.T, sim *Sim, conf *oauth2.Config, state string) (code string, resp *http.Response) {
	t.Helper()
	resp, err := noRedirect(nil).Get(conf.AuthCodeURL(state))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", resp
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	if got := u.Query().Get("state"); got != state {
		t.Fatalf("state %q came back as %q", state, got)
	}
	return u.Query().Get("code"), resp
}

func TestOAuthWebFlowListsOnlyReadableRepositories(t *testing.T) {
	sim := New(Options{TB: t})
	sim.AddInstallation(7, "acme")
	shop := sim.AddRepo("acme", "shop", "main")
	sim.AddRepo("acme", "secret", "main")
	shop.SetPermission("alice", "write")
	sim.SetOAuthCallbacks("http://deploybot.test/auth/callback")
	conf := oauthConfig(sim, "http://deploybot.test/auth/callback")
	ctx := context.Background()

	t.Run("a browser not signed in gets the sign-in form", func(t *testing.T) {
		_, resp := authorizeAs(t, sim, conf, "s0")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	sim.SignInWeb("alice")
	code, _ := authorizeAs(t, sim, conf, "s1")
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken, "ghu_") {
		t.Fatalf("token %q", tok.AccessToken)
	}
	t.Run("a code works once", func(t *testing.T) {
		if _, err := conf.Exchange(ctx, code); err == nil || !strings.Contains(err.Error(), "bad_verification_code") {
			t.Fatalf("second exchange: %v", err)
		}
	})
	t.Run("a wrong client secret is refused", func(t *testing.T) {
		code, _ := authorizeAs(t, sim, conf, "s2")
		bad := *conf
		bad.ClientSecret = "nope"
		if _, err := bad.Exchange(ctx, code); err == nil || !strings.Contains(err.Error(), "incorrect_client_credentials") {
			t.Fatalf("exchange: %v", err)
		}
	})
	client := conf.Client(ctx, tok)
	get := func(path string, v any) int {
		resp, err := client.Get(sim.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(v)
		return resp.StatusCode
	}
	var me struct {
		Login string `json:"login"`
	}
	if st := get("user", &me); st != 200 || me.Login != "alice" {
		t.Fatalf("GET /user: %d %+v", st, me)
	}
	var insts struct {
		TotalCount    int `json:"total_count"`
		Installations []struct {
			ID int64 `json:"id"`
		} `json:"installations"`
	}
	if st := get("user/installations", &insts); st != 200 || insts.TotalCount != 1 || insts.Installations[0].ID != 7 {
		t.Fatalf("installations: %d %+v", st, insts)
	}
	var repos struct {
		Repositories []struct {
			FullName    string          `json:"full_name"`
			Permissions map[string]bool `json:"permissions"`
		} `json:"repositories"`
	}
	if st := get("user/installations/7/repositories", &repos); st != 200 || len(repos.Repositories) != 1 ||
		repos.Repositories[0].FullName != "acme/shop" || !repos.Repositories[0].Permissions["push"] {
		t.Fatalf("repositories: %d %+v", st, repos)
	}
	shop.SetPermission("alice", "none")
	if st := get("user/installations/7/repositories", &repos); st != 404 {
		t.Fatalf("after losing access: %d", st)
	}
	t.Run("an installation token cannot list a user's installations", func(t *testing.T) {
		req, _ := http.NewRequest("GET", sim.URL+"user/installations", nil)
		req.Header.Set("Authorization", "Bearer ghs_nope")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestOAuthSignInForm(t *testing.T) {
	sim := New(Options{TB: t})
	sim.SetOAuthCallbacks("http://deploybot.test/auth/callback")
	conf := oauthConfig(sim, "http://deploybot.test/auth/callback")
	jar, _ := cookiejar.New(nil)
	browser := noRedirect(jar)
	authURL := conf.AuthCodeURL("st")
	u, _ := url.Parse(authURL)
	resp, err := browser.PostForm(sim.WebHostURL()+"session", url.Values{"login": {"bob"}, "return_to": {u.RequestURI()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = browser.Get(sim.WebHostURL() + strings.TrimPrefix(resp.Header.Get("Location"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://deploybot.test/auth/callback?code=") {
		t.Fatalf("after signing in: %d %s", resp.StatusCode, loc)
	}
}

func TestOAuthRefusesForeignRedirect(t *testing.T) {
	sim := New(Options{})
	defer sim.Close()
	sim.SetOAuthCallbacks("http://deploybot.test/auth/callback")
	sim.SignInWeb("alice")
	for _, redirect := range []string{"http://evil.test/auth/callback", "http://deploybot.test/other", "http://deploybot.test:81/auth/callback"} {
		t.Run(redirect, func(t *testing.T) {
			sim.ResetViolations()
			_, resp := authorizeAs(t, sim, oauthConfig(sim, redirect), "x")
			if resp.StatusCode != http.StatusBadRequest || len(sim.Violations()) != 1 {
				t.Fatalf("status %d, violations %v", resp.StatusCode, sim.Violations())
			}
		})
	}
}
