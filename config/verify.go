package config

import (
	"net/http"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

func (d *decoder) parseVerify(n *yaml.Node, path string) Verify {
	o, _ := d.object(n, path, "verify")
	v := Verify{Timeout: d.duration(o, "timeout", D(300e9), true)}
	for i, it := range d.list(o, "health") {
		p := index(o.sub("health"), i)
		h, ok := d.object(it, p, "health_check")
		if !ok {
			continue
		}
		v.Health = append(v.Health, HealthCheck{
			URL:      d.url(h, "url", true),
			Status:   d.status(h),
			Contains: d.str(h, "contains"),
			Timeout:  d.duration(h, "timeout", v.Timeout, true),
			Interval: d.duration(h, "interval", D(10e9), true),
		})
	}
	for i, it := range d.list(o, "smoke") {
		p := index(o.sub("smoke"), i)
		s, ok := d.object(it, p, "smoke_check")
		if !ok {
			continue
		}
		if s.get("command") != nil {
			if s.get("url") != nil {
				d.addf(s.at("command"), s.sub("command"), "a smoke step is either a request (url) or a command, not both")
			}
			v.Smoke = append(v.Smoke, SmokeCheck{Name: d.str(s, "name"), Command: d.parseCommand(s.get("command"), s.sub("command"))})
			continue
		}
		sc := SmokeCheck{Name: d.str(s, "name"), URL: d.url(s, "url", true), Method: strings.ToUpper(d.str(s, "method")),
			Status: d.status(s), Contains: d.str(s, "contains"), Body: d.str(s, "body"),
			Headers: d.stringMap(s, "headers"), JSON: d.jsonExpectations(s, "json")}
		if sc.Method == "" {
			sc.Method = http.MethodGet
		}
		methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
		if !slices.Contains(methods, sc.Method) {
			d.addf(s.at("method"), s.sub("method"), "unknown HTTP method: expected one of %s", strings.Join(methods, ", "))
		}
		v.Smoke = append(v.Smoke, sc)
	}
	if mn := o.get("metrics"); mn != nil {
		v.Metrics = d.parseMetrics(mn, o.sub("metrics"))
	}
	return v
}

func (d *decoder) status(o object) int {
	s := d.integer(o, "status", 200)
	if s < 100 || s > 599 {
		d.addf(o.at("status"), o.sub("status"), "status must be an HTTP status (100..599)")
	}
	return s
}

func (d *decoder) parseMetrics(n *yaml.Node, path string) *Metrics {
	o, _ := d.object(n, path, "metrics")
	m := &Metrics{
		Prometheus:   d.url(o, "prometheus", true),
		Interval:     d.duration(o, "interval", D(30e9), true),
		FailureLimit: d.integer(o, "failure_limit", 1),
	}
	if m.FailureLimit < 1 {
		d.addf(o.at("failure_limit"), o.sub("failure_limit"), "failure_limit must be at least 1")
	}
	items := d.list(o, "queries")
	if len(items) == 0 {
		d.addf(o.at("queries"), o.sub("queries"), "metrics needs at least one query: queries: [{ name, query, max or min }]")
	}
	names := map[string]bool{}
	for i, it := range items {
		p := index(o.sub("queries"), i)
		q, ok := d.object(it, p, "metric_query")
		if !ok {
			continue
		}
		mq := MetricQuery{
			Name:  d.required(q, "name", "name"),
			Query: d.required(q, "query", "query (a PromQL expression)"),
			Max:   d.number(q, "max"),
			Min:   d.number(q, "min"),
		}
		if names[mq.Name] && mq.Name != "" {
			d.addf(q.at("name"), q.sub("name"), "duplicate query name: each query needs its own name")
		}
		names[mq.Name] = true
		switch {
		case q.get("max") == nil && q.get("min") == nil:
			d.addf(q.node, p, "metric query needs max or min (or both)")
		case mq.Max != nil && mq.Min != nil && *mq.Min > *mq.Max:
			d.addf(q.at("min"), q.sub("min"), "min must not be greater than max")
		}
		m.Queries = append(m.Queries, mq)
	}
	return m
}

// stringMap reads a mapping of names to scalar strings (headers).
func (d *decoder) stringMap(o object, key string) map[string]string {
	es, _ := d.entries(o.get(key), o.sub(key))
	if len(es) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, e := range es {
		if v, ok := d.scalar(resolve(e.val), join(o.sub(key), e.name)); ok {
			out[e.name] = v
		}
	}
	return out
}

// jsonExpectations reads `json: { path: value }`: each value a scalar
// (string, number, boolean) or null.
func (d *decoder) jsonExpectations(o object, key string) map[string]any {
	es, _ := d.entries(o.get(key), o.sub(key))
	if len(es) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, e := range es {
		n := resolve(e.val)
		if isNull(n) {
			out[e.name] = nil
			continue
		}
		if n.Kind != yaml.ScalarNode {
			d.addf(n, join(o.sub(key), e.name), "expected a string, number, boolean or null, got %s", kindName(n))
			continue
		}
		var v any
		if err := n.Decode(&v); err != nil {
			d.addf(n, join(o.sub(key), e.name), "expected a string, number, boolean or null")
			continue
		}
		if i, ok := v.(int); ok {
			v = float64(i)
		}
		out[e.name] = v
	}
	return out
}
