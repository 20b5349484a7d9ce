package githubsim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// openapiJSON is GitHub's REST description trimmed to the emulated operations
// by cmd/trimspec (see generate.go).
//
//go:embed testdata/openapi.json
var openapiJSON []byte

type spec struct {
	root   map[string]any
	ops    []*operation
	others []*operation // documented by GitHub but not emulated
	rxMu   sync.Mutex
	rx     map[string]*regexp.Regexp
}

type operation struct {
	Method   string
	Template string
	ID       string
	op       map[string]any
	params   []map[string]any
	rx       *regexp.Regexp
	names    []string
	literals int
}

var (
	specOnce   sync.Once
	loadedSpec *spec
)

func getSpec() *spec {
	specOnce.Do(func() {
		s := &spec{rx: map[string]*regexp.Regexp{}}
		if err := json.Unmarshal(openapiJSON, &s.root); err != nil {
			panic("githubsim: bad embedded openapi.json: " + err.Error())
		}
		paths := s.root["paths"].(map[string]any)
		for tmpl, item := range paths {
			pi := item.(map[string]any)
			var common []any
			if p, ok := pi["parameters"].([]any); ok {
				common = p
			}
			for m, o := range pi {
				if m == "parameters" {
					continue
				}
				om := o.(map[string]any)
				op := &operation{Method: strings.ToUpper(m), Template: tmpl, op: om}
				op.ID, _ = om["operationId"].(string)
				own, _ := om["parameters"].([]any)
				for _, p := range append(append([]any{}, common...), own...) {
					if pm, ok := s.resolve(p).(map[string]any); ok {
						op.params = append(op.params, pm)
					}
				}
				s.compile(op)
				s.ops = append(s.ops, op)
			}
		}
		if others, ok := s.root["x-sim-other-operations"].([]any); ok {
			for _, o := range others {
				method, tmpl, _ := strings.Cut(o.(string), " ")
				op := &operation{Method: method, Template: tmpl}
				s.compile(op)
				s.others = append(s.others, op)
			}
		}
		for _, list := range [][]*operation{s.ops, s.others} {
			sort.SliceStable(list, func(i, j int) bool {
				if list[i].literals != list[j].literals {
					return list[i].literals > list[j].literals
				}
				return list[i].Template < list[j].Template
			})
		}
		loadedSpec = s
	})
	return loadedSpec
}

var paramRx = regexp.MustCompile(`\{([^}]+)\}`)

func (s *spec) compile(op *operation) {
	multi := map[string]bool{}
	for _, p := range op.params {
		if p["in"] == "path" && p["x-multi-segment"] == true {
			multi[p["name"].(string)] = true
		}
	}
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range paramRx.FindAllStringSubmatchIndex(op.Template, -1) {
		lit := op.Template[last:m[0]]
		op.literals += len(lit)
		b.WriteString(regexp.QuoteMeta(lit))
		name := op.Template[m[2]:m[3]]
		op.names = append(op.names, name)
		if multi[name] {
			b.WriteString("(.+)")
		} else {
			b.WriteString("([^/]+)")
		}
		last = m[1]
	}
	op.literals += len(op.Template[last:])
	b.WriteString(regexp.QuoteMeta(op.Template[last:]))
	b.WriteString("/?$")
	op.rx = regexp.MustCompile(b.String())
}

// match finds the operation for method and escaped path. It reports
// pathKnown when some operation (of any method) matches the path.
func (s *spec) match(method, escapedPath string) (op *operation, params map[string]string, pathKnown bool) {
	for _, o := range s.ops {
		m := o.rx.FindStringSubmatch(escapedPath)
		if m == nil {
			continue
		}
		pathKnown = true
		if o.Method != method {
			continue
		}
		params = map[string]string{}
		for i, n := range o.names {
			v, err := url.PathUnescape(m[i+1])
			if err != nil {
				v = m[i+1]
			}
			params[n] = v
		}
		return o, params, true
	}
	return nil, nil, pathKnown
}

// documented reports whether GitHub documents method+path although the
// emulator does not implement it.
func (s *spec) documented(method, escapedPath string) string {
	for _, o := range s.others {
		if o.Method == method && o.rx.MatchString(escapedPath) {
			return o.Method + " " + o.Template
		}
	}
	return ""
}

