package checks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// A listing whose Link header never ends, or that is simply huge, is read
// up to the caps and no further.
func TestReadPagesStopsAtTheCaps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		perPage   int
		next      func(calls int) *github.Response
		wantCalls int
		wantItems int
		wantMore  bool
	}{
		{"endless page numbers", 5, func(c int) *github.Response { return &github.Response{NextPage: c + 1} }, MaxPages, 5 * MaxPages, true},
		{"endless cursors", 5, func(c int) *github.Response { return &github.Response{After: "c" + strconv.Itoa(c)} }, MaxPages, 5 * MaxPages, true},
		{"big pages hit the item cap", 400, func(c int) *github.Response { return &github.Response{NextPage: c + 1} }, 3, 1200, true},
		{"a link to the same page ends the listing", 5, func(c int) *github.Response { return &github.Response{NextPage: 1} }, 2, 10, false},
		{"the last page", 5, func(c int) *github.Response {
			if c == 3 {
				return &github.Response{}
			}
			return &github.Response{NextPage: c + 1}
		}, 3, 15, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			items, more, err := ReadPages(func(p PageRef) ([]int, *github.Response, error) {
				calls++
				return make([]int, tc.perPage), tc.next(calls), nil
			})
			if err != nil || calls != tc.wantCalls || len(items) != tc.wantItems || more != tc.wantMore {
				t.Fatalf("calls %d, items %d, more %v, err %v; want %d, %d, %v", calls, len(items), more, err, tc.wantCalls, tc.wantItems, tc.wantMore)
			}
		})
	}
}

func TestPageCapErrorSaysWhatWasCut(t *testing.T) {
	_, err := ListAll("check runs", func(p PageRef) ([]int, *github.Response, error) {
		return make([]int, 100), &github.Response{NextPage: p.Number + 2}, nil
	})
	var capErr *PageCapError
	if !errors.As(err, &capErr) || err.Error() != "more than 1,000 check runs; only the first 1,000 were read" {
		t.Fatalf("err = %v", err)
	}
}

// Against the emulator: a commit with more check runs than the cap is read
// in ten requests, and the gate says what it could not read instead of
// judging on part of the list.
func TestChecksGateStopsAtThePageCap(t *testing.T) {
	f := newSim(t)
	for i := range MaxItems + 50 {
		f.repo.AddCheckRun(f.sha, fmt.Sprintf("job-%04d", i), "completed", "success")
	}
	f.sim.ResetRequests()
	_, err := Checks{}.Evaluate(context.Background(), f.input(&config.Environment{}, f.sha))
	var capErr *PageCapError
	if !errors.As(err, &capErr) {
		t.Fatalf("err = %v, want a PageCapError", err)
	}
	want := "list check runs on " + short(f.sha) + ": more than 1,000 check runs; only the first 1,000 were read"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	runs := 0
	for _, rq := range f.sim.Requests() {
		if rq.Path == "/repos/acme/shop/commits/"+f.sha+"/check-runs" {
			runs++
		}
	}
	if runs != MaxPages {
		t.Fatalf("%d check-runs requests, want %d (the cap)", runs, MaxPages)
	}
}
