package app

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/internal/loopback"
	"github.com/deploybot/deploybot/store/storetest"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var formRx = regexp.MustCompile(`<form id="manifest-form" method="post" action="([^"]+)">\s*<input type="hidden" name="manifest" value="([^"]+)">`)

// The operator runs `deploybot setup --org acme`, opens the page, creates
// the App on GitHub and is sent back; .env holds the App's credentials and
// `deploybot serve` started from it answers the App's webhooks.
// Serial: it sets the package's Manifest, as package main does.
func TestSetupCreatesTheAppAndServeRunsFromDotenv(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sim := githubsim.New(githubsim.Options{TB: t})
	public, err := loopback.NewUnstarted(nil) // where deploybot will be reached
	if err != nil {
		t.Fatal(err)
	}
	defer public.Close()
	manifest, err := os.ReadFile("../app.yml")
	if err != nil {
		t.Fatal(err)
	}
	Manifest = manifest
	dir := t.TempDir()
	// An existing .env keeps its other lines.
	if err := os.WriteFile(filepath.Join(dir, DotenvFile), []byte("DATABASE_URL=\"sqlite:keep.db\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	stdout := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Setup(ctx, SetupOptions{Org: "acme", Dir: dir, Stdout: stdout, Ready: func(u string) { ready <- u },
			Lookup: envMap(map[string]string{"DEPLOYBOT_ADDR": "127.0.0.1:0", "DEPLOYBOT_PUBLIC_URL": public.URL,
				"GITHUB_URL": sim.WebHostURL(), "GITHUB_API_URL": sim.URL})})
	}()
	var setupURL string
	select {
	case setupURL = <-ready:
	case err := <-done:
		t.Fatalf("setup ended: %v", err)
	}
	contains(t, "setup's output", stdout.String(), "Open "+setupURL)

	// The browser opens the page and presses the button.
	page := get(t, setupURL)
	m := formRx.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no manifest form on the setup page:\n%s", page)
	}
	action, manifestJSON := html.UnescapeString(m[1]), html.UnescapeString(m[2])
	if !strings.HasPrefix(action, sim.WebHostURL()+"organizations/acme/settings/apps/new?state=") {
		t.Errorf("form posts to %s", action)
	}
	contains(t, "manifest", manifestJSON, `"url":"`+public.URL+`/api/github/hook"`)
	contains(t, "manifest", manifestJSON, `"callback_urls":["`+public.URL+`/auth/callback"]`)
	resp, err := http.PostForm(action, url.Values{"manifest": {manifestJSON}}) // GitHub redirects back to setup
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("back from GitHub: %d %s", resp.StatusCode, body)
	}
	contains(t, "the page after creating the App", string(body), "is created")
	if err := <-done; err != nil {
		t.Fatalf("setup: %v", err)
	}
	contains(t, "setup's output", stdout.String(), "deploybot serve")

	path := filepath.Join(dir, DotenvFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf(".env mode %v, want 0600", info.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	contains(t, ".env", string(raw), `GITHUB_APP_PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\n`)
	contains(t, ".env", string(raw), `DATABASE_URL="sqlite:keep.db"`)

	// deploybot serve in that directory: the environment wins over .env.
	env, err := LoadDotenv(dir, envMap(map[string]string{"DATABASE_URL": storetest.URL(t)}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := SettingsFromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	id, secret := sim.OAuthClient()
	if s.AppID != sim.AppID() || strings.TrimSpace(string(s.PrivateKey)) != strings.TrimSpace(string(sim.PrivateKeyPEM())) || s.ClientID != id ||
		s.ClientSecret != secret || len(s.SessionKey) != 32 || s.ExecutorSecret == "" || s.PublicURL != public.URL ||
		strings.HasPrefix(s.DatabaseURL, "sqlite:keep") {
		t.Fatalf("settings from .env: app %d, public URL %s, database %s, client %s", s.AppID, s.PublicURL, s.DatabaseURL, s.ClientID)
	}
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	a, err := New(ctx, s, Options{Logger: &logger})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	public.SetHandler(a.Handler())
	public.Start()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}

	// The App is installed; a comment reaches deploybot signed with the new
	// webhook secret, and deploybot answers with the new key.
	sim.AddInstallation(77, "acme")
	repo := sim.AddRepo("acme", "shop", "main")
	repo.Commit("main", map[string]string{"README.md": "# shop\n"}, "init")
	repo.Commit("feature", map[string]string{"a.txt": "a"}, "change")
	pr := repo.OpenPR("feature", "main", "alice", "Feature")
	repo.SetPermission("alice", "write")
	sim.Comment("acme/shop", pr, "alice", "/deploy help")
	err = sim.WaitFor(ctx, func() bool {
		for _, c := range sim.Comments("acme/shop", pr) {
			if c.User == sim.BotLogin() {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("deploybot never answered: %v (deliveries %d)", err, len(sim.Deliveries()))
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}
