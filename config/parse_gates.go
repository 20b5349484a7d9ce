package config

import (
	"path"
	"regexp"

	"gopkg.in/yaml.v3"
)

var variableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (d *decoder) parseGates(n *yaml.Node, p string) Gates {
	var g Gates
	o, ok := d.object(n, p, "gates")
	if !ok {
		return g
	}
	// A gate listed with an empty value (`reviews:`) is enabled with its defaults.
	// checks runs unless turned off with `checks: false` (`true` is its defaults).
	if n := resolve(o.get("checks")); n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		g.ChecksOff = !d.boolean(o, "checks")
	} else if o.has("checks") {
		c, _ := d.object(o.get("checks"), o.sub("checks"), "checks_gate")
		g.Checks = &ChecksGate{Wait: d.duration(c, "wait", D(30*60e9), false), Ignore: d.strings(c, "ignore")}
	}
	if o.has("reviews") {
		r, _ := d.object(o.get("reviews"), o.sub("reviews"), "reviews_gate")
		g.Reviews = &ReviewsGate{Approvals: d.integer(r, "approvals", 1)}
		if r.get("dismiss_stale") != nil {
			g.Reviews.StaleApprovals = !d.boolean(r, "dismiss_stale")
		}
		if g.Reviews.Approvals < 0 || g.Reviews.Approvals > 10 {
			d.addf(r.at("approvals"), r.sub("approvals"), "approvals must be between 0 and 10")
		}
	}
	if o.has("security") {
		g.Security = d.severityGate(o, "security", Severities)
	}
	if o.has("dependencies") {
		g.Dependencies = d.severityGate(o, "dependencies", []string{"low", "moderate", "medium", "high", "critical"})
	}
	if o.has("migrations") {
		g.Migrations = d.parseMigrations(o.get("migrations"), o.sub("migrations"))
	}
	if o.has("variables") {
		g.Variables = d.strings(o, "variables")
		nodes := listQuiet(o, "variables")
		for i, v := range g.Variables {
			if !variableNameRE.MatchString(v) {
				d.addf(pick(nodes, i, o.at("variables")), index(o.sub("variables"), i), "invalid variable or secret name: expected letters, digits and '_', not starting with a digit")
			}
		}
	}
	if o.has("flags") {
		f, _ := d.object(o.get("flags"), o.sub("flags"), "flags_gate")
		g.Flags = &FlagsGate{URL: d.url(f, "url", true), Expect: map[string]any{}}
		es, _ := d.entries(f.get("expect"), f.sub("expect"))
		for _, e := range es {
			var v any
			if err := resolve(e.val).Decode(&v); err != nil {
				d.addf(e.val, join(f.sub("expect"), e.name), "invalid value: expected a string, number, boolean, list or mapping")
			}
			g.Flags.Expect[e.name] = v
		}
		if len(es) == 0 {
			d.addf(f.at("expect"), f.sub("expect"), "expect is required: a map of flag name to expected value")
		}
	}
	if o.has("window") {
		g.Window = d.parseWindow(o.get("window"), o.sub("window"))
	}
	if o.has("artifacts") {
		g.Artifacts = d.parseArtifacts(o.get("artifacts"), o.sub("artifacts"))
	}
	if o.has("release") {
		r, _ := d.object(o.get("release"), o.sub("release"), "release_gate")
		g.Release = &ReleaseGate{TagPattern: d.str(r, "tag_pattern")}
		if g.Release.TagPattern != "" {
			re, err := compileTagPattern(g.Release.TagPattern)
			if err != nil {
				d.addf(r.at("tag_pattern"), r.sub("tag_pattern"), "invalid regular expression: expected Go (RE2) syntax matching the whole tag, e.g. v[0-9]+\\.[0-9]+\\.[0-9]+")
			}
			g.Release.re = re
		}
	}
	return g
}

func (d *decoder) severityGate(o object, key string, allowed []string) *SeverityGate {
	s, _ := d.object(o.get(key), o.sub(key), "severity_gate")
	v := d.enum(s, "block_on", "high", allowed...)
	if v == "moderate" {
		v = "medium"
	}
	return &SeverityGate{BlockOn: v, IfDisabled: d.enum(s, "if_disabled", "neutral", "neutral", "block")}
}

