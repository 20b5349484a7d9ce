package githubsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

// Authentication uses the wall clock (time.Now), not Options.Now: clients
// sign JWTs and judge token expiry with the wall clock.

type token struct {
	value        string
	installation *Installation
	expires      time.Time
}

// rateState is a primary rate-limit bucket (per installation, or per app for
// JWT requests), like GitHub's "core" resource.
type rateState struct {
	limit, used int
	reset       time.Time
}

const jwtSkew = 60 * time.Second

// verifyAppJWT checks a GitHub App JWT as GitHub does: RS256 signed by the
// app's key, iss = app id (string or number), exp in the future and at most
// 10 minutes after iat (plus clock skew).
func (s *Sim) verifyAppJWT(raw string) error {
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation()).
		ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil })
	if err != nil {
		return errors.New("A JSON web token could not be decoded")
	}
	var iss string
	switch v := claims["iss"].(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatInt(int64(v), 10)
	case json.Number:
		iss = v.String()
	}
	if iss != strconv.FormatInt(s.opts.AppID, 10) {
		return errors.New("'Issuer' claim ('iss') must be an Integer")
	}
	exp, ok1 := claims["exp"].(float64)
	iat, ok2 := claims["iat"].(float64)
	if !ok1 || !ok2 {
		return errors.New("'Expiration time' claim ('exp') and 'Issued at' claim ('iat') are required")
	}
	now := time.Now()
	expT, iatT := time.Unix(int64(exp), 0), time.Unix(int64(iat), 0)
	switch {
	case !expT.After(now.Add(-jwtSkew)):
		return errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case expT.Sub(iatT) > 10*time.Minute+jwtSkew:
		return errors.New("'Expiration time' claim ('exp') is too far in the future")
	case iatT.After(now.Add(jwtSkew)):
		return errors.New("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	}
	return nil
}

func bearer(r *http.Request) (scheme, value string) {
	h := r.Header.Get("Authorization")
	scheme, value, ok := strings.Cut(h, " ")
	if !ok {
		return "", ""
	}
	return strings.ToLower(scheme), strings.TrimSpace(value)
}

// newTokenLocked issues an installation access token valid for one hour.
func (s *Sim) newTokenLocked(inst *Installation) *token {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	t := &token{value: "ghs_" + hex.EncodeToString(b), installation: inst, expires: time.Now().Add(time.Hour).Truncate(time.Second)}
	s.tokens[t.value] = t
	return t
}

// rateLocked returns the bucket for key, rolling it over every hour.
func (s *Sim) rateLocked(key string) *rateState {
	rs := s.rate[key]
	now := time.Now()
	if rs == nil || now.After(rs.reset) {
		rs = &rateState{limit: 5000, reset: now.Add(time.Hour).Truncate(time.Second)}
		s.rate[key] = rs
	}
	return rs
}

func (rs *rateState) headers(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(rs.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(rs.limit-rs.used, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(rs.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(rs.used))
	h.Set("X-RateLimit-Resource", "core")
}

// handleAccessToken implements POST /app/installations/{id}/access_tokens.
func handleAccessToken(c *call) (int, any) {
	id, _ := strconv.ParseInt(c.params["installation_id"], 10, 64)
	inst := c.s.installations[id]
	if inst == nil {
		return notFound()
	}
	t := c.s.newTokenLocked(inst)
	perms := map[string]any{
		"actions": "write", "checks": "write", "contents": "write", "deployments": "write", "issues": "write",
		"metadata": "read", "pull_requests": "write", "statuses": "read",
	}
	if p, ok := c.body["permissions"].(map[string]any); ok && len(p) > 0 {
		perms = p
	}
	return http.StatusCreated, map[string]any{
		"token":                t.value,
		"expires_at":           t.expires.UTC().Format(time.RFC3339),
		"permissions":          perms,
		"repository_selection": "all",
	}
}

// handleGetApp implements GET /app.
func handleGetApp(c *call) (int, any) {
	return http.StatusOK, c.s.appJSON()
}

func (s *Sim) appJSON() map[string]any {
	owner := "deploybot-org"
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339)
	return map[string]any{
		"id": s.opts.AppID, "slug": s.opts.AppSlug, "node_id": nodeID("A_", s.opts.AppID),
		"client_id": fmt.Sprintf("Iv1.%016x", s.opts.AppID), "owner": s.userJSON(s.ownerOf(owner)),
		"name": s.opts.AppName, "description": "", "external_url": "https://example.com",
		"html_url": s.opts.WebURL + "apps/" + s.opts.AppSlug, "created_at": now, "updated_at": now,
		"permissions": map[string]any{"actions": "write", "checks": "write", "contents": "write", "deployments": "write", "issues": "write", "metadata": "read", "pull_requests": "write", "statuses": "read"},
		// The description's enum of app events has no
		// deployment_protection_rule, although apps subscribe to it.
		"events":              []any{"check_run", "check_suite", "deployment", "deployment_status", "issue_comment", "pull_request", "release", "status", "workflow_run"},
		"installations_count": len(s.installations),
	}
}

// appJSONFor is the app object (performed_via_github_app, check run app)
// of the app slug: the Sim's own app, GitHub Actions, or another app with a
// stable id derived from its slug.
func (s *Sim) appJSONFor(slug string) map[string]any {
	app := s.appJSON()
	if slug == "" || slug == s.opts.AppSlug {
		return app
	}
	id := s.appIDFor(slug)
	app["id"], app["slug"], app["name"] = id, slug, slug
	app["node_id"] = nodeID("A_", id)
	app["html_url"] = s.web("apps", slug)
	app["client_id"] = fmt.Sprintf("Iv1.%016x", id)
	if slug == ciAppSlug {
		app["name"] = "GitHub Actions"
		app["owner"] = s.userJSON(s.ownerOf("github"))
		app["external_url"] = "https://help.github.com/en/actions"
		app["description"] = "Automate your workflow from idea to production"
	}
	return app
}

func (s *Sim) ownerOf(login string) *user {
	u := s.userLocked(login)
	if u.Type == "User" && !strings.HasSuffix(login, "[bot]") {
		u.Type = "Organization"
	}
	return u
}

// IssuedTokens returns every installation access token the emulator has
// handed out, so a test can prove none of them leaked anywhere.
func (s *Sim) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tokens))
	for v := range s.tokens {
		out = append(out, v)
	}
	return out
}
