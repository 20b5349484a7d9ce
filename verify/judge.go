package verify

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/deploybot/deploybot/config"
)

// Judge says whether value breaches q's condition (baseline: the query's
// value when the deployment began executing; nil when it had none) and
// describes the condition the value was held to.
func Judge(q config.MetricQuery, baseline *float64, value float64) (breach bool, condition string) {
	var conds []string
	if q.Max != nil {
		conds = append(conds, "≤ "+Number(*q.Max))
		breach = breach || value > *q.Max
	}
	if q.Min != nil {
		conds = append(conds, "≥ "+Number(*q.Min))
		breach = breach || value < *q.Min
	}
	if q.Baseline != nil && baseline != nil {
		allowed := Allowed(*q.Baseline, *baseline)
		conds = append(conds, fmt.Sprintf("≤ %s (baseline %s + %s%% + %s)", Number(allowed), Number(*baseline),
			Number(q.Baseline.MaxIncrease*100), Number(q.Baseline.Tolerance)))
		breach = breach || value > allowed
	}
	return breach, strings.Join(conds, ", ")
}

// Allowed is the most a baseline comparison lets through:
// baseline × (1 + max_increase) + tolerance.
func Allowed(b config.Baseline, baseline float64) float64 {
	return baseline*(1+b.MaxIncrease) + b.Tolerance
}

// Number prints a measurement compactly (0.0123, 1500, 2.5e-07).
func Number(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

var bars = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values as one line of block characters.
func Sparkline(values []float64) string {
	if len(values) == 0 {
		return ""
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	var b strings.Builder
	for _, v := range values {
		i := 0
		if hi > lo {
			i = int((v - lo) / (hi - lo) * float64(len(bars)-1))
		}
		b.WriteRune(bars[i])
	}
	return b.String()
}
