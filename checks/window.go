package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/deploybot/deploybot/config"
)

// Window passes when in.Now is inside an allow window and outside every deny
// period of the configured timezone. When it blocks, it says when deploys
// open again.
type Window struct{ Config *config.WindowGate }

func (Window) Name() string { return "window" }

// windowHorizon is how far ahead the next allowed time is looked for.
const windowHorizon = 400 * 24 * time.Hour

func (g Window) Evaluate(_ context.Context, in Input) (Result, error) {
	r := Result{Gate: g.Name()}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	ok, why := g.Config.Contains(now)
	if ok {
		r.Verdict, r.Reason = Pass, why
		return r, nil
	}
	r.Verdict = Block
	if strings.HasPrefix(why, "invalid deploy window") {
		r.Reason = why + "; fix gates.window in .github/deploy.yml"
		return r, nil
	}
	var d strings.Builder
	fmt.Fprintf(&d, "Deploy window (%s):\n\n", g.Config.Location())
	for _, a := range g.Config.Allow {
		fmt.Fprintf(&d, "- allow `%s`\n", a)
	}
	for _, p := range g.Config.Deny {
		fmt.Fprintf(&d, "- deny `%s`\n", p)
	}
	next, found := g.Config.NextAllowed(now, windowHorizon)
	if !found {
		r.Reason = why + "; no deploy is allowed in the next 400 days: fix gates.window in .github/deploy.yml"
		r.Detail = d.String()
		return r, nil
	}
	local := next.In(g.Config.Location())
	r.Reason = fmt.Sprintf("%s; deploys open again %s", why, local.Format("Mon 2006-01-02 15:04 MST"))
	fmt.Fprintf(&d, "\nDeploys open again %s (%s UTC, in %s); ask again then. Rollbacks are not held back by the window.",
		local.Format("Mon 2006-01-02 15:04 MST"), next.UTC().Format("2006-01-02 15:04"), roundWait(next.Sub(now)))
	r.Detail = d.String()
	return r, nil
}

// roundWait renders a duration in days, hours and minutes ("2d 3h 15m").
func roundWait(d time.Duration) string {
	d = d.Round(time.Minute)
	days := int(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
	}
	if m > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	return strings.Join(parts, " ")
}
