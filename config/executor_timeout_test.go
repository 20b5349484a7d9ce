package config

import (
	"testing"
	"time"
)

// A webhook executor may take up to a day to report (202 and a callback);
// one minute more is refused.
func TestWebhookTimeoutUpToADay(t *testing.T) {
	for _, tc := range []struct {
		name, timeout string
		ok            bool
		want          time.Duration
	}{
		{"default", "", true, 10 * time.Minute},
		{"two hours", "2h", true, 2 * time.Hour},
		{"a day", "24h", true, 24 * time.Hour},
		{"a day in days", "1d", true, 24 * time.Hour},
		{"over a day", "24h1m", false, 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field := ""
			if tc.timeout != "" {
				field = ", timeout: " + tc.timeout
			}
			c, err := Parse([]byte(env("    executor: { webhook: { url: https://d.example.com/h" + field + " } }\n")))
			if (err == nil) != tc.ok {
				t.Fatalf("timeout %q: err = %v, want ok=%v", tc.timeout, err, tc.ok)
			}
			if err == nil {
				if got := c.Environments["staging"].Executor.Webhook.Timeout.Duration; got != tc.want {
					t.Errorf("timeout = %s, want %s", got, tc.want)
				}
			}
		})
	}
}
