package githubsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const testManifest = `{"name":"deploybot","url":"https://example.com","redirect_url":"http://127.0.0.1:9/setup/callback",
"hook_attributes":{"url":"https://deploybot.example/api/github/hook"},"callback_urls":["https://deploybot.example/auth/callback"],
"public":false,"default_permissions":{"issues":"write","checks":"write"},"default_events":["issue_comment","check_run"]}`

func TestManifestRegistration(t *testing.T) {
	sim := New(Options{TB: t})
	browser := noRedirect(nil)
	resp, err := browser.PostForm(sim.WebHostURL()+"organizations/acme/settings/apps/new?state=abc", url.Values{"manifest": {testManifest}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Path != "/setup/callback" || loc.Query().Get("state") != "abc" {
		t.Fatalf("%d %s", resp.StatusCode, loc)
	}
	convert := func() (int, map[string]any) {
		resp, err := http.Post(sim.URL+"app-manifests/"+loc.Query().Get("code")+"/conversions", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	st, app := convert()
	if st != http.StatusCreated || app["pem"] != string(sim.PrivateKeyPEM()) || app["webhook_secret"] == "" || app["client_secret"] == "" {
		t.Fatalf("conversion: %d %v", st, app)
	}
	if id, secret := sim.OAuthClient(); app["client_id"] != id || app["client_secret"] != secret {
		t.Fatal("conversion's OAuth client is not the app's")
	}
	if st, _ := convert(); st != http.StatusNotFound {
		t.Fatalf("second conversion: %d", st)
	}
}

func TestManifestRefusedWhenInvalid(t *testing.T) {
	for name, manifest := range map[string]string{
		"not JSON":             `{`,
		"no url":               `{"name":"x","redirect_url":"http://127.0.0.1/cb"}`,
		"unknown permission":   `{"url":"https://e.x","redirect_url":"http://127.0.0.1/cb","default_permissions":{"everything":"write"}}`,
		"event without perm":   `{"url":"https://e.x","redirect_url":"http://127.0.0.1/cb","default_events":["issue_comment"]}`,
		"hook without url":     `{"url":"https://e.x","redirect_url":"http://127.0.0.1/cb","hook_attributes":{"active":true}}`,
		"no redirect_url":      `{"url":"https://e.x"}`,
		"callback_urls string": `{"url":"https://e.x","redirect_url":"http://127.0.0.1/cb","callback_urls":"https://e.x/cb"}`,
	} {
		t.Run(name, func(t *testing.T) {
			sim := New(Options{})
			defer sim.Close()
			resp, err := noRedirect(nil).PostForm(sim.WebHostURL()+"settings/apps/new", url.Values{"manifest": {manifest}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if v := sim.Violations(); resp.StatusCode != http.StatusUnprocessableEntity || len(v) != 1 || !strings.Contains(v[0].Error(), "manifest") {
				t.Fatalf("status %d, violations %v", resp.StatusCode, v)
			}
		})
	}
}
