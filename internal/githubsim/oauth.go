package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The OAuth web flow of a GitHub App (docs.github.com/apps/creating-github-apps/
// authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app):
// GET GITHUB_URL/login/oauth/authorize?client_id&redirect_uri&state shows
// "Sign in to GitHub" to a browser that is not signed in (the emulator's
// form takes any login), then redirects to redirect_uri with a one-time
// code (ten minutes) and the state unchanged; redirect_uri must be one of
// the app's callback URLs or below one (same host and port). POST
// GITHUB_URL/login/oauth/access_token exchanges client_id, client_secret
// and the code for a user-to-server token (ghu_, eight hours), answered as
// JSON for Accept: application/json, else form-encoded; a refused exchange
// is a 200 with "error" like GitHub's. The token reads GET /user/installations
// and GET /user/installations/{id}/repositories: the app's installations
// and repositories on which the user has an explicit role (or owns them).
// Authorizing the app for the first time is implied (no consent page).

type authCode struct {
	login, redirectURI string
	issued             time.Time
}

type userToken struct {
	login   string
	expires time.Time
}

const (
	authCodeTTL  = 10 * time.Minute
	userTokenTTL = 8 * time.Hour
)

func (s *Sim) clientID() string { return fmt.Sprintf("Iv1.%016x", s.opts.AppID) }

// OAuthClient returns the app's OAuth client id and secret.
func (s *Sim) OAuthClient() (id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientID(), s.webLocked().clientSecret
}

// SetOAuthCallbacks sets the app's OAuth callback URLs (a manifest's
// callback_urls set them too).
func (s *Sim) SetOAuthCallbacks(urls ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webLocked().callbackURLs = slices.Clone(urls)
}

// redirectAllowed reports whether redirect is a callback URL or below one.
func redirectAllowed(callbacks []string, redirect string) bool {
	ru, err := url.Parse(redirect)
	if err != nil {
		return false
	}
	for _, cb := range callbacks {
		cu, err := url.Parse(cb)
		if err != nil {
			continue
		}
		if cu.Scheme == ru.Scheme && cu.Host == ru.Host &&
			(ru.Path == cu.Path || strings.HasPrefix(ru.Path, strings.TrimSuffix(cu.Path, "/")+"/")) {
			return true
		}
	}
	return false
}

// authorize is GET /login/oauth/authorize.
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	web := s.webLocked()
	callbacks := web.callbackURLs
	login := s.webUserLocked(r)
	s.mu.Unlock()
	if q.Get("client_id") != s.clientID() {
		s.webPageError(w, r, http.StatusNotFound, "no application with client_id "+strconv.Quote(q.Get("client_id")))
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(callbacks) > 0 {
		redirect = callbacks[0]
	}
	if redirect == "" || !redirectAllowed(callbacks, redirect) {
		s.webPageError(w, r, http.StatusBadRequest, "The redirect_uri is not associated with this application.")
		return
	}
	if login == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = signInPage.Execute(w, map[string]string{"App": s.opts.AppName, "Back": r.URL.RequestURI()})
		return
	}
	code := randomHex(10)
	s.mu.Lock()
	web.authCodes[code] = &authCode{login: login, redirectURI: redirect, issued: time.Now()}
	s.notifyLocked()
	s.mu.Unlock()
	u, _ := url.Parse(redirect)
	rq := u.Query()
	rq.Set("code", code)
	if st := q.Get("state"); st != "" {
		rq.Set("state", st)
	}
	u.RawQuery = rq.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// accessToken is POST /login/oauth/access_token.
func (s *Sim) accessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.webPageError(w, r, http.StatusBadRequest, "unreadable form: "+err.Error())
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && id == "" {
		id, secret = u, p
	}
	answer := func(v map[string]any) {
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(v)
			return
		}
		form := url.Values{}
		for k, x := range v {
			form.Set(k, fmt.Sprint(x))
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte(form.Encode()))
	}
	fail := func(code, desc string) {
		answer(map[string]any{"error": code, "error_description": desc,
			"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + strings.ReplaceAll(code, "_", "-")})
	}
	s.mu.Lock()
	web := s.webLocked()
	if id != s.clientID() || secret != web.clientSecret {
		s.mu.Unlock()
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	code := r.PostForm.Get("code")
	ac := web.authCodes[code]
	delete(web.authCodes, code) // one use, whatever the outcome
	if ac == nil || expired(ac.issued, authCodeTTL) {
		s.mu.Unlock()
		fail("bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	if ru := r.PostForm.Get("redirect_uri"); ru != "" && ru != ac.redirectURI {
		s.mu.Unlock()
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	}
	t := &userToken{login: ac.login, expires: time.Now().Add(userTokenTTL).Truncate(time.Second)}
	value := "ghu_" + randomHex(18)
	web.userTokens[value] = t
	s.notifyLocked()
	s.mu.Unlock()
	answer(map[string]any{"access_token": value, "expires_in": int(userTokenTTL.Seconds()),
		"refresh_token": "ghr_" + randomHex(30), "refresh_token_expires_in": 15897600,
		"token_type": "bearer", "scope": ""})
}

// userAuthOps are the REST operations authenticated as a user (or not at
// all) rather than as the app or an installation.
var userAuthOps = map[string]string{
	"apps/create-from-manifest":                           "none",
	"users/get-authenticated":                             "user",
	"apps/list-installations-for-authenticated-user":      "user",
	"apps/list-installation-repos-for-authenticated-user": "user",
}

// authUserLocked authenticates an operation of userAuthOps; it returns
// the rate-limit bucket, or a status and message to refuse with.
func (s *Sim) authUserLocked(c *call, kind, scheme, cred string) (rateKey string, status int, msg string) {
	if kind == "none" {
		return "anonymous", 0, ""
	}
	t := s.webLocked().userTokens[cred]
	if (scheme != "token" && scheme != "bearer") || t == nil || time.Now().After(t.expires) {
		return "", http.StatusUnauthorized, "Bad credentials"
	}
	c.user = t.login
	return "user:" + strings.ToLower(t.login), 0, ""
}

// userRoleLocked is login's role on r ("" when none).
func userRoleLocked(r *Repo, login string) string {
	if strings.EqualFold(r.Owner, login) {
		return "admin"
	}
	if role := r.perms[strings.ToLower(login)]; role != "none" {
		return role
	}
	return ""
}

// userReposLocked lists the repositories of inst login has a role on.
func (s *Sim) userReposLocked(inst *Installation, login string) []*Repo {
	var out []*Repo
	for _, k := range sortedKeys(s.repos) {
		r := s.repos[k]
		if s.installationFor(r.Owner) == inst && userRoleLocked(r, login) != "" {
			out = append(out, r)
		}
	}
	return out
}

func (s *Sim) userInstallationJSON(in *Installation) map[string]any {
	acct := s.ownerOf(in.Account)
	created := ts(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	app := s.appJSON()
	return map[string]any{
		"id": in.ID, "account": s.userJSON(acct), "repository_selection": "all",
		"access_tokens_url": s.api("app", "installations", strconv.FormatInt(in.ID, 10), "access_tokens"),
		"repositories_url":  s.api("installation", "repositories"),
		"html_url":          s.web("organizations", in.Account, "settings", "installations", strconv.FormatInt(in.ID, 10)),
		"app_id":            s.opts.AppID, "app_slug": s.opts.AppSlug, "client_id": s.clientID(),
		"target_id": acct.ID, "target_type": acct.Type, "permissions": app["permissions"], "events": app["events"],
		"created_at": created, "updated_at": created, "single_file_name": nil,
		"suspended_by": nil, "suspended_at": nil,
	}
}

// handleUserInstallations implements GET /user/installations.
func handleUserInstallations(c *call) (int, any) {
	var ids []int64
	for id, in := range c.s.installations {
		if len(c.s.userReposLocked(in, c.user)) > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	lo, hi := c.paginate(len(ids))
	list := []any{}
	for _, id := range ids[lo:hi] {
		list = append(list, c.s.userInstallationJSON(c.s.installations[id]))
	}
	return http.StatusOK, map[string]any{"total_count": len(ids), "installations": list}
}

// handleUserInstallationRepos implements
// GET /user/installations/{installation_id}/repositories.
func handleUserInstallationRepos(c *call) (int, any) {
	id, _ := strconv.ParseInt(c.params["installation_id"], 10, 64)
	in := c.s.installations[id]
	if in == nil {
		return notFound()
	}
	repos := c.s.userReposLocked(in, c.user)
	if len(repos) == 0 {
		return notFound() // GitHub hides installations the user cannot see
	}
	lo, hi := c.paginate(len(repos))
	list := []any{}
	for _, r := range repos[lo:hi] {
		j := c.s.repoJSON(r)
		role := userRoleLocked(r, c.user)
		j["permissions"] = map[string]any{
			"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
			"push":   role == "admin" || role == "maintain" || role == "write",
			"triage": role != "read", "pull": true,
		}
		list = append(list, j)
	}
	return http.StatusOK, map[string]any{"total_count": len(repos), "repository_selection": "all", "repositories": list}
}

// handleGetAuthenticatedUser implements GET /user (the public profile).
func handleGetAuthenticatedUser(c *call) (int, any) {
	u := c.s.userLocked(c.user)
	j := c.s.userJSON(u)
	created := ts(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	for k, v := range map[string]any{"name": nil, "company": nil, "blog": "", "location": nil, "email": nil,
		"hireable": nil, "bio": nil, "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": created, "updated_at": created} {
		j[k] = v
	}
	return http.StatusOK, j
}
