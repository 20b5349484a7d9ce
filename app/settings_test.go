package app

import (
	"strings"
	"testing"
)

func TestSettingsFromEnv(t *testing.T) {
	t.Parallel()
	full := map[string]string{
		"GITHUB_APP_ID": "12", "GITHUB_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\\nabc\\n-----END RSA PRIVATE KEY-----",
		"GITHUB_WEBHOOK_SECRET": "s",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"complete", full, ""},
		{"no secret", with("GITHUB_WEBHOOK_SECRET", ""), "GITHUB_WEBHOOK_SECRET is not set"},
		{"blank secret", with("GITHUB_WEBHOOK_SECRET", "   "), "GITHUB_WEBHOOK_SECRET is not set"},
		{"no app id", with("GITHUB_APP_ID", ""), "GITHUB_APP_ID is not set"},
		{"bad app id", with("GITHUB_APP_ID", "abc"), "GITHUB_APP_ID must be a positive number"},
		{"no key", with("GITHUB_APP_PRIVATE_KEY", ""), "GITHUB_APP_PRIVATE_KEY is not set"},
		{"missing key file", with("GITHUB_APP_PRIVATE_KEY_FILE", "/nonexistent/key.pem"), ""},
		{"bad log format", with("DEPLOYBOT_LOG_FORMAT", "xml"), "DEPLOYBOT_LOG_FORMAT"},
		{"bad allow commands", with("DEPLOYBOT_ALLOW_COMMANDS", "maybe"), "DEPLOYBOT_ALLOW_COMMANDS"},
		{"egress allow list", with("DEPLOYBOT_EGRESS_ALLOW", "prometheus.monitoring.svc, 10.0.0.0/8,127.0.0.1/32"), ""},
		{"egress allow URL", with("DEPLOYBOT_EGRESS_ALLOW", "http://prometheus:9090/metrics"), `DEPLOYBOT_EGRESS_ALLOW: "http://prometheus:9090/metrics" is neither a host name nor a CIDR`},
		{"egress allow bad CIDR", with("DEPLOYBOT_EGRESS_ALLOW", "10.0.0.0/40"), "DEPLOYBOT_EGRESS_ALLOW"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SettingsFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if s.AppID != 12 || !strings.Contains(string(s.PrivateKey), "\nabc\n") || s.DatabaseURL != "sqlite:deploybot.db" || s.Addr != ":8080" {
					t.Fatalf("settings = %+v", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.wantErr)
			}
		})
	}
	t.Run("egress allow list parsed", func(t *testing.T) {
		env := with("DEPLOYBOT_EGRESS_ALLOW", "prometheus.monitoring.svc, 10.0.0.0/8,127.0.0.1/32")
		s, err := SettingsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil || s.EgressAllow.String() != "prometheus.monitoring.svc,10.0.0.0/8,127.0.0.1/32" {
			t.Fatalf("EgressAllow = %q, %v", s.EgressAllow, err)
		}
	})
	t.Run("key file read when no inline key", func(t *testing.T) {
		env := with("GITHUB_APP_PRIVATE_KEY", "")
		env["GITHUB_APP_PRIVATE_KEY_FILE"] = "/nonexistent/key.pem"
		_, err := SettingsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err == nil || !strings.Contains(err.Error(), "GITHUB_APP_PRIVATE_KEY_FILE") {
			t.Fatalf("err = %v", err)
		}
	})
}
