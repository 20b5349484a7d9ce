package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A record link is a capability: the signed log_url shows the record (and
// only what the PR record shows); anything else — no token, another
// deployment's token, a guessed id, an expired record — is a plain 404.
func TestRecordLinksArePrivate(t *testing.T) {
	t.Parallel()
	const planted = "PLANTED-executor-token-7f3c"
	clk := &clock{}
	s := newStoryAt(t, strings.Replace(SandboxConfig, "TARGET/hooks/staging", "'TARGET/hooks/staging?token="+planted+"'", 1), clk.Now)
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/cart", "walt")
	s.comment(pr, "walt", "/deploy staging")
	s.deploymentsFinished(1)
	s.comment(pr, "walt", "/deploy staging")
	deps := s.deploymentsFinished(2)

	logURL := func(i int) *url.URL {
		for _, st := range deps[i].Statuses {
			if st.State == "success" {
				u, err := url.Parse(st.LogURL)
				if err != nil || u.Query().Get("t") == "" {
					t.Fatalf("log_url %q carries no token", st.LogURL)
				}
				return u
			}
		}
		t.Fatalf("deployment %d has no success status", deps[i].ID)
		return nil
	}
	get := func(path, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.Server.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	first, second := logURL(0), logURL(1)
	if first.Query().Get("t") == second.Query().Get("t") {
		t.Fatalf("two deployments share a token: %s", first.RawQuery)
	}

	t.Run("the signed link shows the record and nothing else", func(t *testing.T) {
		code, body := get(first.RequestURI(), "")
		if code != 200 {
			t.Fatalf("GET %s = %d: %s", first.Path, code, body)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(rec["markdown"].(string), "| **Who** | @walt (comment) |") || rec["environment"] != "staging" {
			t.Errorf("record = %s", body)
		}
		for _, leak := range []string{planted, "env_config", "EnvConfig", "callback", "Context", "installation"} {
			if strings.Contains(body, leak) {
				t.Errorf("record link answer contains %q:\n%s", leak, body)
			}
		}
		code, page := get(first.RequestURI(), "text/html")
		if code != 200 || !strings.Contains(page, "Deployment "+strings.TrimPrefix(first.Path, "/deployments/")+": acme/shop → staging (") || strings.Contains(page, planted) {
			t.Errorf("HTML record page %d:\n%s", code, page)
		}
	})

	for _, tc := range []struct{ name, path string }{
		{"no token", first.Path},
		{"empty token", first.Path + "?t="},
		{"another deployment's token", first.Path + "?t=" + second.Query().Get("t")},
		{"a forged token", first.Path + "?t=" + strings.Repeat("A", len(first.Query().Get("t")))},
		{"a guessed id", "/deployments/999?t=" + first.Query().Get("t")},
		{"not a number", "/deployments/x?t=" + first.Query().Get("t")},
	} {
		t.Run(tc.name+" is not found", func(t *testing.T) {
			if code, body := get(tc.path, ""); code != 404 || strings.Contains(body, "staging") {
				t.Errorf("GET %s = %d %q, want a bare 404", tc.path, code, body)
			}
		})
	}

	t.Run("the link expires with the record's retention", func(t *testing.T) {
		clk.Advance(91 * 24 * time.Hour)
		if code, _ := get(second.RequestURI(), ""); code != 404 {
			t.Errorf("a record past its retention answered %d, want 404", code)
		}
	})
}

func TestRecordLinkSettings(t *testing.T) {
	t.Parallel()
	base := map[string]string{"GITHUB_APP_ID": "12", "GITHUB_APP_PRIVATE_KEY": "pem", "GITHUB_WEBHOOK_SECRET": "hook-secret"}
	parse := func(extra map[string]string) (Settings, error) {
		return SettingsFromEnv(func(k string) (string, bool) {
			if v, ok := extra[k]; ok {
				return v, true
			}
			v, ok := base[k]
			return v, ok
		})
	}
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantErr   string
		retention time.Duration
	}{
		{"defaults", nil, "", 90 * 24 * time.Hour},
		{"retention in days", map[string]string{"DEPLOYBOT_RECORD_RETENTION": "30d"}, "", 30 * 24 * time.Hour},
		{"bad retention", map[string]string{"DEPLOYBOT_RECORD_RETENTION": "forever"}, "DEPLOYBOT_RECORD_RETENTION", 0},
		{"short link key", map[string]string{"DEPLOYBOT_LINK_KEY": "short"}, "DEPLOYBOT_LINK_KEY is too short", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parse(tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || s.RecordRetention != tc.retention {
				t.Fatalf("settings = %+v, %v", s.RecordRetention, err)
			}
		})
	}
	s, _ := parse(nil)
	derived := linkKey(s)
	if len(derived) < 32 || strings.Contains(string(derived), "hook-secret") {
		t.Errorf("derived link key %x", derived)
	}
	own := strings.Repeat("k", 32)
	s, _ = parse(map[string]string{"DEPLOYBOT_LINK_KEY": own})
	if string(linkKey(s)) != own {
		t.Errorf("DEPLOYBOT_LINK_KEY is not used")
	}
}
