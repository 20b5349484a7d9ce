package config

import (
	"net/http"
	"slices"
	"strconv"
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
		if s.get("workflow") != nil {
			if s.get("url") != nil || s.get("command") != nil {
				d.addf(s.at("workflow"), s.sub("workflow"), "a smoke step is one of a request (url), a command or a workflow")
			}
			wf := &ActionsExecutor{Workflow: d.str(s, "workflow"), Ref: d.str(s, "ref"), Timeout: d.duration(s, "timeout", D(30*60e9), true)}
			wf.Workflow = d.checkWorkflow(s, wf.Workflow)
			v.Smoke = append(v.Smoke, SmokeCheck{Name: d.str(s, "name"), Workflow: wf})
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
		Prometheus:            d.url(o, "prometheus", false),
		Interval:              d.duration(o, "interval", D(30e9), true),
		Count:                 d.integer(o, "count", 3),
		InitialDelay:          d.duration(o, "initial_delay", D(0), false),
		FailureLimit:          d.integer(o, "failure_limit", 1),
		ConsecutiveErrorLimit: d.integer(o, "consecutive_error_limit", 4),
		OnNoData:              strings.ToLower(d.str(o, "on_no_data")),
	}
	if m.OnNoData == "" {
		m.OnNoData = "fail"
	}
	if !slices.Contains([]string{"fail", "pass", "pause"}, m.OnNoData) {
		d.addf(o.at("on_no_data"), o.sub("on_no_data"), "on_no_data must be fail, pass or pause")
	}
	for _, c := range []struct {
		key string
		v   int
		min int
	}{{"failure_limit", m.FailureLimit, 1}, {"count", m.Count, 1}, {"consecutive_error_limit", m.ConsecutiveErrorLimit, 1}} {
		if c.v < c.min {
			d.addf(o.at(c.key), o.sub(c.key), "%s must be at least %d", c.key, c.min)
		}
	}
	if m.Count > 1000 {
		d.addf(o.at("count"), o.sub("count"), "count must be at most 1000")
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
			Name:   d.required(q, "name", "name"),
			Query:  d.str(q, "query"),
			Max:    d.number(q, "max"),
			Min:    d.number(q, "min"),
			DryRun: d.boolean(q, "dry_run"),
		}
		if wn := q.get("web"); wn != nil {
			w, _ := d.object(wn, q.sub("web"), "web_metric")
			mq.Web = &WebMetric{URL: d.url(w, "url", true), JSONPath: d.required(w, "json_path", "json_path (where the number is in the answer, e.g. data.error_rate)")}
		}
		if bn := q.get("baseline"); bn != nil {
			b, _ := d.object(bn, q.sub("baseline"), "baseline")
			mq.Baseline = &Baseline{MaxIncrease: d.percent(b, "max_increase"), Tolerance: d.float(b, "tolerance")}
		}
		switch {
		case mq.Web == nil && mq.Query == "":
			d.addf(q.at("query"), q.sub("query"), "query (a PromQL expression) or web: { url, json_path } is required")
		case mq.Web != nil && mq.Query != "":
			d.addf(q.at("web"), q.sub("web"), "a metric query has either query or web, not both")
		case mq.Web != nil && mq.Baseline != nil:
			d.addf(q.at("baseline"), q.sub("baseline"), "a web metric has no past values to compare with: use max/min, or a PromQL query for a baseline")
		case mq.Query != "" && m.Prometheus == "":
			d.addf(o.at("prometheus"), o.sub("prometheus"), "prometheus (the server's URL) is required for PromQL queries")
		}
		if names[mq.Name] && mq.Name != "" {
			d.addf(q.at("name"), q.sub("name"), "duplicate query name: each query needs its own name")
		}
		names[mq.Name] = true
		switch {
		case q.get("max") == nil && q.get("min") == nil && q.get("baseline") == nil:
			d.addf(q.node, p, "metric query needs max, min or baseline")
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

// float reads a number (0 when absent).
func (d *decoder) float(o object, key string) float64 {
	if f := d.number(o, key); f != nil {
		return *f
	}
	return 0
}

// percent reads `20%` (or a bare fraction, 0.2) as a fraction.
func (d *decoder) percent(o object, key string) float64 {
	n := o.get(key)
	if n == nil {
		return 0
	}
	if n.Kind == yaml.ScalarNode && strings.HasSuffix(n.Value, "%") {
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(n.Value, "%")), 64)
		if err != nil || f < 0 {
			d.addf(n, o.sub(key), "expected a percentage such as 20%%")
			return 0
		}
		return f / 100
	}
	f := d.number(o, key)
	if f == nil {
		return 0
	}
	if *f < 0 {
		d.addf(n, o.sub(key), "must not be negative")
		return 0
	}
	return *f
}
