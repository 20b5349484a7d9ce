package githubsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Registering a GitHub App from a manifest
// (docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest):
// a page posts the form field "manifest" (JSON) to
// GITHUB_URL/settings/apps/new (or /organizations/<org>/settings/apps/new),
// optionally with ?state=; the signed-in user creates the app and GitHub
// redirects to the manifest's redirect_url with a one-time code (valid one
// hour) and the state; POST /app-manifests/{code}/conversions (no
// authentication) exchanges the code for the app's id, PEM, webhook secret
// and OAuth client.
//
// The emulator hosts one app (Options.AppID, its key): a registration
// configures it from the manifest - webhooks go to hook_attributes.url,
// signed with a fresh secret; OAuth callbacks are callback_urls - and the
// conversion hands out its credentials. The user's click on "Create GitHub
// App" is implied: the page redirects at once.

type manifestCode struct {
	manifest map[string]any
	org      string
	issued   time.Time
	used     bool
}

const manifestCodeTTL = time.Hour

// manifestKeys are the manifest's parameters and their JSON types.
var manifestKeys = map[string]string{
	"name": "string", "url": "string", "hook_attributes": "object", "redirect_url": "string",
	"callback_urls": "array", "setup_url": "string", "description": "string", "public": "boolean",
	"default_events": "array", "default_permissions": "object", "request_oauth_on_install": "boolean",
	"setup_on_update": "boolean",
}

// eventPermission is the permission an app needs to subscribe to an event.
var eventPermission = map[string]string{
	"check_run": "checks", "check_suite": "checks", "deployment": "deployments",
	"deployment_status": "deployments", "deployment_protection_rule": "deployments",
	"issue_comment": "issues", "issues": "issues", "pull_request": "pull_requests",
	"pull_request_review": "pull_requests", "push": "contents", "release": "contents",
	"create": "contents", "delete": "contents", "status": "statuses", "workflow_run": "actions",
	"workflow_job": "actions", "workflow_dispatch": "actions", "code_scanning_alert": "security_events",
	"secret_scanning_alert": "secret_scanning_alerts", "dependabot_alert": "vulnerability_alerts",
	"repository": "metadata", "meta": "",
}

// appPermissions are the repository permissions a manifest may ask for.
var appPermissions = map[string]bool{
	"actions": true, "administration": true, "checks": true, "contents": true, "deployments": true,
	"environments": true, "issues": true, "metadata": true, "packages": true, "pages": true,
	"pull_requests": true, "repository_hooks": true, "repository_projects": true,
	"secret_scanning_alerts": true, "secrets": true, "security_events": true, "single_file": true,
	"statuses": true, "vulnerability_alerts": true, "workflows": true, "actions_variables": true,
	"members": true, "organization_administration": true,
}

// checkManifest returns the problems GitHub would show for a manifest.
func checkManifest(m map[string]any) []string {
	var errs []string
	for _, k := range sortedKeys(m) {
		want, ok := manifestKeys[k]
		if !ok {
			errs = append(errs, fmt.Sprintf("unknown manifest parameter %q", k))
			continue
		}
		if got := typeName(m[k]); got != want {
			errs = append(errs, fmt.Sprintf("%s: want %s, got %s", k, want, got))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	absURL := func(field string, v any) {
		u, err := url.Parse(fmt.Sprint(v))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Sprintf("%s: %q is not an http(s) URL", field, v))
		}
	}
	if _, ok := m["url"]; !ok {
		errs = append(errs, "url is required")
	} else {
		absURL("url", m["url"])
	}
	if name, _ := m["name"].(string); len(name) > 34 {
		errs = append(errs, "name is too long (maximum is 34 characters)")
	}
	for _, k := range []string{"redirect_url", "setup_url"} {
		if v, ok := m[k]; ok {
			absURL(k, v)
		}
	}
	if h, ok := m["hook_attributes"].(map[string]any); ok {
		for k := range h {
			if k != "url" && k != "active" {
				errs = append(errs, fmt.Sprintf("hook_attributes: unknown parameter %q", k))
			}
		}
		if v, ok := h["url"]; !ok {
			errs = append(errs, "hook_attributes.url is required")
		} else {
			absURL("hook_attributes.url", v)
		}
		if a, ok := h["active"]; ok && typeName(a) != "boolean" {
			errs = append(errs, "hook_attributes.active: want boolean")
		}
	}
	if cb, ok := m["callback_urls"].([]any); ok {
		if len(cb) > 10 {
			errs = append(errs, "callback_urls: at most 10")
		}
		for i, v := range cb {
			absURL(fmt.Sprintf("callback_urls[%d]", i), v)
		}
	}
	perms, _ := m["default_permissions"].(map[string]any)
	for _, k := range sortedKeys(perms) {
		lvl, _ := perms[k].(string)
		switch {
		case !appPermissions[k]:
			errs = append(errs, fmt.Sprintf("default_permissions: unknown permission %q", k))
		case lvl != "read" && lvl != "write" && lvl != "admin":
			errs = append(errs, fmt.Sprintf("default_permissions.%s: %v is not read, write or admin", k, perms[k]))
		}
	}
	events, _ := m["default_events"].([]any)
	for _, e := range events {
		ev, _ := e.(string)
		need, known := eventPermission[ev]
		switch {
		case !known:
			errs = append(errs, fmt.Sprintf("default_events: unknown event %v", e))
		case need != "" && need != "metadata" && perms[need] == nil:
			errs = append(errs, fmt.Sprintf("Default events unsupported: %s (needs the %s permission)", ev, need))
		}
	}
	return errs
}

