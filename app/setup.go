package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
	"gopkg.in/yaml.v3"
)

// Manifest is app.yml, the GitHub App manifest (set by package main, which
// embeds it).
var Manifest []byte

// SetupOptions configure `deploybot setup`.
type SetupOptions struct {
	Org    string                      // register the App on this organization (--org)
	Dir    string                      // where .env is written (the working directory)
	Lookup func(string) (string, bool) // the environment
	Stdout io.Writer                   // where the URL to open and the serve command go
	Ready  func(setupURL string)       // called once listening (tests)
	HTTP   *http.Client                // for the conversion (default: 30 s timeout)
}

// The order of the variables in .env.
var setupVars = []string{"GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET",
	"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "DEPLOYBOT_SESSION_KEY", "DEPLOYBOT_EXECUTOR_SECRET",
	"DEPLOYBOT_PUBLIC_URL", "GITHUB_URL", "GITHUB_API_URL"}

// setup is one run of `deploybot setup`.
type setup struct {
	SetupOptions
	publicURL, webURL, apiURL string
	state                     string
	done                      chan error
	once                      sync.Once
}

// Setup registers the GitHub App from the manifest: it serves a page on
// DEPLOYBOT_ADDR that posts the manifest to GitHub; GitHub sends the
// browser back to /setup/callback with a code, exchanged for the App's
// credentials, written to .env (mode 0600). It returns once .env is
// written (or ctx ends).
func Setup(ctx context.Context, o SetupOptions) error {
	get := func(k, def string) string {
		if v, ok := o.Lookup(k); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	s := &setup{SetupOptions: o, done: make(chan error, 1),
		publicURL: strings.TrimSuffix(get("DEPLOYBOT_PUBLIC_URL", ""), "/"),
		webURL:    withSlash(get("GITHUB_URL", "https://github.com/")),
		apiURL:    withSlash(get("GITHUB_API_URL", "https://api.github.com/")),
		state:     randomHex(16),
	}
	if s.publicURL == "" {
		return errors.New("DEPLOYBOT_PUBLIC_URL is not set: give the public https URL deploybot will be reached at (GitHub sends webhooks to DEPLOYBOT_PUBLIC_URL/api/github/hook)")
	}
	if u, err := url.Parse(s.publicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("DEPLOYBOT_PUBLIC_URL must be an http(s) URL, got %q", s.publicURL)
	}
	if len(Manifest) == 0 {
		return errors.New("this build has no app.yml manifest")
	}
	if s.HTTP == nil {
		s.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	addr := get("DEPLOYBOT_ADDR", ":8080")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("setup: listen on %s: %w", addr, err)
	}
	host, port, _ := net.SplitHostPort(l.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	local := "http://" + net.JoinHostPort(host, port) + "/setup/"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/setup/", http.StatusFound) })
	mux.HandleFunc("GET /setup/{$}", s.page)
	mux.HandleFunc("GET /setup/callback", s.callback)
	srv := newServer(addr, mux)
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	fmt.Fprintf(o.Stdout, "Open %s in your browser to create the GitHub App", local)
	if o.Org != "" {
		fmt.Fprintf(o.Stdout, " on the organization %s", o.Org)
	}
	fmt.Fprintln(o.Stdout, ".")
	if o.Ready != nil {
		o.Ready(local)
	}
	select {
	case err = <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Let the browser have its answer before the listener goes.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return err
}

func withSlash(u string) string {
	if !strings.HasSuffix(u, "/") {
		return u + "/"
	}
	return u
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// manifestJSON is app.yml with this deployment's URLs.
func (s *setup) manifestJSON(redirect string) (string, error) {
	var m map[string]any
	if err := yaml.Unmarshal(Manifest, &m); err != nil {
		return "", fmt.Errorf("app.yml: %w", err)
	}
	hook, _ := m["hook_attributes"].(map[string]any)
	if hook == nil {
		hook = map[string]any{"active": true}
	}
	hook["url"] = s.publicURL + "/api/github/hook"
	m["hook_attributes"] = hook
	m["callback_urls"] = []string{s.publicURL + "/auth/callback"}
	m["redirect_url"] = redirect
	b, err := json.Marshal(m)
	return string(b), err
}

// page is the setup page: one button posting the manifest to GitHub.
func (s *setup) page(w http.ResponseWriter, r *http.Request) {
	manifest, err := s.manifestJSON("http://" + r.Host + "/setup/callback")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	action := s.webURL + "settings/apps/new"
	if s.Org != "" {
		action = s.webURL + "organizations/" + url.PathEscape(s.Org) + "/settings/apps/new"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = setupPage.Execute(w, map[string]any{"Action": action + "?state=" + s.state, "Manifest": manifest,
		"PublicURL": s.publicURL, "Org": s.Org})
}

var setupPage = template.Must(template.New("setup").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>deploybot setup</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:3em auto;max-width:40em}button{font-size:1.1em;padding:.5em 1em}</style>
</head><body>
<h1>Set up deploybot</h1>
<p>This creates deploybot's GitHub App{{if .Org}} on the organization <b>{{.Org}}</b>{{end}}, sending webhooks to
<code>{{.PublicURL}}/api/github/hook</code>. GitHub shows the App before creating it; afterwards this page
writes <code>.env</code> with its credentials.</p>
<form id="manifest-form" method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button id="create" type="submit">Create the GitHub App</button>
</form></body></html>
`))

// callback receives GitHub's code, converts it and writes .env.
func (s *setup) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("state") != s.state || q.Get("code") == "" {
		http.Error(w, "this is not the answer to this setup page; start again from /setup/", http.StatusBadRequest)
		return
	}
	path, cfg, err := s.convert(r.Context(), q.Get("code"))
	if err != nil {
		http.Error(w, "could not create the App: "+err.Error(), http.StatusBadGateway)
		s.finish(err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = setupDone.Execute(w, map[string]any{"Slug": cfg.GetSlug(), "Install": cfg.GetHTMLURL() + "/installations/new", "Path": path})
	fmt.Fprintf(s.Stdout, "Created the GitHub App %s and wrote %s.\nInstall it on your repositories: %s/installations/new\nThen start deploybot:\n\n  deploybot serve\n",
		cfg.GetSlug(), path, cfg.GetHTMLURL())
	s.finish(nil)
}

func (s *setup) finish(err error) { s.once.Do(func() { s.done <- err }) }

var setupDone = template.Must(template.New("done").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>deploybot setup: done</title></head><body>
<h1>deploybot's GitHub App {{.Slug}} is created</h1>
<p>Its credentials are in <code>{{.Path}}</code>. <a href="{{.Install}}">Install the App</a> on your repositories,
then run <code>deploybot serve</code> in the same directory.</p></body></html>
`))

// convert exchanges the code (POST /app-manifests/{code}/conversions) and
// writes .env.
func (s *setup) convert(ctx context.Context, code string) (string, *github.AppConfig, error) {
	gh := github.NewClient(s.HTTP)
	base, err := url.Parse(s.apiURL)
	if err != nil {
		return "", nil, fmt.Errorf("GITHUB_API_URL: %w", err)
	}
	gh.BaseURL = base
	cfg, _, err := gh.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		return "", nil, fmt.Errorf("exchange the manifest code: %w", err)
	}
	if cfg.GetID() == 0 || cfg.GetPEM() == "" || cfg.GetWebhookSecret() == "" {
		return "", nil, errors.New("GitHub's answer lacks the App id, key or webhook secret")
	}
	vars := map[string]string{
		"GITHUB_APP_ID":             fmt.Sprint(cfg.GetID()),
		"GITHUB_APP_PRIVATE_KEY":    cfg.GetPEM(),
		"GITHUB_WEBHOOK_SECRET":     cfg.GetWebhookSecret(),
		"GITHUB_CLIENT_ID":          cfg.GetClientID(),
		"GITHUB_CLIENT_SECRET":      cfg.GetClientSecret(),
		"DEPLOYBOT_SESSION_KEY":     randomHex(32),
		"DEPLOYBOT_EXECUTOR_SECRET": randomHex(32),
		"DEPLOYBOT_PUBLIC_URL":      s.publicURL,
	}
	if s.webURL != "https://github.com/" {
		vars["GITHUB_URL"] = s.webURL
	}
	if s.apiURL != "https://api.github.com/" {
		vars["GITHUB_API_URL"] = s.apiURL
	}
	path, err := writeDotenv(s.Dir, vars, setupVars)
	return path, cfg, err
}
