package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/verify"
)

// The analysis step measures verify.metrics `count` times, every
// `interval` after `initial_delay` (the job snoozes in between: a durable
// timer), and fails at a query's `failure_limit`-th breach or after
// `consecutive_error_limit` errors in a row. A query's baseline is its value
// when the deployment began executing.

const stepAnalysis = "analysis"

type analysisState struct {
	BaselineTaken bool                `json:"baseline_taken,omitempty"`
	Baseline      map[string]*float64 `json:"baseline,omitempty"`
	Measurements  []measurement       `json:"measurements,omitempty"`
	Breaches      map[string]int      `json:"breaches,omitempty"`
	Errors        map[string]int      `json:"errors,omitempty"` // in a row
	Inconclusive  bool                `json:"inconclusive,omitempty"`
}

type measurement struct {
	At     time.Time          `json:"at"`
	Values map[string]reading `json:"values"`
}

type reading struct {
	Value  *float64 `json:"v,omitempty"`
	Error  string   `json:"err,omitempty"`
	NoData bool     `json:"no_data,omitempty"`
	Breach bool     `json:"breach,omitempty"`
	// DryRun marks a breach of a dry-run query: recorded, never counted.
	DryRun bool   `json:"dry_run,omitempty"`
	Cond   string `json:"cond,omitempty"`
}

func (r *run) analysis(ctx context.Context) (outcome, error) {
	m := r.env.Verify.Metrics
	var st analysisState
	_ = json.Unmarshal([]byte(r.st.Result), &st)
	now := r.svc.now()
	if len(st.Measurements) == 0 && m.InitialDelay.Duration > 0 {
		if wait := r.st.StartedAt.Add(m.InitialDelay.Duration).Sub(now); wait > 0 {
			return outcome{kind: outcomeWait, after: wait, result: st, detail: "waiting " + wait.Round(time.Second).String() + " before measuring"}, nil
		}
	}
	if st.Inconclusive {
		if r.d.Promoted != r.st.Index {
			return outcome{kind: outcomeAwait, result: st, detail: "no data: waiting for Promote or Abort"}, nil
		}
		st.Inconclusive = false // Promote: the missing data is accepted
	}
	failed, noData := r.measureOnce(ctx, &st, now)
	if r.d.Promoted == r.st.Index {
		noData = false // someone accepted the missing data for this analysis
	}
	n := len(st.Measurements)
	if len(failed) > 0 {
		reason := "analysis failed: " + strings.Join(failed, "; ")
		return outcome{kind: outcomeFail, reason: reason, detail: reason, result: st}, nil
	}
	if noData {
		st.Inconclusive = true
		detail := fmt.Sprintf("measurement %d of %d: no data, waiting for Promote or Abort", n, m.Count)
		// A real wait for a person: the status and the record say so.
		r.st.Detail = detail
		err := together(func() error {
			return r.status(ctx, "in_progress", "Analysis inconclusive (no data): waiting for Promote or Abort")
		},
			func() error { return r.updateComment(ctx) })
		if err != nil {
			return outcome{}, err
		}
		return outcome{kind: outcomeAwait, result: st, detail: detail}, nil
	}
	if n < m.Count {
		return outcome{kind: outcomeWait, after: m.Interval.Duration, result: st,
			detail: fmt.Sprintf("measurement %d of %d: within bounds", n, m.Count)}, nil
	}
	return outcome{kind: outcomeDone, result: st, detail: fmt.Sprintf("%d measurements of %d metrics, all within bounds", n, len(m.Queries))}, nil
}

