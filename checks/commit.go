package checks

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-github/v62/github"
)

// CheckState is one check run or commit status on a commit, normalized.
type CheckState struct {
	Name string // check run name or status context
	Kind string // "check_run" or "status"
	// Status is queued, in_progress or completed for check runs; for
	// statuses "completed" unless the state is pending.
	Status string
	// Conclusion is the check run conclusion, or the status state mapped to
	// success, failure (failure and error) or "" while pending.
	Conclusion   string
	URL          string
	AppID        int64  // app that made the check run (0 for statuses)
	AppSlug      string // its slug ("" for statuses)
	CheckSuiteID int64
}

// Pending reports whether the check has not finished.
func (c CheckState) Pending() bool { return c.Status != "completed" }

// OK reports whether the check finished without a problem.
func (c CheckState) OK() bool {
	return !c.Pending() && (c.Conclusion == "success" || c.Conclusion == "neutral" || c.Conclusion == "skipped")
}

// fetchCheckStates reads all pages of check runs (latest run per name) and
// the latest status per context on in.SHA. The two lists are read at the
// same time: one round trip to GitHub, not two.
func fetchCheckStates(ctx context.Context, in Input) ([]CheckState, error) {
	var runs, statuses []CheckState
	var runsErr, statusesErr error
	var wg sync.WaitGroup
	wg.Go(func() { runs, runsErr = fetchCheckRuns(ctx, in) })
	wg.Go(func() { statuses, statusesErr = fetchStatuses(ctx, in) })
	wg.Wait()
	if runsErr != nil {
		return nil, runsErr
	}
	if statusesErr != nil {
		return nil, statusesErr
	}
	return append(runs, statuses...), nil
}

func fetchCheckRuns(ctx context.Context, in Input) ([]CheckState, error) {
	var out []CheckState
	runPages := pager{what: "check runs"}
	opts := &github.ListCheckRunsOptions{Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: 100}}
	for {
		res, resp, err := in.GitHub.Checks.ListCheckRunsForRef(ctx, in.Owner, in.Name, in.SHA, opts)
		if err != nil {
			return nil, fmt.Errorf("list check runs on %s: %w", short(in.SHA), err)
		}
		for _, cr := range res.CheckRuns {
			out = append(out, CheckState{
				Name: cr.GetName(), Kind: "check_run", Status: cr.GetStatus(), Conclusion: cr.GetConclusion(),
				URL: cr.GetHTMLURL(), AppID: cr.GetApp().GetID(), AppSlug: cr.GetApp().GetSlug(), CheckSuiteID: cr.GetCheckSuite().GetID(),
			})
		}
		if !runPages.nextNumber(resp, len(res.CheckRuns), &opts.Page) {
			break
		}
	}
	if err := runPages.err(); err != nil {
		return nil, fmt.Errorf("list check runs on %s: %w", short(in.SHA), err)
	}
	return out, nil
}

func fetchStatuses(ctx context.Context, in Input) ([]CheckState, error) {
	var out []CheckState
	statusPages := pager{what: "commit statuses"}
	sopts := &github.ListOptions{PerPage: 100}
	for {
		combined, resp, err := in.GitHub.Repositories.GetCombinedStatus(ctx, in.Owner, in.Name, in.SHA, sopts)
		if err != nil {
			return nil, fmt.Errorf("read commit statuses on %s: %w", short(in.SHA), err)
		}
		for _, s := range combined.Statuses {
			c := CheckState{Name: s.GetContext(), Kind: "status", Status: "completed", URL: s.GetTargetURL()}
			switch s.GetState() {
			case "pending":
				c.Status = "pending"
			case "success":
				c.Conclusion = "success"
			default: // failure, error
				c.Conclusion = "failure"
			}
			out = append(out, c)
		}
		if !statusPages.nextNumber(resp, len(combined.Statuses), &sopts.Page) {
			break
		}
	}
	if err := statusPages.err(); err != nil {
		return nil, fmt.Errorf("read commit statuses on %s: %w", short(in.SHA), err)
	}
	return out, nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
