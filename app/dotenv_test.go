package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     map[string]string
		err      string
	}{
		{"plain, comments, export", "# c\n\nA=1\nexport B = two words # note\n", map[string]string{"A": "1", "B": "two words"}, ""},
		{"double quotes unescape", `K="-----BEGIN\nabc\n-----END\n" # pem` + "\n", map[string]string{"K": "-----BEGIN\nabc\n-----END\n"}, ""},
		{"single quotes are literal", `K='a\nb "c"'`, map[string]string{"K": `a\nb "c"`}, ""},
		{"quote and backslash escapes", `K="a\"b\\c"`, map[string]string{"K": `a"b\c`}, ""},
		{"CRLF", "A=1\r\nB=2\r\n", map[string]string{"A": "1", "B": "2"}, ""},
		{"no equals sign", "A=1\nGARBAGE\n", nil, ".env line 2: want KEY=value"},
		{"bad key", "1A=x", nil, ".env line 1: want KEY=value"},
		{"unterminated quote", "A=1\n\nB=\"secret", nil, ".env line 3 (B): no closing double quote"},
		{"text after quote", `A="x" y`, nil, ".env line 1 (A): text after the closing quote"},
		{"unknown escape", `A="\q"`, nil, `.env line 1 (A): unknown escape \q`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDotenv(".env", []byte(tc.in))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("the error echoes the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestDotenvRoundTripAndEnvironmentWins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIE\"x\\y\n-----END RSA PRIVATE KEY-----\n"
	if _, err := writeDotenv(dir, map[string]string{"GITHUB_APP_PRIVATE_KEY": pem, "GITHUB_APP_ID": "5"}, setupVars); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, DotenvFile))
	if strings.Count(string(raw), "\n") != 3 {
		t.Fatalf("want one line per variable:\n%s", raw)
	}
	lookup, err := LoadDotenv(dir, envMap(map[string]string{"GITHUB_APP_ID": "9"}))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := lookup("GITHUB_APP_PRIVATE_KEY"); v != pem {
		t.Errorf("key read back as %q", v)
	}
	if v, _ := lookup("GITHUB_APP_ID"); v != "9" {
		t.Errorf("GITHUB_APP_ID = %q, want the environment's 9", v)
	}
	t.Run("no .env changes nothing", func(t *testing.T) {
		lookup, err := LoadDotenv(t.TempDir(), envMap(nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := lookup("GITHUB_APP_ID"); ok {
			t.Fatal("found a variable in no file")
		}
	})
	t.Run("a malformed .env is an error naming the line", func(t *testing.T) {
		dir := t.TempDir()
		_ = os.WriteFile(filepath.Join(dir, DotenvFile), []byte("A=1\noops\n"), 0o600)
		_, err := LoadDotenv(dir, envMap(nil))
		if err == nil || !strings.Contains(err.Error(), ".env line 2") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestSessionKeySettings(t *testing.T) {
	t.Parallel()
	base := map[string]string{"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": "k", "GITHUB_WEBHOOK_SECRET": "s",
		"DEPLOYBOT_PUBLIC_URL": "https://deploybot.example"}
	hex32 := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		set  map[string]string
		err  string
	}{
		{"none: sign-in off", nil, ""},
		{"hex", map[string]string{"GITHUB_CLIENT_ID": "c", "GITHUB_CLIENT_SECRET": "s", "DEPLOYBOT_SESSION_KEY": hex32}, ""},
		{"base64", map[string]string{"GITHUB_CLIENT_ID": "c", "GITHUB_CLIENT_SECRET": "s", "DEPLOYBOT_SESSION_KEY": "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="}, ""},
		{"short hex", map[string]string{"GITHUB_CLIENT_ID": "c", "GITHUB_CLIENT_SECRET": "s", "DEPLOYBOT_SESSION_KEY": hex32[:62]}, "at least 32 random bytes"},
		{"not encoded", map[string]string{"GITHUB_CLIENT_ID": "c", "GITHUB_CLIENT_SECRET": "s", "DEPLOYBOT_SESSION_KEY": "password!"}, "at least 32 random bytes"},
		{"one missing", map[string]string{"GITHUB_CLIENT_ID": "c", "DEPLOYBOT_SESSION_KEY": hex32}, "GITHUB_CLIENT_SECRET not set"},
		{"no public URL", map[string]string{"GITHUB_CLIENT_ID": "c", "GITHUB_CLIENT_SECRET": "s", "DEPLOYBOT_SESSION_KEY": hex32, "DEPLOYBOT_PUBLIC_URL": ""}, "needs DEPLOYBOT_PUBLIC_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.set {
				env[k] = v
			}
			s, err := SettingsFromEnv(envMap(env))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.set != nil && len(s.SessionKey) < 32 {
					t.Fatalf("session key of %d bytes", len(s.SessionKey))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}