func (s *spec) resolve(v any) any {
	for i := 0; i < 32; i++ {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		var cur any = s.root
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cm, _ := cur.(map[string]any)
			cur = cm[p]
		}
		v = cur
	}
	return v
}

// checkParams validates path and query parameters; it returns violations.
func (s *spec) checkParams(op *operation, pathParams map[string]string, q url.Values) []string {
	var errs []string
	for _, p := range op.params {
		name, _ := p["name"].(string)
		sch := s.resolve(p["schema"])
		switch p["in"] {
		case "path":
			if v, ok := pathParams[name]; ok {
				errs = append(errs, s.checkScalar(sch, v, "path parameter "+name)...)
			}
		case "query":
			vals, present := q[name]
			if !present {
				if p["required"] == true {
					errs = append(errs, fmt.Sprintf("query parameter %q is required", name))
				}
				continue
			}
			for _, v := range vals {
				errs = append(errs, s.checkScalar(sch, v, "query parameter "+name)...)
			}
		}
	}
	return errs
}

func (s *spec) checkScalar(sch any, v, what string) []string {
	m, _ := sch.(map[string]any)
	if m == nil {
		return nil
	}
	var val any = v
	switch m["type"] {
	case "integer":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return []string{fmt.Sprintf("%s: %q is not an integer", what, v)}
		}
		val = json.Number(v)
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return []string{fmt.Sprintf("%s: %q is not a number", what, v)}
		}
		val = json.Number(v)
	case "boolean":
		if v != "true" && v != "false" {
			return []string{fmt.Sprintf("%s: %q is not a boolean", what, v)}
		}
		val = v == "true"
	}
	var errs []string
	s.validate(m, val, what, &errs)
	return errs
}

// requestSchema returns the JSON request body schema of op, and whether a
// body is required.
func (s *spec) requestSchema(op *operation) (any, bool) {
	rb, _ := s.resolve(op.op["requestBody"]).(map[string]any)
	if rb == nil {
		return nil, false
	}
	content, _ := rb["content"].(map[string]any)
	mt, _ := content["application/json"].(map[string]any)
	if mt == nil {
		return nil, false
	}
	return mt["schema"], rb["required"] == true
}

// responseSchema returns the application/json schema for a status code.
func (s *spec) responseSchema(op *operation, status int) any {
	resps, _ := op.op["responses"].(map[string]any)
	r, _ := s.resolve(resps[strconv.Itoa(status)]).(map[string]any)
	if r == nil {
		return nil
	}
	content, _ := r["content"].(map[string]any)
	mt, _ := content["application/json"].(map[string]any)
	if mt == nil {
		return nil
	}
	return mt["schema"]
}

// documentedStatus reports whether op documents the response status.
func (s *spec) documentedStatus(op *operation, status int) bool {
	resps, _ := op.op["responses"].(map[string]any)
	_, ok := resps[strconv.Itoa(status)]
	return ok
}

func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(string(x), ".eE") {
			return "integer"
		}
		return "number"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeOK(want, got string) bool {
	return want == got || (want == "number" && got == "integer")
}

