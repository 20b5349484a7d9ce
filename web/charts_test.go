package web

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/deploy"
)

func val(v float64) *float64 { return &v }

// series builds a metric series measured every 30 s from 12:00:00;
// a nil value is a measurement without data.
func series(values []*float64, limits ...deploy.Limit) deploy.MetricSeries {
	s := deploy.MetricSeries{Name: "errors", Limits: limits}
	at := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	for i, v := range values {
		s.Points = append(s.Points, deploy.MetricPoint{At: at.Add(time.Duration(i) * 30 * time.Second), Value: v, NoData: v == nil})
	}
	return s
}

// The canvas is 240 × 64 with 6 px of padding: x runs 6…234 across the
// measurements, y runs 58 (the lowest value or limit) … 6 (the highest).
func TestDrawMetric(t *testing.T) {
	for _, tc := range []struct {
		name     string
		series   deploy.MetricSeries
		segments []string
		points   []chartPoint
		gaps     []chartPoint
		lines    []chartLine
		empty    bool
	}{
		{
			name:     "three values under a max: the max is the top",
			series:   series([]*float64{val(1), val(3), val(2)}, deploy.Limit{Label: "max 4", Value: 4}),
			segments: []string{"6,58 120,23.3 234,40.7"},
			points: []chartPoint{{X: 6, Y: 58, Title: "12:00:00: 1"}, {X: 120, Y: 23.3, Title: "12:00:30: 3"},
				{X: 234, Y: 40.7, Title: "12:01:00: 2"}},
			lines: []chartLine{{X2: 240, Y: 6, Label: "max 4"}},
		},
		{
			name: "a value above its max is a breach above the dashed line",
			series: func() deploy.MetricSeries {
				s := series([]*float64{val(0), val(2)}, deploy.Limit{Label: "max 1", Value: 1})
				s.Points[1].Breach = true
				return s
			}(),
			segments: []string{"6,58 234,6"},
			points:   []chartPoint{{X: 6, Y: 58, Title: "12:00:00: 0"}, {X: 234, Y: 6, Title: "12:00:30: 2 (breach)", Breach: true}},
			lines:    []chartLine{{X2: 240, Y: 32, Label: "max 1"}},
		},
		{
			name: "the baseline and its allowance are both drawn",
			series: func() deploy.MetricSeries {
				s := series([]*float64{val(10), val(11)}, deploy.Limit{Label: "allowed 12 (baseline 10)", Value: 12})
				s.Baseline = val(10)
				return s
			}(),
			segments: []string{"6,58 234,32"},
			points:   []chartPoint{{X: 6, Y: 58, Title: "12:00:00: 10"}, {X: 234, Y: 32, Title: "12:00:30: 11"}},
			lines:    []chartLine{{X2: 240, Y: 6, Label: "allowed 12 (baseline 10)"}, {X2: 240, Y: 58, Label: "baseline 10", Baseline: true}},
		},
		{
			name:   "no data breaks the line and is marked at the foot",
			series: series([]*float64{val(1), nil, val(3), val(2)}),
			// one value alone draws no segment; 3 and 2 join
			segments: []string{"158,6 234,32"},
			points:   []chartPoint{{X: 6, Y: 58, Title: "12:00:00: 1"}, {X: 158, Y: 6, Title: "12:01:00: 3"}, {X: 234, Y: 32, Title: "12:01:30: 2"}},
			gaps:     []chartPoint{{X: 82, Y: 61, Title: "12:00:30: no data"}},
		},
		{
			name:     "a flat series sits in the middle",
			series:   series([]*float64{val(5), val(5)}),
			segments: []string{"6,32 234,32"},
			points:   []chartPoint{{X: 6, Y: 32, Title: "12:00:00: 5"}, {X: 234, Y: 32, Title: "12:00:30: 5"}},
		},
		{
			name:   "one measurement is centred",
			series: series([]*float64{val(0.01)}, deploy.Limit{Label: "max 0.05", Value: 0.05}),
			points: []chartPoint{{X: 120, Y: 58, Title: "12:00:00: 0.01"}},
			lines:  []chartLine{{X2: 240, Y: 6, Label: "max 0.05"}},
		},
		{
			name:   "nothing measured: the limit alone, and the chart says so",
			series: series([]*float64{nil, nil}, deploy.Limit{Label: "max 0.05", Value: 0.05}),
			gaps:   []chartPoint{{X: 6, Y: 61, Title: "12:00:00: no data"}, {X: 234, Y: 61, Title: "12:00:30: no data"}},
			lines:  []chartLine{{X2: 240, Y: 32, Label: "max 0.05"}},
			empty:  true,
		},
		{
			name:   "no measurements at all",
			series: deploy.MetricSeries{Name: "errors"},
			empty:  true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := drawMetric(tc.series)
			if c.Width != 240 || c.Height != 64 || c.Empty != tc.empty {
				t.Errorf("canvas %d×%d, empty %v", c.Width, c.Height, c.Empty)
			}
			for what, pair := range map[string][2]any{"segments": {c.Segments, tc.segments}, "points": {c.Points, tc.points},
				"gaps": {c.Gaps, tc.gaps}, "lines": {c.Lines, tc.lines}} {
				if !reflect.DeepEqual(pair[0], pair[1]) && !(reflect.ValueOf(pair[0]).Len() == 0 && reflect.ValueOf(pair[1]).Len() == 0) {
					t.Errorf("%s = %+v\nwant %+v", what, pair[0], pair[1])
				}
			}
		})
	}
}

// The error of a query is its title, as the PR record words it.
func TestDrawMetricShowsQueryErrors(t *testing.T) {
	s := series([]*float64{nil})
	s.Points[0].NoData, s.Points[0].Error = false, "query failed"
	c := drawMetric(s)
	if len(c.Gaps) != 1 || !strings.HasSuffix(c.Gaps[0].Title, ": query failed") {
		t.Fatalf("gaps %+v", c.Gaps)
	}
}
