package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
)

// Flags passes when a JSON feature-flag endpoint (the user's service, not
// GitHub) reports the expected value for each configured flag.
type Flags struct{ Config *config.FlagsGate }

func (Flags) Name() string { return "flags" }

const (
	flagsTimeout = 10 * time.Second
	flagsMaxBody = 1 << 20
)

func (g Flags) Evaluate(ctx context.Context, in Input) (Result, error) {
	r := Result{Gate: g.Name()}
	if g.Config == nil || len(g.Config.Expect) == 0 {
		r.Verdict, r.Reason = Skip, "no flags to check"
		return r, nil
	}
	// The URL may carry a token in its query or user info; only its
	// redacted form is ever shown.
	shown := egress.Redact(g.Config.URL)
	hc := in.HTTP
	if hc == nil {
		hc = egress.Closed()
	}
	resp, err := hc.Do(ctx, egress.Call{URL: g.Config.URL, Header: http.Header{"Accept": {"application/json"}},
		Timeout: flagsTimeout, MaxBody: flagsMaxBody})
	var refused *egress.Refused
	switch {
	case errors.As(err, &refused) && refused.Kind == egress.RefusedBody:
		r.Verdict = Block
		r.Reason = fmt.Sprintf("flag service %s answered more than 1 MiB; point gates.flags.url at a smaller JSON document", shown)
		return r, nil
	case errors.As(err, &refused) && refused.Kind == egress.RefusedURL:
		r.Verdict = Block
		r.Reason = fmt.Sprintf("the flag URL is invalid (%s); fix gates.flags.url in .github/deploy.yml", refused.Reason)
		return r, nil
	case errors.As(err, &refused):
		r.Verdict = Block
		r.Reason = fmt.Sprintf("flag service %s not fetched: %s", shown, refused.Reason)
		return r, nil
	case err != nil:
		return Result{}, fmt.Errorf("flag service %s: %w", shown, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		r.Verdict = Block
		r.Reason = fmt.Sprintf("flag service %s answered %d %s; make it answer 200 with the flags as JSON", shown, resp.Status, http.StatusText(resp.Status))
		return r, nil
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		// The decoder's message quotes the body: not shown.
		r.Verdict = Block
		r.Reason = fmt.Sprintf("flag service %s did not answer JSON; make it answer a JSON document", shown)
		return r, nil
	}

	keys := make([]string, 0, len(g.Config.Expect))
	for k := range g.Config.Expect {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var d strings.Builder
	// What the service answered is never shown (it may be anything the URL
	// reaches): only whether it matched, and its type.
	fmt.Fprintf(&d, "Flags from %s:\n\n| flag | expected | got |\n|---|---|---|\n", shown)
	var bad []string
	for _, k := range keys {
		want := g.Config.Expect[k]
		got, found := lookupFlag(doc, k)
		actual := "missing"
		if found {
			actual = describeValue(got)
		}
		mark := "✅"
		if !found || !sameValue(want, got) {
			mark = "⛔"
			bad = append(bad, fmt.Sprintf("%s is %s, expected %s", k, actual, showValue(want)))
		}
		fmt.Fprintf(&d, "| %s `%s` | `%s` | %s |\n", mark, k, escapeCell(showValue(want)), actual)
	}
	if len(bad) > 0 {
		r.Verdict = Block
		r.Reason = strings.Join(bad, "; ")
		if len(bad) > 1 {
			r.Reason = fmt.Sprintf("%d flags differ: %s", len(bad), r.Reason)
		}
		d.WriteString("\nSet the flags in the flag service (or change gates.flags.expect in .github/deploy.yml), then deploy again.")
	} else {
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("%s as expected", countOf(len(keys), "flag"))
		if len(keys) == 1 {
			r.Reason = fmt.Sprintf("%s is %s as expected", keys[0], showValue(g.Config.Expect[keys[0]]))
		}
	}
	r.Detail = d.String()
	return r, nil
}

// lookupFlag finds a dotted path ("features.checkout.enabled",
// "rollout.0.percent") in doc. A key that itself contains dots
// ({"checkout.enabled": true}) is found too: longer keys are tried first.
func lookupFlag(doc any, key string) (any, bool) {
	return lookupSegments(doc, strings.Split(key, "."))
}

func lookupSegments(v any, segs []string) (any, bool) {
	if len(segs) == 0 {
		return v, true
	}
	switch x := v.(type) {
	case map[string]any:
		for n := len(segs); n >= 1; n-- {
			if child, ok := x[strings.Join(segs[:n], ".")]; ok {
				if got, ok := lookupSegments(child, segs[n:]); ok {
					return got, true
				}
			}
		}
	case []any:
		i, err := strconv.Atoi(segs[0])
		if err == nil && i >= 0 && i < len(x) && segs[0] == strconv.Itoa(i) {
			return lookupSegments(x[i], segs[1:])
		}
	}
	return nil, false
}

// sameValue compares an expected value from YAML with one decoded from JSON
// (numbers as json.Number): numbers numerically (1 equals 1.0), strings and
// booleans exactly, lists and maps element by element.
func sameValue(want, got any) bool {
	if wn, ok := asNumber(want); ok {
		gn, ok := asNumber(got)
		return ok && wn.Cmp(gn) == 0
	}
	switch w := want.(type) {
	case nil:
		return got == nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(w[i], g[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !sameValue(wv, gv) {
				return false
			}
		}
		return true
	}
	if _, isNum := got.(json.Number); isNum {
		return false
	}
	return reflect.DeepEqual(want, got)
}

// asNumber converts YAML and JSON numbers to an exact rational.
func asNumber(v any) (*big.Rat, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case uint64:
		return new(big.Rat).SetUint64(x), true
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(x) == nil {
			return nil, false
		}
		// 0.1 in YAML should equal 0.1 in JSON: compare decimal forms.
		s = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// showValue renders a value compactly as JSON.
func showValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// describeValue is what may be said of a fetched value: its type, and a
// string's length.
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return fmt.Sprintf("a string of %d characters", utf8.RuneCountInString(x))
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "a value"
}