// measureOnce takes one measurement of every query into st (the baseline
// first, once) and returns what failed the analysis, and whether a query
// had no data under on_no_data: pause.
func (r *run) measureOnce(ctx context.Context, st *analysisState, now time.Time) (failed []string, noData bool) {
	m := r.env.Verify.Metrics
	if st.Breaches == nil {
		st.Breaches = map[string]int{}
	}
	if st.Errors == nil {
		st.Errors = map[string]int{}
	}
	measure := verify.Providers{HTTP: r.svc.httpClient(), Prometheus: m.Prometheus}
	if !st.BaselineTaken {
		st.Baseline, st.BaselineTaken = r.baselines(ctx, measure, m), true
	}
	taken := measurement{At: now, Values: map[string]reading{}}
	for _, q := range m.Queries {
		v, err := measure.Measure(ctx, q, time.Time{})
		var rd reading
		switch {
		case errors.Is(err, verify.ErrNoData):
			rd.NoData, st.Errors[q.Name] = true, 0
			switch m.OnNoData {
			case "pass":
			case "pause":
				noData = noData || !q.DryRun
			default:
				rd.Breach, rd.Cond = true, "data expected"
			}
		case err != nil:
			rd.Error = verify.Describe(err)
			if st.Errors[q.Name]++; st.Errors[q.Name] >= m.ConsecutiveErrorLimit && !q.DryRun {
				failed = append(failed, fmt.Sprintf("metric %s: %d query errors in a row (%s)", q.Name, st.Errors[q.Name], rd.Error))
			}
		default:
			st.Errors[q.Name] = 0
			rd.Value = &v
			rd.Breach, rd.Cond = verify.Judge(q, st.Baseline[q.Name], v)
		}
		if rd.Breach && q.DryRun {
			rd.Breach, rd.DryRun = false, true
		}
		if rd.Breach {
			if st.Breaches[q.Name]++; st.Breaches[q.Name] >= m.FailureLimit {
				value := "no data"
				if rd.Value != nil {
					value = verify.Number(*rd.Value)
				}
				failed = append(failed, fmt.Sprintf("metric %s = %s breached %s", q.Name, value, rd.Cond))
			}
		}
		taken.Values[q.Name] = rd
	}
	st.Measurements = append(st.Measurements, taken)
	return failed, noData
}

// baselines measures each query with a baseline as of when the
// deployment's first executor step began (nil: no value then).
func (r *run) baselines(ctx context.Context, measure verify.Measurer, m *config.Metrics) map[string]*float64 {
	at := r.executionStart()
	out := map[string]*float64{}
	for _, q := range m.Queries {
		if q.Baseline == nil {
			continue
		}
		if v, err := measure.Measure(ctx, q, at); err == nil {
			out[q.Name] = &v
		} else {
			out[q.Name] = nil
		}
	}
	return out
}

// executionStart is when the first executor step began (now if none did).
func (r *run) executionStart() time.Time {
	for _, st := range r.steps {
		if st.Name == stepExecute && !st.StartedAt.IsZero() {
			return st.StartedAt
		}
	}
	return time.Now()
}

// metricsTable is the record's evidence: per metric its condition,
// baseline, each measurement and a sparkline of them.
func metricsTable(steps []store.Step) string {
	for _, st := range steps {
		if st.Name != stepAnalysis || st.Result == "" || st.Result == "{}" {
			continue
		}
		var a analysisState
		if json.Unmarshal([]byte(st.Result), &a) != nil || len(a.Measurements) == 0 {
			return ""
		}
		var names []string
		for name := range a.Measurements[0].Values {
			names = append(names, name)
		}
		slices.Sort(names)
		var b strings.Builder
		b.WriteString("\n**Metrics**\n\n| metric | condition | baseline | measurements | result |\n|---|---|---|---|---|\n")
		for _, name := range names {
			var values []float64
			var cells []string
			cond, result := "", "✅ within bounds"
			for _, ms := range a.Measurements {
				rd := ms.Values[name]
				if rd.Cond != "" {
					cond = rd.Cond
				}
				switch {
				case rd.Value != nil:
					values = append(values, *rd.Value)
					cells = append(cells, ms.At.UTC().Format("15:04:05")+" "+verify.Number(*rd.Value))
				case rd.NoData:
					cells = append(cells, ms.At.UTC().Format("15:04:05")+" no data")
				default:
					cells = append(cells, ms.At.UTC().Format("15:04:05")+" "+rd.Error)
				}
				switch {
				case rd.Breach:
					result = "⛔ breached"
				case rd.DryRun && result != "⛔ breached":
					result = "⚠️ breached (dry run: not counted)"
				}
			}
			base := "—"
			if v, ok := a.Baseline[name]; ok && v != nil {
				base = verify.Number(*v)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s %s | %s |\n", cell(name), cell(cond), base, verify.Sparkline(values), cell(strings.Join(cells, ", ")), result)
		}
		return b.String()
	}
	return ""
}
