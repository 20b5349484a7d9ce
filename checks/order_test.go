package checks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
)

func TestOrderGate(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	prod := &config.Environment{Name: "production"}
	history := map[string]bool{"staging@" + sha: true, "qa@fedcba9": true}
	deployed := func(_ context.Context, env, s string) (bool, error) { return history[env+"@"+s], nil }
	for _, tc := range []struct {
		name     string
		requires []string
		deployed func(context.Context, string, string) (bool, error)
		want     Verdict
		reason   string
		detail   string
		wantErr  string
	}{
		{name: "deployed to staging first", requires: []string{"staging"}, deployed: deployed,
			want: Pass, reason: "deployed to staging first", detail: "`0123456` was deployed successfully to staging before production."},
		{name: "not yet deployed", requires: []string{"qa"}, deployed: deployed,
			want: Block, reason: "not yet deployed to qa; run /deploy qa first", detail: "Deploy the same commit there (`/deploy qa`)"},
		{name: "one of several missing", requires: []string{"staging", "qa", "perf"}, deployed: deployed,
			want: Block, reason: "not yet deployed to qa and perf; run /deploy qa and /deploy perf first"},
		{name: "nothing required", want: Skip, reason: "no environment must be deployed first"},
		{name: "no history", requires: []string{"staging"}, wantErr: "no deployment history"},
		{name: "history error", requires: []string{"staging"},
			deployed: func(context.Context, string, string) (bool, error) { return false, errors.New("database is locked") },
			wantErr:  "database is locked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{SHA: sha, Environment: prod, Deployed: tc.deployed}
			r, err := Order{Requires: tc.requires}.Evaluate(context.Background(), in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q (result %s %q)", err, tc.wantErr, r.Verdict, r.Reason)
				}
				return
			}
			if err != nil || r.Gate != "order" || r.Verdict != tc.want || r.Reason != tc.reason {
				t.Fatalf("got %s %q, %v; want %s %q", r.Verdict, r.Reason, err, tc.want, tc.reason)
			}
			if !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("detail lacks %q:\n%s", tc.detail, r.Detail)
			}
		})
	}
}
