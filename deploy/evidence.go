package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/verify"
)

// Evidence is what a record's verification steps found, for the record
// page: exactly what the PR record's tables show (values, conditions,
// statuses, expectations missed), never a response body.
type Evidence struct {
	Metrics []MetricSeries
	Health  []HealthResult
	Smoke   []SmokeResult
}

// MetricSeries is one query's measurements in one analysis (the analysis
// step, or the analysis during a canary's pause).
type MetricSeries struct {
	Analysis  string // "analysis", "pause at 10 %"
	Name      string
	Condition string   // as verify.Judge describes it
	Baseline  *float64 // the value when the deployment began executing
	// Limits are the values a measurement was held to (max, min, or the
	// baseline's allowance), from the config the deployment ran with.
	Limits  []Limit
	Points  []MetricPoint
	Verdict string // "within bounds", "breached", "breached (dry run: not counted)"
}

// Limit is one bound of a metric.
type Limit struct {
	Label string // "max", "min", "allowed"
	Value float64
}

// MetricPoint is one measurement of a query: a value, no data, or a query
// error (as verify.Describe words it).
type MetricPoint struct {
	At     time.Time
	Value  *float64
	NoData bool
	Error  string
	Breach bool
}

// HealthResult is one health check as the verify step left it.
type HealthResult struct {
	URL      string // query redacted
	Attempts int
	OK       bool
	Last     string // "HTTP 200", "HTTP 503, want 200", …
}

// SmokeResult is one smoke test's outcome.
type SmokeResult struct {
	Name    string
	OK      bool
	Status  int // HTTP status or exit status (0: none)
	Millis  int64
	Failure string // the first expectation missed
}

// Verdicts of a metric series.
const (
	VerdictWithin   = "within bounds"
	VerdictBreached = "breached"
	VerdictDryRun   = "breached (dry run: not counted)"
)

// RecordEvidence reads the verification evidence off rec's steps.
func RecordEvidence(rec *Record) Evidence {
	var ev Evidence
	var env config.Environment
	_ = json.Unmarshal([]byte(rec.Deployment.EnvConfig), &env)
	var queries []config.MetricQuery
	if env.Verify.Metrics != nil {
		queries = env.Verify.Metrics.Queries
	}
	for _, st := range rec.Steps {
		if st.Result == "" || st.Result == "{}" {
			continue
		}
		switch st.Name {
		case stepAnalysis:
			var a analysisState
			if json.Unmarshal([]byte(st.Result), &a) == nil {
				ev.Metrics = append(ev.Metrics, metricSeries(stepAnalysis, &a, queries)...)
			}
		case stepPause:
			var p pauseState
			if json.Unmarshal([]byte(st.Result), &p) == nil && p.Analysis != nil {
				ev.Metrics = append(ev.Metrics, metricSeries(stepLabel(st), p.Analysis, queries)...)
			}
		case stepVerify:
			var h healthState
			if json.Unmarshal([]byte(st.Result), &h) == nil {
				for _, c := range h.Checks {
					if c.Attempts > 0 {
						ev.Health = append(ev.Health, HealthResult{URL: c.URL, Attempts: c.Attempts, OK: c.OK, Last: c.Last})
					}
				}
			}
		case stepSmoke:
			var results []smokeResult
			if json.Unmarshal([]byte(st.Result), &results) == nil {
				for _, r := range results {
					ev.Smoke = append(ev.Smoke, SmokeResult{Name: r.Name, OK: r.OK, Status: r.Status, Millis: r.Millis, Failure: r.Failure})
				}
			}
		}
	}
	return ev
}

// metricSeries turns one analysis into a series per query, sorted by name.
func metricSeries(analysis string, a *analysisState, queries []config.MetricQuery) []MetricSeries {
	if len(a.Measurements) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, m := range a.Measurements {
		for name := range m.Values {
			names[name] = true
		}
	}
	var out []MetricSeries
	for _, name := range slices.Sorted(maps.Keys(names)) {
		s := MetricSeries{Analysis: analysis, Name: name, Verdict: VerdictWithin}
		if b, ok := a.Baseline[name]; ok && b != nil {
			s.Baseline = b
		}
		if i := slices.IndexFunc(queries, func(q config.MetricQuery) bool { return q.Name == name }); i >= 0 {
			s.Limits = limits(queries[i], s.Baseline)
		}
		for _, m := range a.Measurements {
			rd, ok := m.Values[name]
			if !ok {
				continue
			}
			if rd.Cond != "" {
				s.Condition = rd.Cond
			}
			s.Points = append(s.Points, MetricPoint{At: m.At, Value: rd.Value, NoData: rd.NoData, Error: rd.Error, Breach: rd.Breach || rd.DryRun})
			switch {
			case rd.Breach:
				s.Verdict = VerdictBreached
			case rd.DryRun && s.Verdict != VerdictBreached:
				s.Verdict = VerdictDryRun
			}
		}
		out = append(out, s)
	}
	return out
}

// limits are q's bounds as numbers (a baseline comparison only when the
// baseline was measured).
func limits(q config.MetricQuery, baseline *float64) []Limit {
	var out []Limit
	if q.Max != nil {
		out = append(out, Limit{Label: "max " + verify.Number(*q.Max), Value: *q.Max})
	}
	if q.Min != nil {
		out = append(out, Limit{Label: "min " + verify.Number(*q.Min), Value: *q.Min})
	}
	if q.Baseline != nil && baseline != nil {
		v := verify.Allowed(*q.Baseline, *baseline)
		out = append(out, Limit{Label: fmt.Sprintf("allowed %s (baseline %s)", verify.Number(v), verify.Number(*baseline)), Value: v})
	}
	return out
}