// newAppFromManifest is the "Create GitHub App" page.
func (s *Sim) newAppFromManifest(w http.ResponseWriter, r *http.Request) {
	raw := r.PostFormValue("manifest")
	if raw == "" {
		s.webPageError(w, r, http.StatusUnprocessableEntity, "the form has no manifest field")
		return
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		s.webPageError(w, r, http.StatusUnprocessableEntity, "the manifest is not a JSON object: "+err.Error())
		return
	}
	if errs := checkManifest(m); len(errs) > 0 {
		s.webPageError(w, r, http.StatusUnprocessableEntity, "invalid manifest: "+strings.Join(errs, "; "))
		return
	}
	redirect, _ := m["redirect_url"].(string)
	if redirect == "" {
		s.webPageError(w, r, http.StatusUnprocessableEntity, "the manifest has no redirect_url: GitHub cannot hand the code back")
		return
	}
	code := randomHex(10)
	s.mu.Lock()
	s.webLocked().manifestCodes[code] = &manifestCode{manifest: m, org: r.PathValue("org"), issued: time.Now()}
	s.notifyLocked()
	s.mu.Unlock()
	u, _ := url.Parse(redirect)
	q := u.Query()
	q.Set("code", code)
	if st := r.URL.Query().Get("state"); st != "" {
		q.Set("state", st)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// handleManifestConversion implements POST /app-manifests/{code}/conversions.
func handleManifestConversion(c *call) (int, any) {
	s := c.s
	w := s.webLocked()
	mc := w.manifestCodes[c.params["code"]]
	if mc == nil || mc.used || expired(mc.issued, manifestCodeTTL) {
		return notFound()
	}
	mc.used = true
	m := mc.manifest
	secret := randomHex(20)
	if h, ok := m["hook_attributes"].(map[string]any); ok && h["active"] != false {
		s.hookURL, s.hookSecret = fmt.Sprint(h["url"]), secret
	}
	w.callbackURLs = nil
	if cb, ok := m["callback_urls"].([]any); ok {
		for _, u := range cb {
			w.callbackURLs = append(w.callbackURLs, fmt.Sprint(u))
		}
	}
	w.clientSecret = randomHex(20)
	app := s.appJSON()
	if name, ok := m["name"].(string); ok && name != "" {
		app["name"] = name
	}
	if d, ok := m["description"].(string); ok {
		app["description"] = d
	}
	app["external_url"] = m["url"]
	if mc.org != "" {
		app["owner"] = s.userJSON(s.ownerOf(mc.org))
	}
	perms := map[string]any{}
	for k, v := range m["default_permissions"].(map[string]any) {
		perms[k] = v
	}
	app["permissions"] = perms
	events := slices.Clone(m["default_events"].([]any))
	sort.Slice(events, func(i, j int) bool { return fmt.Sprint(events[i]) < fmt.Sprint(events[j]) })
	app["events"] = events
	app["client_id"] = s.clientID()
	app["client_secret"] = w.clientSecret
	app["webhook_secret"] = secret
	app["pem"] = string(s.keyPEM)
	s.notifyLocked()
	return http.StatusCreated, app
}
