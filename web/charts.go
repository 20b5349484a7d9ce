package web

import (
	"math"
	"strconv"
	"strings"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/verify"
)

// lineChart is one metric's measurements as an inline SVG line chart:
// the points in order (x by measurement, y by value), the limits they were
// held to as dashed lines, and a mark where a measurement had no value.
type lineChart struct {
	Width, Height int
	Segments      []string // polyline points ("x,y x,y"): runs of measured values
	Points        []chartPoint
	Gaps          []chartPoint // no data or a query error: Y is the chart's foot
	Lines         []chartLine  // limits and the baseline, dashed
	Empty         bool         // nothing was measured
}

type chartPoint struct {
	X, Y   float64
	Title  string
	Breach bool
}

type chartLine struct {
	X2, Y    float64 // from x 0 to X2
	Label    string
	Baseline bool // the baseline itself, not a limit
}

const (
	lineChartWidth  = 240
	lineChartHeight = 64
	chartPad        = 6
)

// drawMetric lays out s on a lineChart.Width × Height canvas. The value
// axis spans every measured value, limit and the baseline, so a limit is
// always on the chart; measurements are evenly spaced, as their interval is.
func drawMetric(s deploy.MetricSeries) lineChart {
	c := lineChart{Width: lineChartWidth, Height: lineChartHeight}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range s.Points {
		if p.Value != nil {
			lo, hi = min(lo, *p.Value), max(hi, *p.Value)
		}
	}
	measured := !math.IsInf(lo, 1)
	for _, l := range s.Limits {
		lo, hi = min(lo, l.Value), max(hi, l.Value)
	}
	if s.Baseline != nil {
		lo, hi = min(lo, *s.Baseline), max(hi, *s.Baseline)
	}
	if !measured {
		c.Empty = true
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if hi == lo { // a flat line sits in the middle
		d := math.Max(math.Abs(lo)/2, 1)
		lo, hi = lo-d, hi+d
	}
	y := func(v float64) float64 {
		return round1(chartPad + (hi-v)/(hi-lo)*float64(lineChartHeight-2*chartPad))
	}
	x := func(i int) float64 {
		if len(s.Points) == 1 {
			return lineChartWidth / 2
		}
		return round1(chartPad + float64(i)*float64(lineChartWidth-2*chartPad)/float64(len(s.Points)-1))
	}
	var run []string
	flush := func() {
		if len(run) > 1 {
			c.Segments = append(c.Segments, strings.Join(run, " "))
		}
		run = nil
	}
	for i, p := range s.Points {
		at := p.At.UTC().Format("15:04:05")
		if p.Value == nil {
			flush()
			what := "no data"
			if p.Error != "" {
				what = p.Error
			}
			c.Gaps = append(c.Gaps, chartPoint{X: x(i), Y: lineChartHeight - chartPad/2, Title: at + ": " + what, Breach: p.Breach})
			continue
		}
		pt := chartPoint{X: x(i), Y: y(*p.Value), Title: at + ": " + verify.Number(*p.Value), Breach: p.Breach}
		if p.Breach {
			pt.Title += " (breach)"
		}
		c.Points = append(c.Points, pt)
		run = append(run, num(pt.X)+","+num(pt.Y))
	}
	flush()
	for _, l := range s.Limits {
		c.Lines = append(c.Lines, chartLine{X2: lineChartWidth, Y: y(l.Value), Label: l.Label})
	}
	if s.Baseline != nil {
		c.Lines = append(c.Lines, chartLine{X2: lineChartWidth, Y: y(*s.Baseline), Label: "baseline " + verify.Number(*s.Baseline), Baseline: true})
	}
	return c
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
