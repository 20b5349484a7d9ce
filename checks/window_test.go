package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
)

func TestWindow(t *testing.T) {
	mustWindow := func(tz string, allow, deny []string) *config.WindowGate {
		w, err := config.NewWindowGate(tz, allow, deny)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	berlin := mustWindow("Europe/Berlin", []string{"Mon-Thu 09:00-16:00"}, []string{"2026-12-20..2027-01-03"})
	nightly := mustWindow("Europe/Berlin", []string{"daily 02:30-03:30"}, nil)
	fallBack := mustWindow("Europe/Berlin", []string{"Sun 02:00-02:30"}, nil)
	never := mustWindow("UTC", []string{"Mon 09:00-10:00"}, []string{"2026-01-01..2027-12-31"})
	denyOnly := mustWindow("America/New_York", nil, []string{"2026-07-04"})
	env := &config.Environment{Name: "production"}

	for _, tc := range []struct {
		name   string
		w      *config.WindowGate
		now    string // RFC 3339
		want   Verdict
		reason []string // substrings of the reason
		detail []string // substrings of the detail
	}{
		// 2026-06-01 is a Monday; Berlin is UTC+2 in summer.
		{"inside", berlin, "2026-06-01T08:00:00Z", Pass, []string{`inside allow window "Mon-Thu 09:00-16:00"`, "Europe/Berlin"}, nil},
		{"before opening same day", berlin, "2026-06-01T06:30:00Z", Block,
			[]string{"outside allow windows", "deploys open again Mon 2026-06-01 09:00 CEST"}, []string{"in 30m"}},
		{"friday", berlin, "2026-06-05T08:00:00Z", Block,
			[]string{"deploys open again Mon 2026-06-08 09:00 CEST"}, []string{"allow `Mon-Thu 09:00-16:00`", "2026-06-08 07:00 UTC", "in 2d 23h"}},
		{"closing time is exclusive", berlin, "2026-06-04T14:00:00Z", Block,
			[]string{"deploys open again Mon 2026-06-08 09:00 CEST"}, nil},
		{"deny period across New Year", berlin, "2026-12-28T09:00:00Z", Block,
			[]string{"inside deny period 2026-12-20..2027-01-03", "deploys open again Mon 2027-01-04 09:00 CET"}, []string{"deny `2026-12-20..2027-01-03`"}},
		{"weekend before the deny period", berlin, "2026-12-19T12:00:00Z", Block,
			[]string{"deploys open again Mon 2027-01-04 09:00 CET"}, nil},
		{"after the deny period", berlin, "2027-01-04T08:00:00Z", Pass, nil, nil},
		// Clocks fall back on Sun 2026-10-25: Monday 09:00 is CET, 08:00 UTC.
		{"over the autumn clock change", berlin, "2026-10-23T15:00:00Z", Block,
			[]string{"deploys open again Mon 2026-10-26 09:00 CET"}, []string{"2026-10-26 08:00 UTC"}},
		// Clocks spring forward on Sun 2026-03-29 at 02:00 CET to 03:00 CEST:
		// 02:30-03:30 that night is 03:00-03:30 CEST.
		{"window partly skipped by spring forward", nightly, "2026-03-28T23:00:00Z", Block,
			[]string{"deploys open again Sun 2026-03-29 03:00 CEST"}, []string{"2026-03-29 01:00 UTC"}},
		{"inside after spring forward", nightly, "2026-03-29T01:10:00Z", Pass, nil, nil},
		// 02:00-02:30 occurs twice on Sun 2026-10-25; the first is 00:00 UTC.
		{"repeated hour, first time", fallBack, "2026-10-24T23:30:00Z", Block,
			[]string{"deploys open again Sun 2026-10-25 02:00 CEST"}, nil},
		{"repeated hour, second time", fallBack, "2026-10-25T00:45:00Z", Block,
			[]string{"deploys open again Sun 2026-10-25 02:00 CET"}, []string{"2026-10-25 01:00 UTC"}},
		{"no allowed time ahead", never, "2026-03-02T09:30:00Z", Block,
			[]string{"no deploy is allowed in the next 400 days", "fix gates.window"}, nil},
		{"deny only: denied day", denyOnly, "2026-07-04T16:00:00Z", Block,
			[]string{"deploys open again Sun 2026-07-05 00:00 EDT"}, nil},
		{"deny only: other day", denyOnly, "2026-07-06T16:00:00Z", Pass, []string{"outside every deny period"}, nil},
		{"not configured", nil, "2026-07-06T16:00:00Z", Pass, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now, err := time.Parse(time.RFC3339, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			r := eval(t, Window{Config: tc.w}, Input{Environment: env, Now: now})
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), want %s", r.Verdict, r.Reason, tc.want)
			}
			for _, s := range tc.reason {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q lacks %q", r.Reason, s)
				}
			}
			for _, s := range tc.detail {
				if !strings.Contains(r.Detail, s) {
					t.Errorf("detail %q lacks %q", r.Detail, s)
				}
			}
		})
	}
}

func TestWindowInvalid(t *testing.T) {
	w := &config.WindowGate{Timezone: "Mars/Olympus", Allow: []string{"Mon"}}
	r := eval(t, Window{Config: w}, Input{Environment: &config.Environment{Name: "production"}, Now: time.Now()})
	if r.Verdict != Block || !strings.Contains(r.Reason, "invalid deploy window") || !strings.Contains(r.Reason, "fix gates.window") {
		t.Fatalf("%s %q", r.Verdict, r.Reason)
	}
}
