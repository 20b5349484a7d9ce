package githubsim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/deploybot/deploybot/internal/loopback"
)

// The web host: GitHub's pages (github.com, GITHUB_URL) as opposed to its
// REST API (api.github.com, Sim.URL). The emulator serves the pages an app
// drives a browser through: registering an app from a manifest
// (manifest.go) and the OAuth web flow (oauth.go). It starts on first use
// (WebHostURL).

// webState is the web host's state, guarded by Sim.mu.
type webState struct {
	srv *loopback.Server
	url string

	clientSecret  string                   // the app's OAuth client secret
	callbackURLs  []string                 // the app's OAuth callback URLs
	defaultUser   string                   // signed in to GitHub in every browser (SignInWeb)
	sessions      map[string]string        // web session cookie -> login
	manifestCodes map[string]*manifestCode // one-time codes of registered manifests
	authCodes     map[string]*authCode     // one-time OAuth codes
	userTokens    map[string]*userToken    // user-to-server tokens (ghu_)
}

// webLocked returns the web state, creating it. Needs s.mu.
func (s *Sim) webLocked() *webState {
	if s.webHost == nil {
		s.webHost = &webState{
			clientSecret:  randomHex(20),
			sessions:      map[string]string{},
			manifestCodes: map[string]*manifestCode{},
			authCodes:     map[string]*authCode{},
			userTokens:    map[string]*userToken{},
		}
	}
	return s.webHost
}

// WebHostURL starts the emulated web host (once) and returns its base URL
// with a trailing slash: deploybot's GITHUB_URL in tests.
func (s *Sim) WebHostURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webLocked()
	if w.srv == nil {
		srv, err := loopback.New(s.webMux())
		if err != nil {
			panic(fmt.Sprintf("githubsim: %v", err)) // no free loopback port: nothing can run
		}
		w.srv, w.url = srv, srv.URL+"/"
	}
	return w.url
}

// closeWeb stops the web host. Called by Close.
func (s *Sim) closeWeb() {
	s.mu.Lock()
	w := s.webHost
	s.mu.Unlock()
	if w != nil && w.srv != nil {
		w.srv.Close()
	}
}

func (s *Sim) webMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /settings/apps/new", s.newAppFromManifest)
	mux.HandleFunc("POST /organizations/{org}/settings/apps/new", s.newAppFromManifest)
	mux.HandleFunc("GET /login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", s.accessToken)
	mux.HandleFunc("POST /session", s.signInForm)
	mux.HandleFunc("GET /favicon.ico", http.NotFound) // browsers ask for it; the emulator has none
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.violateLocked(r.Method, r.URL.Path, "", "no such page on the emulated GitHub web host")
		s.mu.Unlock()
		http.NotFound(w, r)
	})
	return mux
}

// SignInWeb makes login the user signed in to GitHub in every browser that
// has not signed in through the emulator's sign-in form ("" signs out).
func (s *Sim) SignInWeb(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login != "" {
		s.userLocked(login)
	}
	s.webLocked().defaultUser = login
	s.notifyLocked()
}

const webSessionCookie = "user_session"

// webUserLocked is the user signed in to GitHub in r's browser.
func (s *Sim) webUserLocked(r *http.Request) string {
	w := s.webLocked()
	if c, err := r.Cookie(webSessionCookie); err == nil {
		if login, ok := w.sessions[c.Value]; ok {
			return login
		}
	}
	return w.defaultUser
}

// signInForm is the emulator's "Sign in to GitHub" form: any login signs
// in (the emulator has no passwords) and returns to return_to on this host.
func (s *Sim) signInForm(w http.ResponseWriter, r *http.Request) {
	login := strings.TrimSpace(r.FormValue("login"))
	back := r.FormValue("return_to")
	if login == "" || !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		http.Error(w, "login and a local return_to are required", http.StatusUnprocessableEntity)
		return
	}
	s.mu.Lock()
	s.userLocked(login)
	sid := randomHex(16)
	s.webLocked().sessions[sid] = login
	s.notifyLocked()
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: webSessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, back, http.StatusFound)
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to GitHub</title></head><body>
<h1>Sign in to GitHub</h1><p>to continue to {{.App}}</p>
<form method="post" action="/session">
<input type="hidden" name="return_to" value="{{.Back}}">
<label>Username <input id="login" name="login" autofocus></label>
<button id="signin" type="submit">Sign in</button>
</form></body></html>
`))

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// webPageError answers a GitHub error page for a request a client should
// not have made, and records the violation.
func (s *Sim) webPageError(w http.ResponseWriter, r *http.Request, status int, problem string) {
	s.mu.Lock()
	s.violateLocked(r.Method, r.URL.Path, "", problem)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>GitHub</title><h1>%d</h1><p>%s</p>\n", status, template.HTMLEscapeString(problem))
}

// expired reports whether a one-time code issued at t for ttl has expired.
func expired(t time.Time, ttl time.Duration) bool { return time.Now().After(t.Add(ttl)) }
