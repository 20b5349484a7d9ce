package web

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/deploybot/deploybot/internal/dora"
)

// deliveryWindows are the windows (days) of a repository page's delivery
// figures; the chart shows the longest.
var deliveryWindows = []int{30, 90}

// deliveryEnv is one environment's delivery figures on a repository page.
type deliveryEnv struct {
	Environment string
	Windows     []deliveryWindow
	Chart       chart
}

// deliveryWindow is the four figures over Days, formatted.
type deliveryWindow struct {
	Days                                     int
	Deploys                                  int
	PerDay, LeadTime, FailureRate, TTRestore string
}

// chart is an inline SVG bar chart of successful deploys per day.
type chart struct {
	Width, Height, Days int
	Bars                []bar
}

type bar struct {
	X, Y, W, H int
	Title      string
}

const (
	barWidth    = 3
	chartHeight = 40
)

// delivery reads repo's deployments of the longest window once and
// computes every window's figures from them.
func (s *Server) delivery(ctx context.Context, repo string) ([]deliveryEnv, error) {
	now := s.c.Now()
	longest := deliveryWindows[len(deliveryWindows)-1]
	rows, err := s.c.Store.DoraDeployments(ctx, repo, now.Add(-time.Duration(longest)*dora.Day))
	if err != nil {
		return nil, err
	}
	// Every environment of the longest window; quiet in a shorter one, it
	// shows zeros there.
	var out []deliveryEnv
	for _, series := range dora.ByEnvironment(rows, now, longest) {
		out = append(out, deliveryEnv{Environment: series.Environment, Chart: barChart(series.Daily, now)})
	}
	for _, days := range deliveryWindows {
		figures := map[string]dora.Figures{}
		for _, series := range dora.ByEnvironment(rows, now, days) {
			figures[series.Environment] = series.Figures
		}
		for i := range out {
			f, ok := figures[out[i].Environment]
			if !ok {
				f = dora.Figures{Days: days}
			}
			out[i].Windows = append(out[i].Windows, formatFigures(f))
		}
	}
	return out, nil
}

func formatFigures(f dora.Figures) deliveryWindow {
	w := deliveryWindow{Days: f.Days, Deploys: f.Deploys, PerDay: strconv.FormatFloat(f.PerDay, 'f', 2, 64),
		LeadTime: "—", FailureRate: "—", TTRestore: "—"}
	if f.Deploys > 0 {
		w.FailureRate = fmt.Sprintf("%.0f%% (%d of %d)", 100*f.FailureRate, f.Failures, f.Deploys)
	}
	if f.LeadSamples > 0 {
		w.LeadTime = span(f.LeadTime)
	}
	if f.Restores > 0 {
		w.TTRestore = span(f.TimeToRestore)
	}
	return w
}

// span is a duration to a person's precision.
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

// barChart draws daily counts, oldest first, ending the day before now.
func barChart(daily []int, now time.Time) chart {
	c := chart{Width: barWidth * len(daily), Height: chartHeight, Days: len(daily)}
	top := 1
	for _, n := range daily {
		top = max(top, n)
	}
	start := now.Add(-time.Duration(len(daily)) * dora.Day)
	for i, n := range daily {
		if n == 0 {
			continue
		}
		h := max(n*chartHeight/top, 1)
		c.Bars = append(c.Bars, bar{X: i * barWidth, Y: chartHeight - h, W: barWidth - 1, H: h,
			Title: fmt.Sprintf("%s: %d deploys", start.Add(time.Duration(i)*dora.Day).UTC().Format("Jan 2"), n)})
	}
	return c
}
