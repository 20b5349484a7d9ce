package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // window timezones must work on hosts without a zoneinfo database
)

// WindowGate allows deploys only inside allow windows and outside deny periods,
// evaluated in Timezone.
//
// Allow entries are "[days] [HH:MM-HH:MM]" (at least one part):
//   - days: comma-separated days or day ranges: "Mon", "Mon-Thu", "Sat,Sun",
//     "Mon,Wed-Fri", "Fri-Mon" (wraps). Names are Mon..Sun or full names,
//     case-insensitive; "weekdays" = Mon-Fri, "weekends" = Sat,Sun,
//     "daily" = every day. Omitted: every day.
//   - time: "09:00-16:00" is 09:00 ≤ now < 16:00; "24:00" may end a range;
//     a range ending before it starts ("22:00-02:00") runs past midnight and
//     belongs to the day it starts on. Omitted: the whole day.
//
// Deny entries are dates in the window's timezone, inclusive:
// "2026-12-24" or "2026-12-20..2027-01-03".
//
// No allow entries means every time is allowed unless denied.
type WindowGate struct {
	Timezone string   // IANA name; default UTC
	Allow    []string // as written
	Deny     []string // as written

	loc   *time.Location
	allow []WindowRule
	deny  []DenyPeriod
}

// NewWindowGate builds and validates a window gate.
func NewWindowGate(timezone string, allow, deny []string) (*WindowGate, error) {
	w := &WindowGate{Timezone: timezone, Allow: allow, Deny: deny}
	if err := w.compile(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *WindowGate) compile() error {
	loc, err := loadLocation(w.Timezone)
	if err != nil {
		return err
	}
	w.loc, w.allow, w.deny = loc, nil, nil
	for _, s := range w.Allow {
		r, err := ParseWindowRule(s)
		if err != nil {
			return err
		}
		w.allow = append(w.allow, r)
	}
	for _, s := range w.Deny {
		p, err := ParseDenyPeriod(s)
		if err != nil {
			return err
		}
		w.deny = append(w.deny, p)
	}
	return nil
}

// Location returns the window's time zone.
func (w *WindowGate) Location() *time.Location {
	if w.loc != nil {
		return w.loc
	}
	loc, err := loadLocation(w.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func loadLocation(tz string) (*time.Location, error) {
	if tz == "" || strings.EqualFold(tz, "UTC") {
		return time.UTC, nil
	}
	if tz == "Local" {
		return nil, fmt.Errorf("timezone Local depends on the server; use an IANA name")
	}
	return time.LoadLocation(tz)
}

// Contains reports whether t is inside an allow window and outside every deny
// period, with a one-line reason.
func (w *WindowGate) Contains(t time.Time) (bool, string) {
	if w == nil {
		return true, "no deploy window configured"
	}
	g, err := w.compiled()
	if err != nil {
		return false, "invalid deploy window: " + err.Error()
	}
	local := t.In(g.loc)
	now := fmt.Sprintf("now %s %s", local.Format("Mon 2006-01-02 15:04"), g.loc)
	for _, p := range g.deny {
		if p.Contains(local) {
			return false, fmt.Sprintf("inside deny period %s (%s)", p, now)
		}
	}
	if len(g.allow) == 0 {
		return true, fmt.Sprintf("outside every deny period (%s)", now)
	}
	for _, r := range g.allow {
		if r.Contains(local) {
			return true, fmt.Sprintf("inside allow window %q (%s)", r.text, now)
		}
	}
	return false, fmt.Sprintf("outside allow windows %s (%s)", strings.Join(quoteAll(g.Allow), ", "), now)
}

// compiled returns w, or a compiled copy when w was built without
// NewWindowGate or the parser.
func (w *WindowGate) compiled() (*WindowGate, error) {
	if w.loc != nil && len(w.allow) == len(w.Allow) && len(w.deny) == len(w.Deny) {
		return w, nil
	}
	c := &WindowGate{Timezone: w.Timezone, Allow: w.Allow, Deny: w.Deny}
	if err := c.compile(); err != nil {
		return nil, err
	}
	return c, nil
}

// allows is Contains without the reason, for a compiled gate.
func (w *WindowGate) allows(t time.Time) bool {
	local := t.In(w.loc)
	for _, p := range w.deny {
		if p.Contains(local) {
			return false
		}
	}
	if len(w.allow) == 0 {
		return true
	}
	for _, r := range w.allow {
		if r.Contains(local) {
			return true
		}
	}
	return false
}

// NextAllowed returns the first time at or after t that Contains allows,
// looking at most within ahead; ok is false when there is none in that span
// (or the window is invalid). It jumps between the instants where a
// closed window can open: local midnights (a new weekday, the end of a deny
// period), clock changes, and the start of each allow window (twice when
// clocks fall back).
func (w *WindowGate) NextAllowed(t time.Time, within time.Duration) (next time.Time, ok bool) {
	if w == nil {
		return t, true
	}
	g, err := w.compiled()
	if err != nil {
		return time.Time{}, false
	}
	if g.allows(t) {
		return t, true
	}
	end := t.Add(within)
	y, m, d := t.In(g.loc).Date()
	for day := 0; ; day++ {
		midnight := time.Date(y, m, d+day, 0, 0, 0, 0, g.loc)
		if midnight.After(end) {
			return time.Time{}, false
		}
		cands := []time.Time{midnight}
		// A clock change opens a window whose start was skipped
		// ("02:30-03:30" on the spring-forward day opens at 03:00).
		if _, change := midnight.ZoneBounds(); !change.IsZero() && change.Before(time.Date(y, m, d+day+1, 0, 0, 0, 0, g.loc)) {
			cands = append(cands, change)
		}
		for _, r := range g.allow {
			if r.start == 0 {
				continue
			}
			c := time.Date(y, m, d+day, 0, r.start, 0, 0, g.loc)
			cands = append(cands, c)
			// A wall time that occurs twice (clocks fall back) is a
			// candidate both times; time.Date picks one of them.
			for _, o := range []time.Time{c.Add(-time.Hour), c.Add(time.Hour)} {
				if o.Hour() == c.Hour() && o.Minute() == c.Minute() {
					cands = append(cands, o)
				}
			}
		}
		slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
		for _, c := range cands {
			if c.After(t) && !c.After(end) && g.allows(c) {
				return c, true
			}
		}
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// WindowRule is one parsed allow entry; see WindowGate.
type WindowRule struct {
	text       string
	days       [7]bool // indexed by time.Weekday
	start, end int     // minutes since midnight; both 0 = whole day
}

func (r WindowRule) String() string { return r.text }

var (
	timeRangeRE = regexp.MustCompile(`^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$`)
	dayNames    = map[string]time.Weekday{
		"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
		"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
		"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
		"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
		"tues": time.Tuesday, "thur": time.Thursday, "thurs": time.Thursday,
	}
)

// ParseWindowRule parses an allow entry like "Mon-Thu 09:00-16:00".
func ParseWindowRule(s string) (WindowRule, error) {
	r := WindowRule{text: s}
	bad := func(why string) (WindowRule, error) {
		// Never quote s: it comes from a config file (see decoder.addf).
		return r, fmt.Errorf("invalid window: %s (use e.g. \"Mon-Thu 09:00-16:00\", \"Sat,Sun\", \"22:00-02:00\")", why)
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return bad("empty")
	}
	last := fields[len(fields)-1]
	hasTime := timeRangeRE.MatchString(last)
	if hasTime {
		fields = fields[:len(fields)-1]
		m := timeRangeRE.FindStringSubmatch(last)
		var ok1, ok2 bool
		r.start, ok1 = clock(m[1], m[2])
		r.end, ok2 = clock(m[3], m[4])
		if !ok1 || !ok2 || r.start == 24*60 {
			return bad("times must be HH:MM between 00:00 and 24:00")
		}
		if r.start == r.end {
			return bad("the time range is empty")
		}
		if r.end == 0 {
			r.end = 24 * 60
		}
	}
	if len(fields) == 0 {
		for i := range r.days {
			r.days[i] = true
		}
		return r, nil
	}
	for _, item := range strings.Split(strings.Join(fields, ""), ",") {
		switch strings.ToLower(item) {
		case "daily", "everyday":
			item = "sun-sat"
		case "weekdays":
			item = "mon-fri"
		case "weekends", "weekend":
			item = "sat-sun"
		}
		from, to, isRange := strings.Cut(item, "-")
		a, ok := dayNames[strings.ToLower(from)]
		if !ok {
			if strings.Contains(item, ":") {
				return bad("the time range must be HH:MM-HH:MM after the days")
			}
			return bad("unknown day name")
		}
		b := a
		if isRange {
			if b, ok = dayNames[strings.ToLower(to)]; !ok {
				return bad("unknown day name")
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			r.days[d] = true
			if d == b {
				break
			}
		}
	}
	return r, nil
}

func clock(h, m string) (int, bool) {
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

// Contains reports whether local (already in the window's timezone) is inside the rule.
func (r WindowRule) Contains(local time.Time) bool {
	wd := local.Weekday()
	tod := local.Hour()*60 + local.Minute()
	switch {
	case r.start == 0 && r.end == 0:
		return r.days[wd]
	case r.start < r.end:
		return r.days[wd] && tod >= r.start && tod < r.end
	default: // past midnight
		return (r.days[wd] && tod >= r.start) || (r.days[(wd+6)%7] && tod < r.end)
	}
}

// DenyPeriod is an inclusive range of dates; see WindowGate.
type DenyPeriod struct {
	text     string
	from, to int // yyyymmdd
}

func (p DenyPeriod) String() string { return p.text }

// ParseDenyPeriod parses "2026-12-24" or "2026-12-20..2027-01-03".
func ParseDenyPeriod(s string) (DenyPeriod, error) {
	p := DenyPeriod{text: s}
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "..")
	if !isRange {
		b = a
	}
	from, err1 := time.Parse(time.DateOnly, strings.TrimSpace(a))
	to, err2 := time.Parse(time.DateOnly, strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return p, errors.New("invalid deny period: expected a date 2026-12-24 or a range 2026-12-20..2027-01-03")
	}
	p.from, p.to = dateKey(from), dateKey(to)
	if p.to < p.from {
		return p, errors.New("invalid deny period: it ends before it starts")
	}
	return p, nil
}

func dateKey(t time.Time) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }

// Contains reports whether the local date (in the window's timezone) is in the period.
func (p DenyPeriod) Contains(local time.Time) bool {
	k := dateKey(local)
	return k >= p.from && k <= p.to
}