// validate checks v against the JSON schema sch (OpenAPI 3.0 dialect, with
// 3.1 style type arrays), appending one message per problem to errs.
func (s *spec) validate(schAny any, v any, at string, errs *[]string) {
	sch, _ := s.resolve(schAny).(map[string]any)
	if sch == nil {
		return
	}
	if all, ok := sch["allOf"].([]any); ok {
		for _, sub := range all {
			s.validate(sub, v, at, errs)
		}
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		branches, ok := sch[key].([]any)
		if !ok {
			continue
		}
		if v == nil && sch["nullable"] == true {
			continue
		}
		matched := false
		var first []string
		for i, sub := range branches {
			var e []string
			s.validate(sub, v, at, &e)
			if len(e) == 0 {
				matched = true
				break
			}
			if i == 0 {
				first = e
			}
		}
		if !matched {
			*errs = append(*errs, fmt.Sprintf("%s: matches none of the %s alternatives (first: %s)", at, key, strings.Join(first, "; ")))
		}
	}
	got := typeName(v)
	if v == nil {
		if sch["nullable"] == true {
			return
		}
		if types, ok := sch["type"].([]any); ok {
			for _, t := range types {
				if t == "null" {
					return
				}
			}
		}
		if sch["type"] == nil {
			if _, ok := sch["enum"]; !ok {
				return
			}
		}
	}
	switch t := sch["type"].(type) {
	case string:
		if !typeOK(t, got) {
			*errs = append(*errs, fmt.Sprintf("%s: want %s, got %s", at, t, got))
			return
		}
	case []any:
		ok := false
		for _, tt := range t {
			if ts, _ := tt.(string); typeOK(ts, got) {
				ok = true
			}
		}
		if !ok {
			*errs = append(*errs, fmt.Sprintf("%s: want one of %v, got %s", at, t, got))
			return
		}
	}
	if enum, ok := sch["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) && typeName(e) == got || (e == nil && v == nil) {
				found = true
				break
			}
		}
		if !found {
			*errs = append(*errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
		}
	}
	switch x := v.(type) {
	case string:
		n := len([]rune(x))
		if mx, ok := num(sch["maxLength"]); ok && float64(n) > mx {
			*errs = append(*errs, fmt.Sprintf("%s: longer than %v characters", at, mx))
		}
		if mn, ok := num(sch["minLength"]); ok && float64(n) < mn {
			*errs = append(*errs, fmt.Sprintf("%s: shorter than %v characters", at, mn))
		}
		if pat, ok := sch["pattern"].(string); ok {
			if rx := s.pattern(pat); rx != nil && !rx.MatchString(x) {
				*errs = append(*errs, fmt.Sprintf("%s: %q does not match %s", at, x, pat))
			}
		}
	case json.Number, float64:
		f, _ := num(x)
		if mx, ok := num(sch["maximum"]); ok && f > mx {
			*errs = append(*errs, fmt.Sprintf("%s: %v > maximum %v", at, f, mx))
		}
		if mn, ok := num(sch["minimum"]); ok && f < mn {
			*errs = append(*errs, fmt.Sprintf("%s: %v < minimum %v", at, f, mn))
		}
	case []any:
		if mx, ok := num(sch["maxItems"]); ok && float64(len(x)) > mx {
			*errs = append(*errs, fmt.Sprintf("%s: more than %v items", at, mx))
		}
		if mn, ok := num(sch["minItems"]); ok && float64(len(x)) < mn {
			*errs = append(*errs, fmt.Sprintf("%s: fewer than %v items", at, mn))
		}
		if items, ok := sch["items"]; ok {
			for i, e := range x {
				s.validate(items, e, fmt.Sprintf("%s[%d]", at, i), errs)
			}
		}
	case map[string]any:
		if mx, ok := num(sch["maxProperties"]); ok && float64(len(x)) > mx {
			*errs = append(*errs, fmt.Sprintf("%s: more than %v properties", at, mx))
		}
		if mn, ok := num(sch["minProperties"]); ok && float64(len(x)) < mn {
			*errs = append(*errs, fmt.Sprintf("%s: fewer than %v properties", at, mn))
		}
		if req, ok := sch["required"].([]any); ok {
			for _, r := range req {
				if _, present := x[r.(string)]; !present {
					*errs = append(*errs, fmt.Sprintf("%s: %q is required", at, r))
				}
			}
		}
		props, _ := sch["properties"].(map[string]any)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				s.validate(ps, x[k], at+"."+k, errs)
				continue
			}
			switch ap := sch["additionalProperties"].(type) {
			case bool:
				if !ap {
					*errs = append(*errs, fmt.Sprintf("%s: unexpected property %q", at, k))
				}
			case map[string]any:
				s.validate(ap, x[k], at+"."+k, errs)
			}
		}
	}
}

func (s *spec) pattern(p string) *regexp.Regexp {
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	if rx, ok := s.rx[p]; ok {
		return rx
	}
	rx, err := regexp.Compile(p)
	if err != nil {
		rx = nil
	}
	s.rx[p] = rx
	return rx
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}
