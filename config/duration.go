package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as a Go duration string with an
// optional leading day count: "30s", "5m", "1h30m", "7d", "1d12h".
// Bare numbers ("5") are rejected because their unit is ambiguous, and
// negative durations are rejected.
type Duration struct{ time.Duration }

// D builds a Duration.
func D(d time.Duration) Duration { return Duration{d} }

var daysRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)d(.*)$`)

// ParseDuration parses a duration string (see Duration).
func ParseDuration(s string) (Duration, error) {
	// Errors never quote s: it may come from a config file (see decoder.addf).
	bad := func() (Duration, error) {
		return Duration{}, errors.New("invalid duration: expected e.g. 30s, 5m, 1h")
	}
	v := strings.TrimSpace(s)
	if v == "" {
		return bad()
	}
	if strings.HasPrefix(v, "-") {
		return Duration{}, errors.New("invalid duration: must not be negative")
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return Duration{}, errors.New("invalid duration: a bare number is ambiguous, add a unit (e.g. 30s or 5m)")
	}
	v = strings.TrimPrefix(v, "+")
	var total float64
	if m := daysRE.FindStringSubmatch(v); m != nil {
		days, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return bad()
		}
		total = days * 24 * float64(time.Hour)
		v = m[2]
	}
	if v != "" {
		if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "+") {
			return bad()
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return bad()
		}
		total += float64(d)
	}
	if total > math.MaxInt64 {
		return Duration{}, errors.New("invalid duration: too long")
	}
	return Duration{time.Duration(total)}, nil
}

// String formats the duration compactly: "7d", "1d12h", "1h30m", "30s".
func (d Duration) String() string {
	v := d.Duration
	if v <= 0 {
		return v.String()
	}
	var b strings.Builder
	if days := v / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		v -= days * 24 * time.Hour
	}
	if v == 0 {
		return b.String()
	}
	s := v.String() // "1h30m0s", "1h0m0s", "5m0s", "30s"
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return b.String() + s
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler; integers are rejected.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := durationFromNode(n)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func durationFromNode(n *yaml.Node) (Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return Duration{}, fmt.Errorf("invalid duration: expected a string like 30s, 5m, 1h, got %s", kindName(n))
	}
	return ParseDuration(n.Value)
}
