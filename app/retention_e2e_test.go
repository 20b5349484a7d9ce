package app

import (
	"strings"
	"testing"
	"time"
)

// Once a delivery is handled only its id is kept: the payload (which may
// hold whatever a user wrote) is gone, yet a redelivery of the same id is
// still recognised and has no second effect.
func TestHandledDeliveryKeepsOnlyItsID(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	s.comment(pr, "walt", "/deploy staging")
	s.deploymentsFinished(1)

	var comment string // walt's /deploy: the first comment (deploybot's own are not stored)
	for _, d := range s.Sim.Deliveries() {
		if d.Event == "issue_comment" && strings.Contains(string(d.Body), `"login":"walt"`) {
			comment = d.ID
			break
		}
	}
	stored, err := s.App.Store.Delivery(s.ctx, comment)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Payload) != 0 || !stored.Processed() {
		t.Fatalf("handled delivery still stores %d payload bytes (processed %v)", len(stored.Payload), stored.Processed())
	}
	before, _ := s.App.Store.CountDeliveries(s.ctx)
	if err := s.Sim.Redeliver(comment); err != nil {
		t.Fatal(err)
	}
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 1 {
		t.Errorf("the redelivered /deploy made %d deployments, want 1", n)
	}
	if after, _ := s.App.Store.CountDeliveries(s.ctx); after != before {
		t.Errorf("deliveries stored: %d before the redelivery, %d after", before, after)
	}
}

// Delivery ids are kept for the retention period (7 days by default) and
// deleted by the retention job after it.
func TestDeliveriesPastRetentionAreDeleted(t *testing.T) {
	t.Parallel()
	var clk clock
	s := newStoryAt(t, "", clk.Now)
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	s.comment(pr, "walt", "/deploy help")
	s.settle()
	stored, err := s.App.Store.CountDeliveries(s.ctx)
	if err != nil || stored == 0 {
		t.Fatalf("deliveries stored = %d, %v", stored, err)
	}
	for _, tc := range []struct {
		advance time.Duration
		deleted int64
		left    int
	}{
		{6 * 24 * time.Hour, 0, stored}, // within 7 days: kept for deduplication
		{2 * 24 * time.Hour, int64(stored), 0},
	} {
		clk.Advance(tc.advance)
		n, err := s.App.DropExpiredDeliveries(s.ctx)
		if err != nil || n != tc.deleted {
			t.Errorf("after %s more: deleted %d (%v), want %d", tc.advance, n, err, tc.deleted)
		}
		if left, _ := s.App.Store.CountDeliveries(s.ctx); left != tc.left {
			t.Errorf("after %s more: %d deliveries left, want %d", tc.advance, left, tc.left)
		}
	}
}

func TestRetentionSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", 7 * 24 * time.Hour, false},
		{"168h", 168 * time.Hour, false},
		{"14d", 14 * 24 * time.Hour, false},
		{"30d", 30 * 24 * time.Hour, false},
		{"2d", 0, true}, // GitHub redelivers up to 3 days back
		{"7", 0, true},
		{"a week", 0, true},
	} {
		t.Run(tc.value, func(t *testing.T) {
			env := map[string]string{"GITHUB_APP_ID": "12", "GITHUB_APP_PRIVATE_KEY": "pem", "GITHUB_WEBHOOK_SECRET": "s",
				"DEPLOYBOT_RETENTION": tc.value}
			s, err := SettingsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if tc.wantErr {
				if err == nil {
					t.Fatalf("accepted %q as %s", tc.value, s.Retention)
				}
				return
			}
			if err != nil || s.Retention != tc.want {
				t.Fatalf("DEPLOYBOT_RETENTION=%q: %s, %v; want %s", tc.value, s.Retention, err, tc.want)
			}
		})
	}
}
