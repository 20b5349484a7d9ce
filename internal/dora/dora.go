// Package dora computes delivery metrics (the four DORA figures) per
// repository and environment from deploybot's own records:
//
//   - deployment frequency: successful deploys per day (rollbacks are not
//     counted: they return to a version that was already deployed);
//   - lead time for changes: the median time from deploybot's first request
//     to deploy a commit (in any environment) to its success in this one.
//     deploybot does not store a pull request's first commit time; its own
//     first request is recorded for every deployment, costs no GitHub
//     request, and works for deploys of branches and tags without a pull
//     request. It leaves out the time before anyone asked to deploy;
//   - change failure rate: deploys that failed after reaching the
//     environment (the executor ran: failed verification, health, metrics)
//     or were later rolled back, over deploys that reached it. A deploy a
//     gate refused never changed anything and is not counted at all;
//   - time to restore: the median time from a change failure in the
//     environment (a failed deploy or rollback, or a deploy later rolled
//     back: from when it finished) to the next success there that was not
//     itself rolled back.
//
// Nothing here reads a clock or a database: the callers pass the rows and
// the time.
package dora

import (
	"slices"
	"time"

	"github.com/deploybot/deploybot/store"
)

// Day is the width of a bar of the per-day series.
const Day = 24 * time.Hour

// Figures are the four figures of one environment over a window of Days.
type Figures struct {
	Days int
	// Deploys reached the environment (task deploy); Successes of them
	// succeeded; Failures failed there or were rolled back.
	Deploys, Successes, Failures int
	PerDay                       float64
	FailureRate                  float64 // Failures / Deploys (0 without deploys)
	// LeadTime and TimeToRestore are medians of LeadSamples and Restores
	// samples (0 samples: unknown).
	LeadTime, TimeToRestore time.Duration
	LeadSamples, Restores   int
	// Daily counts successful deploys per Day, oldest first (len Days).
	Daily []int
}

// Series is the figures of one repository and environment.
type Series struct {
	Repo, Environment string
	Figures
}

type key struct{ repo, env string }

// ByEnvironment computes the figures of every repository and environment
// in rows over the days before now. rows may cover more than the window
// (a longer one): only deployments that ended in it count, but a rollback
// anywhere in rows marks the deployment it undid. rows must be ordered by
// repository, environment and end, as store.DoraDeployments returns them.
func ByEnvironment(rows []*store.DoraDeployment, now time.Time, days int) []Series {
	rolledBack := map[[2]any]bool{}
	for _, d := range rows {
		if d.RollbackOf != 0 {
			rolledBack[[2]any{d.Repo, d.RollbackOf}] = true
		}
	}
	since := now.Add(-time.Duration(days) * Day)
	var out []Series
	var cur []*store.DoraDeployment
	flush := func() {
		if len(cur) > 0 {
			out = append(out, Series{Repo: cur[0].Repo, Environment: cur[0].Environment,
				Figures: compute(cur, rolledBack, since, days)})
		}
		cur = cur[:0]
	}
	for i, d := range rows {
		if i > 0 && (d.Repo != rows[i-1].Repo || d.Environment != rows[i-1].Environment) {
			flush()
		}
		if !d.FinishedAt.Before(since) && !d.FinishedAt.After(now) {
			cur = append(cur, d)
		}
	}
	flush()
	return out
}

// compute works on one environment's deployments ordered by end.
func compute(ds []*store.DoraDeployment, rolledBack map[[2]any]bool, since time.Time, days int) Figures {
	f := Figures{Days: days, Daily: make([]int, days)}
	var leads, restores []time.Duration
	var brokenAt time.Time // the first change failure not yet restored
	for _, d := range ds {
		undone := d.GitHubDeploymentID != 0 && rolledBack[[2]any{d.Repo, d.GitHubDeploymentID}]
		ok := d.State == store.StateSuccess
		bad := d.Changed && (!ok || undone)
		if d.Task == "deploy" && d.Changed {
			f.Deploys++
			if bad {
				f.Failures++
			}
			if ok {
				f.Successes++
				if i := int(d.FinishedAt.Sub(since) / Day); i >= 0 && i < days {
					f.Daily[i]++
				}
				if !d.FirstSeen.IsZero() {
					leads = append(leads, max(d.FinishedAt.Sub(d.FirstSeen), 0))
				}
			}
		}
		switch {
		case bad && brokenAt.IsZero():
			brokenAt = d.FinishedAt
		case ok && !undone && !brokenAt.IsZero():
			restores = append(restores, d.FinishedAt.Sub(brokenAt))
			brokenAt = time.Time{}
		}
	}
	if days > 0 {
		f.PerDay = float64(f.Successes) / float64(days)
	}
	if f.Deploys > 0 {
		f.FailureRate = float64(f.Failures) / float64(f.Deploys)
	}
	f.LeadTime, f.LeadSamples = median(leads), len(leads)
	f.TimeToRestore, f.Restores = median(restores), len(restores)
	return f
}

// median is the middle sample (the mean of the two middle ones), 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}
