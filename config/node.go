package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// shapes lists the keys each mapping accepts, by the name of its $def in
// schema.json ("root" is the top level). Every mapping the parser reads
// goes through decoder.object with one of these names.
var shapes = map[string][]string{
	"root":            {"default_environment", "allow_forks", "environments", "notify"},
	"notify":          {"webhook", "events"},
	"environment":     {"url", "aliases", "production", "permission", "on_release", "on_prerelease", "requires", "executor", "strategy", "gates", "verify", "monitor", "rollback", "notify"},
	"executor":        {"webhook", "actions", "command", "external"},
	"webhook":         {"url", "timeout"},
	"actions":         {"workflow", "ref", "inputs", "timeout"},
	"command":         {"argv", "timeout"},
	"external":        {"timeout"},
	"strategy":        {"direct", "blue-green", "canary", "rolling"},
	"direct":          {},
	"blue_green":      {"preview_url", "keep_previous", "auto_promote"},
	"canary":          {"steps"},
	"canary_step":     {"weight", "pause"},
	"rolling":         {"batches", "instances", "batch_size", "max_failures"},
	"gates":           GateNames,
	"checks_gate":     {"wait", "ignore"},
	"reviews_gate":    {"approvals", "dismiss_stale"},
	"severity_gate":   {"block_on", "if_disabled"},
	"migrations_gate": {"paths", "require_checks", "backup"},
	"flags_gate":      {"url", "expect"},
	"window_gate":     {"timezone", "allow", "deny"},
	"artifacts_gate":  {"assets"},
	"asset":           {"name", "max_size"},
	"release_gate":    {"tag_pattern"},
	"verify":          {"timeout", "health", "smoke", "metrics"},
	"health_check":    {"url", "status", "contains", "timeout", "interval"},
	"smoke_check":     {"name", "url", "method", "headers", "body", "status", "contains", "json", "command", "workflow", "ref", "timeout"},
	"metrics":         {"prometheus", "interval", "count", "initial_delay", "failure_limit", "consecutive_error_limit", "on_no_data", "queries"},
	"metric_query":    {"name", "query", "web", "max", "min", "baseline", "dry_run"},
	"web_metric":      {"url", "json_path"},
	"baseline":        {"max_increase", "tolerance"},
	"monitor":         {"duration", "interval", "on_failure", "issues"},
	"monitor_issues":  {"labels"},
	"rollback":        {"window", "automatic"},
}

// decoder walks a yaml.Node tree and collects problems.
type decoder struct {
	problems []Problem
	visited  int   // nodes checkExpansion looked at (tests assert the bound)
	walked   int   // mapping entries and list items the walk read (ditto)
	literal  int   // nodes written in the file
	ctxErr   error // the context ended during the walk
}

// addf records a problem. Messages name the key path, the position and
// the expected shape, never a value from the file: a value may be a secret
// (or, through an alias, come from anywhere in the file). Keys are named
// through keyText/join, which bound and clean them.
func (d *decoder) addf(n *yaml.Node, path, format string, args ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.problems = append(d.problems, p)
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		}
		return "a scalar"
	}
	return "an unsupported node"
}

// join appends a key the user wrote to a path (bounded, control characters dropped).
func join(path, key string) string {
	key = keyPart(key)
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

type entry struct {
	name     string
	key, val *yaml.Node
}

// entries returns a mapping's key/value pairs (merge keys applied, duplicates
// reported). A null node is an empty mapping.
func (d *decoder) entries(n *yaml.Node, path string) ([]entry, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n, path, "expected a mapping, got %s", kindName(n))
		return nil, false
	}
	var explicit, merged []entry
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		d.walked++
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			srcs := []*yaml.Node{resolve(v)}
			if srcs[0].Kind == yaml.SequenceNode {
				srcs = srcs[0].Content
			}
			for _, src := range srcs {
				if src = resolve(src); src.Kind != yaml.MappingNode {
					d.addf(src, path, "merge key << needs a mapping or a list of mappings, got %s", kindName(src))
					continue
				}
				sub, _ := d.entries(src, path)
				merged = append(merged, sub...)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.addf(k, path, "keys must be strings, got %s", kindName(k))
			continue
		}
		if seen[k.Value] {
			d.addf(k, join(path, k.Value), "duplicate key %s", keyText(k.Value))
			continue
		}
		seen[k.Value] = true
		explicit = append(explicit, entry{k.Value, k, v})
	}
	for _, e := range merged {
		if !seen[e.name] {
			seen[e.name] = true
			explicit = append(explicit, e)
		}
	}
	return explicit, true
}

// object is a mapping whose keys were checked against a shape.
type object struct {
	path    string
	node    *yaml.Node
	m       map[string]entry
	unknown int // number of unknown keys reported
}

// object reads a mapping with the keys of shape; unknown keys are problems.
func (d *decoder) object(n *yaml.Node, path, shape string) (object, bool) {
	known, ok := shapes[shape]
	if !ok {
		panic("config: unknown shape " + shape)
	}
	o := object{path: path, node: resolve(n), m: map[string]entry{}}
	es, ok := d.entries(n, path)
	if !ok {
		return o, false
	}
	for _, e := range es {
		if !slices.Contains(known, e.name) {
			d.unknownKey(e.key, path, shape, e.name, known)
			o.unknown++
			continue
		}
		o.m[e.name] = e
	}
	return o, true
}

