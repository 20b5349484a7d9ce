package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

var strategyNames = shapes["strategy"]

// parseStrategy reads `strategy: direct` or `strategy: { canary: {...} }`.
// keepDefault is the default blue-green keep_previous (the rollback window).
func (d *decoder) parseStrategy(n *yaml.Node, path string, keepDefault Duration) Strategy {
	s := Strategy{Name: StrategyDirect}
	if n == nil {
		return s
	}
	if n.Kind == yaml.ScalarNode {
		name := strings.ToLower(n.Value)
		switch name {
		case StrategyDirect:
		case StrategyBlueGreen:
			s.Name, s.BlueGreen = name, &BlueGreen{KeepPrevious: keepDefault, AutoPromote: true}
		case StrategyCanary:
			d.addf(n, path, "canary needs its steps: strategy: { canary: { steps: [{ weight: 10, pause: 5m }, { weight: 100 }] } }")
		case StrategyRolling:
			d.addf(n, path, "rolling needs its batches: strategy: { rolling: { batches: 3 } } or { rolling: { instances: 10, batch_size: 2 } }")
		default:
			d.addf(n, path, "unknown strategy (known: %s)", strings.Join(strategyNames, ", "))
		}
		return s
	}
	o, ok := d.object(n, path, "strategy")
	if !ok {
		return s
	}
	var set []string
	for _, k := range strategyNames {
		if o.has(k) {
			set = append(set, k)
		}
	}
	if len(set) == 0 {
		if o.unknown > 0 {
			return s
		}
		d.addf(o.node, path, "no strategy: set one of %s", strings.Join(strategyNames, ", "))
		return s
	}
	if len(set) > 1 {
		d.addf(o.m[set[1]].key, path, "more than one strategy (%s): set exactly one", strings.Join(set, ", "))
	}
	s.Name = set[0]
	sub := o.sub(s.Name)
	switch s.Name {
	case StrategyDirect:
		d.object(o.get("direct"), sub, "direct")
	case StrategyBlueGreen:
		b, _ := d.object(o.get(StrategyBlueGreen), sub, "blue_green")
		s.BlueGreen = &BlueGreen{
			PreviewURL:   d.url(b, "preview_url", false),
			KeepPrevious: d.duration(b, "keep_previous", keepDefault, false),
			AutoPromote:  b.get("auto_promote") == nil || d.boolean(b, "auto_promote"),
		}
	case StrategyCanary:
		s.Canary = d.parseCanary(o.get(StrategyCanary), sub)
	case StrategyRolling:
		s.Rolling = d.parseRolling(o.get(StrategyRolling), sub)
	}
	return s
}

func (d *decoder) parseCanary(n *yaml.Node, path string) *Canary {
	o, _ := d.object(n, path, "canary")
	c := &Canary{}
	items := d.list(o, "steps")
	if len(items) == 0 {
		d.addf(o.at("steps"), o.sub("steps"), "canary needs at least one step, e.g. steps: [{ weight: 10, pause: 5m }, { weight: 100 }]")
		return c
	}
	prev := 0
	for i, it := range items {
		p := index(o.sub("steps"), i)
		so, ok := d.object(it, p, "canary_step")
		if !ok {
			continue
		}
		st := CanaryStep{Weight: d.integer(so, "weight", 0)}
		if pn := so.get("pause"); pn != nil && pn.Kind == yaml.ScalarNode && strings.EqualFold(pn.Value, "manual") {
			st.Manual = true
		} else {
			st.Pause = d.duration(so, "pause", Duration{}, false)
		}
		switch {
		case so.get("weight") == nil:
			d.addf(so.at("weight"), so.sub("weight"), "weight is required (1..100)")
		case st.Weight < 1 || st.Weight > 100:
			d.addf(so.at("weight"), so.sub("weight"), "weight must be between 1 and 100")
		case st.Weight <= prev:
			d.addf(so.at("weight"), so.sub("weight"), "weights must increase from step to step")
		}
		if st.Weight > prev {
			prev = st.Weight
		}
		if i == len(items)-1 && st.Weight != 100 && st.Weight >= 1 && st.Weight <= 100 {
			d.addf(so.at("weight"), so.sub("weight"), "the last canary step must have weight 100")
		}
		c.Steps = append(c.Steps, st)
	}
	return c
}

func (d *decoder) parseRolling(n *yaml.Node, path string) *Rolling {
	o, _ := d.object(n, path, "rolling")
	r := &Rolling{
		Batches:     d.integer(o, "batches", 0),
		Instances:   d.integer(o, "instances", 0),
		BatchSize:   d.integer(o, "batch_size", 0),
		MaxFailures: d.integer(o, "max_failures", 0),
	}
	if r.MaxFailures < 0 {
		d.addf(o.at("max_failures"), o.sub("max_failures"), "max_failures must be 0 or more")
	}
	hasB, hasI, hasS := o.get("batches") != nil, o.get("instances") != nil, o.get("batch_size") != nil
	switch {
	case hasB && (hasI || hasS):
		d.addf(o.at("batches"), o.sub("batches"), "use either batches or instances + batch_size, not both")
	case hasB:
		if r.Batches < 1 {
			d.addf(o.at("batches"), o.sub("batches"), "batches must be at least 1")
		}
	case hasI && hasS:
		if r.Instances < 1 {
			d.addf(o.at("instances"), o.sub("instances"), "instances must be at least 1")
		}
		if r.BatchSize < 1 || (r.Instances >= 1 && r.BatchSize > r.Instances) {
			d.addf(o.at("batch_size"), o.sub("batch_size"), "batch_size must be between 1 and instances")
		}
	case hasI || hasS:
		d.addf(o.node, path, "instances and batch_size go together: set both, or set batches")
	default:
		d.addf(o.node, path, "rolling needs batches, or instances and batch_size")
	}
	return r
}
