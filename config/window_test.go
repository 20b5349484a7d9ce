package config

import (
	"strings"
	"testing"
	"time"
)

func TestWindowContains(t *testing.T) {
	berlin := mustWindow(t, "Europe/Berlin", []string{"Mon-Thu 09:00-16:00"}, []string{"2026-12-20..2027-01-03"})
	overnight := mustWindow(t, "America/New_York", []string{"Fri 22:00-02:00", "Sat,Sun"}, nil)
	denyOnly := mustWindow(t, "", nil, []string{"2026-07-04"})
	tokyo := mustWindow(t, "Asia/Tokyo", []string{"weekdays 08:00-18:00"}, nil)

	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name   string
		w      *WindowGate
		at     string
		want   bool
		reason string
	}{
		// 2026-06-01 is a Monday; Berlin is UTC+2 in summer.
		{"berlin monday 10:00 local", berlin, "2026-06-01T08:00:00Z", true, `inside allow window "Mon-Thu 09:00-16:00"`},
		{"berlin monday 08:30 local", berlin, "2026-06-01T06:30:00Z", false, "outside allow windows"},
		{"berlin start inclusive", berlin, "2026-06-01T07:00:00Z", true, ""},
		{"berlin end exclusive", berlin, "2026-06-01T14:00:00Z", false, ""},
		{"berlin friday", berlin, "2026-06-05T08:00:00Z", false, "now Fri 2026-06-05 10:00 Europe/Berlin"},
		{"berlin winter offset (UTC+1)", berlin, "2026-11-02T08:30:00Z", true, ""},
		{"berlin thursday late UTC is friday local", berlin, "2026-06-04T22:30:00Z", false, ""},
		{"deny period first day", berlin, "2026-12-21T09:00:00Z", false, "inside deny period 2026-12-20..2027-01-03"},
		{"deny period last day inclusive", berlin, "2026-12-31T09:00:00Z", false, "inside deny period"},
		{"deny period ends in local time", berlin, "2027-01-03T22:59:00Z", false, "inside deny period"},
		{"after deny period (local Jan 4)", berlin, "2027-01-04T08:00:00Z", true, ""},
		{"before deny period local, already inside in UTC+1", berlin, "2026-12-19T23:30:00Z", false, "inside deny period"},
		{"overnight friday 23:00 NY", overnight, "2026-06-06T03:00:00Z", true, `"Fri 22:00-02:00"`},
		{"overnight saturday 01:00 NY belongs to friday", overnight, "2026-06-06T05:00:00Z", true, ""},
		{"weekend all day", overnight, "2026-06-07T15:00:00Z", true, `"Sat,Sun"`},
		{"monday 01:00 NY not covered", overnight, "2026-06-08T05:00:00Z", false, ""},
		{"thursday 23:00 NY", overnight, "2026-06-05T03:00:00Z", false, ""},
		{"deny only: other day", denyOnly, "2026-07-03T12:00:00Z", true, "outside every deny period"},
		{"deny only: the day", denyOnly, "2026-07-04T00:00:00Z", false, "inside deny period 2026-07-04"},
		{"tokyo monday 08:30 is sunday UTC", tokyo, "2026-06-07T23:30:00Z", true, ""},
		{"tokyo friday 18:00 closed", tokyo, "2026-06-05T09:00:00Z", false, ""},
		{"nil window", nil, "2026-06-05T09:00:00Z", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := tt.w.Contains(utc(tt.at))
			if got != tt.want || !strings.Contains(reason, tt.reason) {
				t.Errorf("Contains(%s) = %v, %q; want %v, %q", tt.at, got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestWindowUncompiled(t *testing.T) {
	w := &WindowGate{Timezone: "Europe/Berlin", Allow: []string{"Mon 09:00-10:00"}}
	if ok, _ := w.Contains(time.Date(2026, 6, 1, 9, 30, 0, 0, w.Location())); !ok {
		t.Error("hand-built WindowGate should compile on demand")
	}
	bad := &WindowGate{Allow: []string{"someday"}}
	if ok, reason := bad.Contains(time.Now()); ok || !strings.Contains(reason, "invalid deploy window") {
		t.Errorf("bad window: %v %q", ok, reason)
	}
}

func TestParseWindowRule(t *testing.T) {
	valid := []string{"Mon-Thu 09:00-16:00", "Sat,Sun", "Mon, Wed-Fri 8:00-12:30", "22:00-02:00", "Fri-Mon", "weekdays", "daily 00:00-24:00", "monday 9:00-17:00", "Sun 18:00-00:00"}
	for _, s := range valid {
		if _, err := ParseWindowRule(s); err != nil {
			t.Errorf("ParseWindowRule(%q): %v", s, err)
		}
	}
	invalid := []string{"", "Mon-Fri 9am-5pm", "Funday", "Mon 09:00-09:00", "Mon 25:00-26:00", "Mon 09:60-10:00", "Mon-Blursday", "Mon 24:00-01:00"}
	for _, s := range invalid {
		if _, err := ParseWindowRule(s); err == nil {
			t.Errorf("ParseWindowRule(%q) accepted", s)
		}
	}
	r, _ := ParseWindowRule("Fri-Mon")
	for d, want := range []bool{true, true, false, false, false, true, true} { // Sun..Sat
		if r.days[d] != want {
			t.Errorf("Fri-Mon day %v = %v", time.Weekday(d), r.days[d])
		}
	}
	for _, s := range []string{"2026-12-24", "2026-12-20..2027-01-03"} {
		if _, err := ParseDenyPeriod(s); err != nil {
			t.Errorf("ParseDenyPeriod(%q): %v", s, err)
		}
	}
	for _, s := range []string{"24.12.2026", "2026-12-20..", "2027-01-03..2026-12-20"} {
		if _, err := ParseDenyPeriod(s); err == nil {
			t.Errorf("ParseDenyPeriod(%q) accepted", s)
		}
	}
	if _, err := NewWindowGate("Local", nil, nil); err == nil {
		t.Error("Local timezone accepted")
	}
}

func mustWindow(t *testing.T, tz string, allow, deny []string) *WindowGate {
	t.Helper()
	w, err := NewWindowGate(tz, allow, deny)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