func (d *decoder) parseMigrations(n *yaml.Node, p string) *MigrationsGate {
	o, _ := d.object(n, p, "migrations_gate")
	m := &MigrationsGate{Paths: d.strings(o, "paths"), RequireChecks: d.strings(o, "require_checks")}
	if len(m.Paths) == 0 {
		d.addf(o.at("paths"), o.sub("paths"), "paths is required: globs of migration files, e.g. [\"db/migrations/**\"]")
	}
	for i, pat := range m.Paths {
		if _, err := path.Match(pat, ""); err != nil {
			d.addf(o.at("paths"), index(o.sub("paths"), i), "invalid glob: expected a path pattern like db/migrations/*.sql")
		}
	}
	if o.get("backup") != nil {
		m.Backup = d.parseExecutor(o.get("backup"), o.sub("backup"), false)
	}
	return m
}

func (d *decoder) parseWindow(n *yaml.Node, p string) *WindowGate {
	o, _ := d.object(n, p, "window_gate")
	w := &WindowGate{Timezone: d.str(o, "timezone")}
	if w.Timezone == "" {
		w.Timezone = "UTC"
	}
	var err error
	if w.loc, err = loadLocation(w.Timezone); err != nil {
		d.addf(o.at("timezone"), o.sub("timezone"), "unknown timezone: expected an IANA name like Europe/Berlin or UTC")
	}
	w.Allow = d.strings(o, "allow")
	w.Deny = d.strings(o, "deny")
	allowNodes, denyNodes := listQuiet(o, "allow"), listQuiet(o, "deny")
	for i, s := range w.Allow {
		r, err := ParseWindowRule(s)
		if err != nil {
			d.addf(pick(allowNodes, i, o.node), index(o.sub("allow"), i), "%v", err)
		}
		w.allow = append(w.allow, r)
	}
	for i, s := range w.Deny {
		r, err := ParseDenyPeriod(s)
		if err != nil {
			d.addf(pick(denyNodes, i, o.node), index(o.sub("deny"), i), "%v", err)
		}
		w.deny = append(w.deny, r)
	}
	if len(w.Allow) == 0 && len(w.Deny) == 0 && o.get("allow") == nil && o.get("deny") == nil {
		d.addf(o.node, p, "window needs allow and/or deny, e.g. { timezone: Europe/Berlin, allow: [\"Mon-Thu 09:00-16:00\"] }")
	}
	return w
}

// listQuiet returns the nodes strings(o, key) read, without reporting problems.
func listQuiet(o object, key string) []*yaml.Node {
	if n := o.get(key); n != nil && n.Kind == yaml.ScalarNode {
		return []*yaml.Node{n}
	} else if n != nil && n.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, c := range n.Content {
			if c = resolve(c); c.Kind == yaml.ScalarNode && c.Value != "" {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

func pick(ns []*yaml.Node, i int, def *yaml.Node) *yaml.Node {
	if i < len(ns) {
		return ns[i]
	}
	return def
}

func (d *decoder) parseArtifacts(n *yaml.Node, p string) *ArtifactsGate {
	o, _ := d.object(n, p, "artifacts_gate")
	a := &ArtifactsGate{}
	items := d.list(o, "assets")
	if len(items) == 0 {
		d.addf(o.at("assets"), o.sub("assets"), "assets is required: [{ name: app.tar.gz, max_size: 200MB }]")
	}
	for i, it := range items {
		ip := index(o.sub("assets"), i)
		if it.Kind == yaml.ScalarNode { // `assets: [app.tar.gz]`
			a.Assets = append(a.Assets, Asset{Name: it.Value})
			continue
		}
		ao, ok := d.object(it, ip, "asset")
		if !ok {
			continue
		}
		as := Asset{Name: d.required(ao, "name", "name (an asset name or glob)"), MaxSize: d.str(ao, "max_size")}
		if _, err := path.Match(as.Name, ""); err != nil {
			d.addf(ao.at("name"), ao.sub("name"), "invalid glob: expected an asset name or a pattern like app-*.tgz")
		}
		if as.MaxSize != "" {
			b, err := ParseSize(as.MaxSize)
			if err != nil {
				d.addf(ao.at("max_size"), ao.sub("max_size"), "%v", err)
			}
			as.MaxBytes = b
		}
		a.Assets = append(a.Assets, as)
	}
	return a
}
