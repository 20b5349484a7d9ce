package checks

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
)

// What the flag service answers is never shown: only whether each flag
// matched, the expected value, and the type (and a string's length) of what
// came back.
func TestFlagsNeverEchoFetchedValues(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"a":"SECRET-VALUE","n":987654321,"o":{"k":"SECRET-VALUE"},"l":["SECRET-VALUE"],"ok":true}`))
	}))
	defer srv.Close()
	env := &config.Environment{Name: "production"}
	for _, tc := range []struct {
		name   string
		expect map[string]any
		want   Verdict
		shown  []string
	}{
		{"string", map[string]any{"a": true}, Block, []string{"⛔ `a`", "string of 12 characters", "`true`"}},
		{"number", map[string]any{"n": 42}, Block, []string{"⛔ `n`", "a number", "`42`"}},
		{"object", map[string]any{"o": "x"}, Block, []string{"an object"}},
		{"list", map[string]any{"l": []any{"x"}}, Block, []string{"a list"}},
		{"matched and not", map[string]any{"ok": true, "a": "x"}, Block, []string{"✅ `ok`", "⛔ `a`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := eval(t, Flags{Config: &config.FlagsGate{URL: srv.URL + "/flags", Expect: tc.expect}}, Input{Environment: env, HTTP: loopbackHTTP()})
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), want %s", r.Verdict, r.Reason, tc.want)
			}
			shown := r.Reason + "\n" + r.Detail
			if strings.Contains(shown, "SECRET") || strings.Contains(shown, "987654321") {
				t.Fatalf("a fetched value is shown:\n%s", shown)
			}
			for _, s := range tc.shown {
				if !strings.Contains(shown, s) {
					t.Errorf("%q lacks %q", shown, s)
				}
			}
		})
	}
}
