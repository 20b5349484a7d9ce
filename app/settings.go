// Package app wires deploybot together: settings, the HTTP server, the
// go-githubapp client creator, the durable queue and the store.
package app

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/internal/egress"
)

// Settings are the server's settings (DESIGN.md §10).
type Settings struct {
	AppID          int64
	PrivateKey     []byte
	WebhookSecret  string
	APIURL         string
	WebURL         string
	Addr           string
	PublicURL      string
	DatabaseURL    string
	ExecutorSecret string
	AllowCommands  bool
	LogFormat      string // json | console

	// EgressAllow opts hosts and CIDRs outside the public internet in for
	// the URLs repositories configure (DEPLOYBOT_EGRESS_ALLOW).
	EgressAllow egress.Allow
	// LinkKey signs record links; derived from WebhookSecret when unset.
	LinkKey string
	// RecordRetention is how long record links work.
	RecordRetention time.Duration
	// Retention is how long delivery ids are kept for deduplication
	// (DEPLOYBOT_RETENTION; default 7d, at least 3d).
	Retention time.Duration
	// StepLease is how long a replica may go silent before another resumes
	// its running step (DEPLOYBOT_STEP_LEASE; default 15s).
	StepLease time.Duration
	// Sign-in with GitHub for the web pages (GITHUB_CLIENT_ID,
	// GITHUB_CLIENT_SECRET, DEPLOYBOT_SESSION_KEY): all three or none.
	ClientID, ClientSecret string
	SessionKey             []byte
}

// DefaultRetention is DEPLOYBOT_RETENTION's default. GitHub lets anyone
// redeliver deliveries of the last 3 days, so ids are kept at least that long.
const (
	DefaultRetention = 7 * 24 * time.Hour
	minRetention     = 3 * 24 * time.Hour
)

// SettingsHelp lists the variables for `deploybot serve --help`.
const SettingsHelp = `Settings (environment variables):
  GITHUB_APP_ID                 the GitHub App's id (required)
  GITHUB_APP_PRIVATE_KEY        the App's private key, PEM (or GITHUB_APP_PRIVATE_KEY_FILE: a path to it)
  GITHUB_WEBHOOK_SECRET         the App's webhook secret (required; deliveries are always verified)
  GITHUB_API_URL                default https://api.github.com/
  GITHUB_URL                    default https://github.com/
  DEPLOYBOT_ADDR                listen address, default :8080
  DEPLOYBOT_PUBLIC_URL          deploybot's public base URL, for log links in statuses and comments
  DATABASE_URL                  default sqlite:deploybot.db; postgres://… for several replicas
  DEPLOYBOT_EXECUTOR_SECRET     server secret for webhook executor signatures (webhook steps are refused
                                without it); each repository signs with
                                HMAC-SHA256(secret, "owner/repo") as its key
  DEPLOYBOT_EGRESS_ALLOW        hosts and CIDRs that URLs from repository config (flags, health checks,
                                executors, backup hooks) may reach although not public, comma-separated,
                                e.g. prometheus.monitoring.svc,10.0.0.0/8; default none: loopback, private,
                                link-local (cloud metadata), CGNAT and unique-local addresses are refused
  DEPLOYBOT_ALLOW_COMMANDS      true enables the command executor (off by default)
  DEPLOYBOT_LOG_FORMAT          json (default) or console
  DEPLOYBOT_RETENTION           how long webhook delivery ids are kept to drop redeliveries (payloads are
                                dropped once handled), e.g. 168h or 14d; default 7d, at least 3d
  DEPLOYBOT_LINK_KEY            key (at least 32 bytes) signing record links (log_url); default: derived
                                from GITHUB_WEBHOOK_SECRET, so rotating that secret also revokes old links
  DEPLOYBOT_RECORD_RETENTION    how long record links work, default 90d
  DEPLOYBOT_STEP_LEASE          how long a replica may go silent before another replica resumes the step it
                                was running (it renews every third of this), default 15s, 3s to 10m
  GITHUB_CLIENT_ID              the App's OAuth client id: with the next two, enables the web pages
                                (sign-in with GitHub); deploybot setup writes all three
  GITHUB_CLIENT_SECRET          the App's OAuth client secret
  DEPLOYBOT_SESSION_KEY         at least 32 random bytes, hex or base64 (openssl rand -hex 32), that sign
                                and encrypt session cookies; needs DEPLOYBOT_PUBLIC_URL (sign-in returns
                                to DEPLOYBOT_PUBLIC_URL/auth/callback)

A .env file in the working directory (KEY=value lines, as deploybot setup writes) is read when present;
environment variables win over it.
`

