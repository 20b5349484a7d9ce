package deploy

import (
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
)

func TestStaleAfterIsTheLongestStepPlusMargin(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  config.Environment
		want time.Duration
	}{
		{"nothing configured: the job-runtime floor", config.Environment{}, 85 * time.Minute},
		{"webhook executor within the floor", config.Environment{Executor: config.Executor{
			Webhook: &config.WebhookExecutor{Timeout: config.D(time.Hour)}}}, 85 * time.Minute},
		{"webhook executor reporting within a day", config.Environment{Executor: config.Executor{
			Webhook: &config.WebhookExecutor{Timeout: config.D(24 * time.Hour)}}}, 24*time.Hour + 15*time.Minute},
		{"checks wait of 3h", config.Environment{Gates: config.Gates{
			Checks: &config.ChecksGate{Wait: config.D(3 * time.Hour)}}}, 3*time.Hour + 15*time.Minute},
		{"external executor's 2h timeout", config.Environment{Executor: config.Executor{
			External: &config.ExternalExecutor{Timeout: config.D(2 * time.Hour)}}}, 2*time.Hour + 15*time.Minute},
		{"verify timeout of 90m", config.Environment{Verify: config.Verify{Timeout: config.D(90 * time.Minute)}},
			105 * time.Minute},
		{"database backup hook of 2h", config.Environment{Gates: config.Gates{Migrations: &config.MigrationsGate{
			Backup: &config.Executor{Webhook: &config.WebhookExecutor{Timeout: config.D(2 * time.Hour)}}}}},
			2*time.Hour + 15*time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := staleAfter(&tc.env); got != tc.want {
				t.Errorf("staleAfter = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFormatIdle(t *testing.T) {
	for in, want := range map[time.Duration]string{
		45 * time.Minute: "45m", 2 * time.Hour: "2h", 90*time.Minute + 20*time.Second: "1h30m", 200 * time.Minute: "3h20m",
	} {
		if got := formatIdle(in); got != want {
			t.Errorf("formatIdle(%s) = %q, want %q", in, got, want)
		}
	}
}