func (d *decoder) unknownKey(k *yaml.Node, path, shape, name string, known []string) {
	list := "none"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	}
	switch {
	case shape == "gates":
		d.addf(k, path, "unknown gate %s (known: %s; permission and lock always run)", keyText(name), list)
	case path == "":
		d.addf(k, path, "unknown top-level key %s (known: %s)", keyText(name), list)
	default:
		d.addf(k, path, "unknown key %s in %s (known: %s)", keyText(name), path, list)
	}
}

// has reports whether key is present (even with a null value).
func (o object) has(key string) bool { _, ok := o.m[key]; return ok }

// get returns the value of key, nil when absent or null.
func (o object) get(key string) *yaml.Node {
	e, ok := o.m[key]
	if !ok || isNull(e.val) {
		return nil
	}
	return resolve(e.val)
}

// at returns the node to blame for key: its value, else its key, else the mapping.
func (o object) at(key string) *yaml.Node {
	if e, ok := o.m[key]; ok {
		if isNull(e.val) {
			return e.key
		}
		return resolve(e.val)
	}
	return o.node
}

func (o object) sub(key string) string { return join(o.path, key) }

func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.addf(n, path, "expected a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(o object, key string) string {
	n := o.get(key)
	if n == nil {
		return ""
	}
	s, _ := d.scalar(n, o.sub(key))
	return s
}

func (d *decoder) required(o object, key, what string) string {
	s := d.str(o, key)
	if s == "" && o.get(key) == nil {
		d.addf(o.at(key), o.sub(key), "%s is required", what)
	}
	return s
}

func (d *decoder) boolean(o object, key string) bool {
	n := o.get(key)
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.addf(n, o.sub(key), "expected true or false, got %s", kindName(n))
		return false
	}
	b, _ := strconv.ParseBool(n.Value)
	return b
}

func (d *decoder) integer(o object, key string, def int) int {
	n := o.get(key)
	if n == nil {
		return def
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if v, err := strconv.ParseInt(n.Value, 0, 32); err == nil {
			return int(v)
		}
	}
	d.addf(n, o.sub(key), "expected a whole number, got %s", kindName(n))
	return def
}

func (d *decoder) number(o object, key string) *float64 {
	n := o.get(key)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		var f float64
		if err := n.Decode(&f); err == nil {
			return &f
		}
	}
	d.addf(n, o.sub(key), "expected a number, got %s", kindName(n))
	return nil
}

// duration reads a duration; def applies when absent. positive requires > 0.
func (d *decoder) duration(o object, key string, def Duration, positive bool) Duration {
	n := o.get(key)
	if n == nil {
		return def
	}
	v, err := durationFromNode(n)
	if err != nil {
		d.addf(n, o.sub(key), "%s", strings.TrimPrefix(err.Error(), "config: "))
		return def
	}
	if positive && v.Duration <= 0 {
		d.addf(n, o.sub(key), "must be longer than 0s")
		return def
	}
	return v
}

// list returns the items of a sequence (nil when absent or null).
func (d *decoder) list(o object, key string) []*yaml.Node {
	n := o.get(key)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.addf(n, o.sub(key), "expected a list, got %s", kindName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	d.walked += len(n.Content)
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

// items is list, but a single scalar counts as a one-item list.
func (d *decoder) items(o object, key string) []*yaml.Node {
	if n := o.get(key); n != nil && n.Kind == yaml.ScalarNode {
		return []*yaml.Node{n}
	}
	return d.list(o, key)
}

// strings reads a list of non-empty strings; a single string is accepted as a one-item list.
func (d *decoder) strings(o object, key string) []string {
	var out []string
	for i, n := range d.items(o, key) {
		s, ok := d.scalar(n, index(o.sub(key), i))
		if ok && s == "" {
			d.addf(n, index(o.sub(key), i), "must not be empty")
			ok = false
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// url reads an absolute http(s) URL.
func (d *decoder) url(o object, key string, required bool) string {
	n := o.get(key)
	if n == nil {
		if required {
			d.addf(o.at(key), o.sub(key), "url is required (an absolute http:// or https:// URL)")
		}
		return ""
	}
	s, ok := d.scalar(n, o.sub(key))
	if !ok {
		return ""
	}
	if err := checkURL(s); err != nil {
		d.addf(n, o.sub(key), "%v", err)
	}
	return s
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("invalid URL: expected an absolute http:// or https:// URL")
	}
	return nil
}

// enum reads one of the allowed values (case-insensitive, returned lowercased).
func (d *decoder) enum(o object, key, def string, allowed ...string) string {
	n := o.get(key)
	if n == nil {
		return def
	}
	s, ok := d.scalar(n, o.sub(key))
	if !ok {
		return def
	}
	if v := strings.ToLower(s); slices.Contains(allowed, v) {
		return v
	}
	d.addf(n, o.sub(key), "unknown value: expected one of %s", strings.Join(allowed, ", "))
	return def
}