// SettingsFromEnv reads settings through lookup (os.LookupEnv in main) and
// reports the first missing or malformed one by name.
func SettingsFromEnv(lookup func(string) (string, bool)) (Settings, error) {
	get := func(k, def string) string {
		if v, ok := lookup(k); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	s := Settings{
		WebhookSecret:  get("GITHUB_WEBHOOK_SECRET", ""),
		APIURL:         get("GITHUB_API_URL", "https://api.github.com/"),
		WebURL:         get("GITHUB_URL", "https://github.com/"),
		Addr:           get("DEPLOYBOT_ADDR", ":8080"),
		PublicURL:      get("DEPLOYBOT_PUBLIC_URL", ""),
		DatabaseURL:    get("DATABASE_URL", "sqlite:deploybot.db"),
		ExecutorSecret: get("DEPLOYBOT_EXECUTOR_SECRET", ""),
		LogFormat:      get("DEPLOYBOT_LOG_FORMAT", "json"),
	}
	id := get("GITHUB_APP_ID", "")
	if id == "" {
		return s, fmt.Errorf("GITHUB_APP_ID is not set: give the GitHub App's id")
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return s, fmt.Errorf("GITHUB_APP_ID must be a positive number, got %q", id)
	}
	s.AppID = n
	if key := get("GITHUB_APP_PRIVATE_KEY", ""); key != "" {
		s.PrivateKey = []byte(strings.ReplaceAll(key, `\n`, "\n"))
	} else if path := get("GITHUB_APP_PRIVATE_KEY_FILE", ""); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return s, fmt.Errorf("GITHUB_APP_PRIVATE_KEY_FILE: %w", err)
		}
		s.PrivateKey = b
	} else {
		return s, fmt.Errorf("GITHUB_APP_PRIVATE_KEY is not set: give the App's PEM private key (or GITHUB_APP_PRIVATE_KEY_FILE)")
	}
	if s.WebhookSecret == "" {
		// go-github skips signature checks for an empty secret: never run so.
		return s, fmt.Errorf("GITHUB_WEBHOOK_SECRET is not set: deploybot refuses to accept unsigned webhooks")
	}
	switch v := strings.ToLower(get("DEPLOYBOT_ALLOW_COMMANDS", "false")); v {
	case "true", "1", "yes":
		s.AllowCommands = true
	case "false", "0", "no":
	default:
		return s, fmt.Errorf("DEPLOYBOT_ALLOW_COMMANDS must be true or false, got %q", v)
	}
	if s.Retention, err = parseRetention(get("DEPLOYBOT_RETENTION", "")); err != nil {
		return s, err
	}
	if s.EgressAllow, err = egress.ParseAllow(get(egress.AllowSetting, "")); err != nil {
		return s, err
	}
	s.LinkKey = get("DEPLOYBOT_LINK_KEY", "")
	if s.LinkKey != "" && len(s.LinkKey) < 32 {
		return s, fmt.Errorf("DEPLOYBOT_LINK_KEY is too short: use at least 32 random bytes (e.g. openssl rand -hex 32)")
	}
	s.RecordRetention = deploy.DefaultRecordRetention
	if v := get("DEPLOYBOT_RECORD_RETENTION", ""); v != "" {
		d, err := config.ParseDuration(v)
		if err != nil || d.Duration <= 0 {
			return s, fmt.Errorf("DEPLOYBOT_RECORD_RETENTION must be a positive duration such as 90d or 2160h")
		}
		s.RecordRetention = d.Duration
	}
	s.StepLease = deploy.DefaultLeaseTTL
	if v := get("DEPLOYBOT_STEP_LEASE", ""); v != "" {
		d, err := config.ParseDuration(v)
		if err != nil || d.Duration < 3*time.Second || d.Duration > 10*time.Minute {
			return s, fmt.Errorf("DEPLOYBOT_STEP_LEASE must be a duration from 3s to 10m, e.g. 15s; got %q", v)
		}
		s.StepLease = d.Duration
	}
	if err := s.readSignIn(get); err != nil {
		return s, err
	}
	if s.LogFormat != "json" && s.LogFormat != "console" {
		return s, fmt.Errorf("DEPLOYBOT_LOG_FORMAT must be json or console, got %q", s.LogFormat)
	}
	return s, nil
}

// readSignIn reads the three settings of sign-in with GitHub.
func (s *Settings) readSignIn(get func(k, def string) string) error {
	s.ClientID, s.ClientSecret = get("GITHUB_CLIENT_ID", ""), get("GITHUB_CLIENT_SECRET", "")
	key := get("DEPLOYBOT_SESSION_KEY", "")
	if s.ClientID == "" && s.ClientSecret == "" && key == "" {
		return nil // the web pages say how to enable them
	}
	var missing []string
	for name, v := range map[string]string{"GITHUB_CLIENT_ID": s.ClientID, "GITHUB_CLIENT_SECRET": s.ClientSecret, "DEPLOYBOT_SESSION_KEY": key} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and DEPLOYBOT_SESSION_KEY enable sign-in together; %s not set", strings.Join(missing, " and "))
	}
	var err error
	if s.SessionKey, err = ParseSessionKey(key); err != nil {
		return err
	}
	if s.PublicURL == "" {
		return fmt.Errorf("sign-in with GitHub needs DEPLOYBOT_PUBLIC_URL: GitHub returns to DEPLOYBOT_PUBLIC_URL/auth/callback")
	}
	return nil
}

// ParseSessionKey decodes DEPLOYBOT_SESSION_KEY: at least 32 bytes, hex or
// base64 (standard or URL alphabet, padded or not).
func ParseSessionKey(v string) ([]byte, error) {
	decoders := []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString}
	for _, dec := range decoders {
		if b, err := dec(v); err == nil {
			if len(b) < 32 {
				break
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("DEPLOYBOT_SESSION_KEY must be at least 32 random bytes, hex or base64 (e.g. openssl rand -hex 32)")
}

func parseRetention(v string) (time.Duration, error) {
	if v == "" {
		return DefaultRetention, nil
	}
	d, err := config.ParseDuration(v)
	if err != nil || d.Duration < minRetention {
		return 0, fmt.Errorf("DEPLOYBOT_RETENTION must be a duration of at least 3d (GitHub redelivers up to 3 days back), e.g. 168h or 7d; got %q", v)
	}
	return d.Duration, nil
}
