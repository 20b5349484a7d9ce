package checks

import (
	"fmt"

	"github.com/google/go-github/v62/github"
)

// Every paginated read of the GitHub API stops at these caps, so a huge
// listing or a misbehaving Link header can never loop forever. What was
// cut is said, never silently dropped: a read that hits a cap returns a
// *PageCapError, and the gate that asked fails closed with its message.
const (
	MaxPages = 10
	MaxItems = 1000
)

// PageRef is where the next page of a listing starts: a page number
// (offset pagination) or an after-cursor (cursor pagination, e.g.
// Dependabot). The zero value is the first page.
type PageRef struct {
	Number int
	After  string
}

// pageRef is the package's name for PageRef.
type pageRef = PageRef

// PageCapError says a listing had more than the caps allow.
type PageCapError struct {
	What string // "check runs"
	Read int    // items read before stopping
}

func (e *PageCapError) Error() string {
	return fmt.Sprintf("more than %s %s; only the first %s were read", thousands(e.Read), e.What, thousands(e.Read))
}

// pager is the one place a page loop decides whether to go on: it follows
// GitHub's Link header (rel="next" with page= or after=) and stops at the
// listing's end or at a cap.
type pager struct {
	what         string // what is listed, for PageCapError
	pages, items int
	more         bool // stopped at a cap with more to read
}

// next records a page of n items that came with resp, and reports whether
// to read another; if so, p is moved to it.
func (pg *pager) next(resp *github.Response, n int, p *PageRef) bool {
	pg.pages++
	pg.items += n
	var to PageRef
	switch {
	case resp == nil:
		return false
	case resp.After != "" && resp.After != p.After:
		to = PageRef{After: resp.After}
	case resp.NextPage != 0 && resp.NextPage != p.Number:
		to = PageRef{Number: resp.NextPage}
	default:
		return false
	}
	if pg.pages >= MaxPages || pg.items >= MaxItems {
		pg.more = true
		return false
	}
	*p = to
	return true
}

// nextNumber is next for a listing paged by number (page=).
func (pg *pager) nextNumber(resp *github.Response, n int, page *int) bool {
	p := PageRef{Number: *page}
	ok := pg.next(resp, n, &p)
	*page = p.Number
	return ok
}

// err is a *PageCapError when the loop stopped at a cap.
func (pg *pager) err() error {
	if pg.more {
		return &PageCapError{What: pg.what, Read: pg.items}
	}
	return nil
}

// ReadPages calls fetch for every page until the listing ends or a cap is
// reached. It returns the items read and whether GitHub had more.
func ReadPages[T any](fetch func(p PageRef) ([]T, *github.Response, error)) ([]T, bool, error) {
	var all []T
	var p PageRef
	pg := pager{}
	for {
		items, resp, err := fetch(p)
		if err != nil {
			return nil, false, err
		}
		all = append(all, items...)
		if !pg.next(resp, len(items), &p) {
			return all, pg.more, nil
		}
	}
}

// ListAll is ReadPages for readers that need the whole listing: hitting a
// cap is a *PageCapError naming what (e.g. "check runs").
func ListAll[T any](what string, fetch func(p PageRef) ([]T, *github.Response, error)) ([]T, error) {
	all, more, err := ReadPages(fetch)
	if err != nil {
		return nil, err
	}
	if more {
		return nil, &PageCapError{What: what, Read: len(all)}
	}
	return all, nil
}

// listAll is ListAll for listings of unnamed items.
func listAll[T any](fetch func(p PageRef) ([]T, *github.Response, error)) ([]T, error) {
	return ListAll("items", fetch)
}

// thousands formats n with thousands separators: 1,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
