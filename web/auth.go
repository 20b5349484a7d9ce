package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"golang.org/x/oauth2"
)

// errSignedOut means the session's token no longer works: sign in again.
var errSignedOut = errors.New("the GitHub token of the session no longer works")

// access is what one session may read, and when GitHub last said so.
type access struct {
	repos   map[string]string
	checked time.Time
}

// maxCachedSessions bounds the access cache; past it, stale entries go.
const maxCachedSessions = 10000

func (s *Server) setCookie(w http.ResponseWriter, name, value, path string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, Expires: expires,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	path := "/"
	if name == stateCookie {
		path = "/auth/"
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// session returns the request's session, nil when it has none (or a
// forged, foreign or expired one).
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	var sess session
	if s.seal.open(sessionCookie, c.Value, &sess) != nil || sess.ID == "" || !s.c.Now().Before(sess.Expires) {
		return nil
	}
	return &sess
}

// localPath keeps a return_to on this site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.HasPrefix(p, "/auth/") {
		return "/"
	}
	return p
}

// login starts the web flow: a fresh state, bound to this browser by a
// sealed cookie, and off to GitHub.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	st := signInState{State: randomID(), Return: localPath(r.URL.Query().Get("return_to")), Expires: s.c.Now().Add(stateTTL)}
	v, err := s.seal.seal(stateCookie, st)
	if err != nil {
		http.Error(w, "cannot start signing in", http.StatusInternalServerError)
		return
	}
	s.setCookie(w, stateCookie, v, "/auth/", st.Expires)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.oauth.AuthCodeURL(st.State), http.StatusFound)
}

// callback finishes the web flow. A state this browser was not given is
// refused (login CSRF: someone else's code would sign the victim in as
// them).
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	var st signInState
	c, err := r.Cookie(stateCookie)
	if err != nil || s.seal.open(stateCookie, c.Value, &st) != nil || !s.c.Now().Before(st.Expires) ||
		q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		s.refuse(w, http.StatusBadRequest, "This sign-in was not started in this browser (or took over 10 minutes).")
		return
	}
	s.clearCookie(w, stateCookie)
	if q.Get("error") != "" || q.Get("code") == "" {
		s.refuse(w, http.StatusForbidden, "GitHub did not sign you in.")
		return
	}
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.c.HTTP)
	tok, err := s.oauth.Exchange(ctx, q.Get("code"))
	if err != nil {
		s.c.Logger.Warn().Msg("GitHub refused the sign-in code")
		s.refuse(w, http.StatusForbidden, "GitHub did not accept the sign-in; try again.")
		return
	}
	sess := &session{ID: randomID(), Token: tok.AccessToken, Expires: tok.Expiry}
	if tok.Expiry.IsZero() {
		sess.Expires = s.c.Now().Add(8 * time.Hour)
	}
	me, _, err := s.github(ctx, sess).Users.Get(ctx, "")
	if err != nil {
		s.c.Logger.Warn().Int("status", statusOf(err)).Msg("read the signed-in user from GitHub")
		s.refuse(w, http.StatusBadGateway, "GitHub did not say who you are; try again.")
		return
	}
	sess.Login = me.GetLogin()
	v, err := s.seal.seal(sessionCookie, sess)
	if err != nil {
		http.Error(w, "cannot sign in", http.StatusInternalServerError)
		return
	}
	s.setCookie(w, sessionCookie, v, "/", sess.Expires)
	http.Redirect(w, r, localPath(st.Return), http.StatusFound)
}

func (s *Server) refuse(w http.ResponseWriter, status int, msg string) {
	w.WriteHeader(status)
	s.render(w, "message", page{Title: "Sign-in failed", Message: msg})
}

// logout ends the session (a form post with the CSRF token).
func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !s.seal.checkCSRF(r, v.session, s.origin) {
		http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	delete(s.access, v.ID)
	s.mu.Unlock()
	s.clearCookie(w, sessionCookie)
	w.WriteHeader(http.StatusOK)
	s.render(w, "message", page{Title: "Signed out", Message: "You are signed out of deploybot."})
}

func (s *Server) github(ctx context.Context, sess *session) *github.Client {
	hc := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, s.c.HTTP),
		oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sess.Token, TokenType: "bearer"}))
	gh := github.NewClient(hc)
	if u, err := url.Parse(strings.TrimSuffix(s.c.APIURL, "/") + "/"); err == nil && s.c.APIURL != "" {
		gh.BaseURL = u
	}
	return gh
}

func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// repositories returns what the session's user can read, from the cache
// while it is younger than AccessTTL.
func (s *Server) repositories(ctx context.Context, sess *session) (map[string]string, time.Time, error) {
	now := s.c.Now()
	s.mu.Lock()
	a := s.access[sess.ID]
	s.mu.Unlock()
	if a != nil && now.Sub(a.checked) < s.c.AccessTTL {
		return a.repos, a.checked, nil
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	repos, err := s.readRepositories(ctx, sess)
	if err != nil {
		return nil, time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.access) >= maxCachedSessions {
		for id, e := range s.access {
			if now.Sub(e.checked) >= s.c.AccessTTL {
				delete(s.access, id)
			}
		}
	}
	s.access[sess.ID] = &access{repos: repos, checked: now}
	return repos, now, nil
}

// readRepositories lists the installations' repositories the user can
// read: GET /user/installations, then each one's repositories.
func (s *Server) readRepositories(ctx context.Context, sess *session) (map[string]string, error) {
	gh := s.github(ctx, sess)
	out := map[string]string{}
	opt := &github.ListOptions{PerPage: 100}
	for {
		insts, resp, err := gh.Apps.ListUserInstallations(ctx, opt)
		if err != nil {
			return nil, ghErr(err, "list the user's installations")
		}
		for _, in := range insts {
			ropt := &github.ListOptions{PerPage: 100}
			for {
				list, rresp, err := gh.Apps.ListUserRepos(ctx, in.GetID(), ropt)
				if statusOf(err) == http.StatusNotFound {
					break // uninstalled meanwhile, or no longer visible to the user
				}
				if err != nil {
					return nil, ghErr(err, "list an installation's repositories")
				}
				for _, r := range list.Repositories {
					out[strings.ToLower(r.GetFullName())] = r.GetFullName()
				}
				if rresp.NextPage == 0 {
					break
				}
				ropt.Page = rresp.NextPage
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// ghErr keeps GitHub's status and drops its text (never echoed).
func ghErr(err error, what string) error {
	switch st := statusOf(err); st {
	case http.StatusUnauthorized:
		return errSignedOut
	case 0:
		return fmt.Errorf("%s: %w", what, err)
	default:
		return fmt.Errorf("%s: GitHub answered %d", what, st)
	}
}
