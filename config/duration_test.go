package config

import (
	"encoding/json"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"0s", 0, true},
		{"250ms", 250 * time.Millisecond, true},
		{"5", 0, false},
		{"0", 0, false},
		{"1.5", 0, false},
		{"-1m", 0, false},
		{"1d-1h", 0, false},
		{"5 minutes", 0, false},
		{"1h2d", 0, false},
		{"d", 0, false},
		{"", 0, false},
		{"999999999d", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.ok != (err == nil) || got.Duration != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got.Duration, err, tt.want, tt.ok)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	for in, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "7d", 36 * time.Hour: "1d12h", 90 * time.Minute: "1h30m",
		time.Hour: "1h", 30 * time.Second: "30s", 5 * time.Minute: "5m", 0: "0s",
	} {
		if got := D(in).String(); got != want {
			t.Errorf("%v.String() = %q, want %q", in, got, want)
		}
		if back, err := ParseDuration(D(in).String()); err != nil || back.Duration != in {
			t.Errorf("round trip %v: %v %v", in, back, err)
		}
	}
}

func TestDurationCodecs(t *testing.T) {
	var v struct {
		T Duration `yaml:"t" json:"t"`
	}
	if err := yaml.Unmarshal([]byte("t: 1d2h"), &v); err != nil || v.T.Duration != 26*time.Hour {
		t.Errorf("yaml: %v %v", v.T, err)
	}
	if err := yaml.Unmarshal([]byte("t: 5"), &v); err == nil {
		t.Error("yaml accepted a bare integer")
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) != `{"t":"1d2h"}` {
		t.Errorf("json = %s %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"t":"90s"}`), &v); err != nil || v.T.Duration != 90*time.Second {
		t.Errorf("json unmarshal: %v %v", v.T, err)
	}
}
