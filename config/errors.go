package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with the file.
type Problem struct {
	Line, Column int    // 1-based position of the offending node; 0 when unknown
	Path         string // dotted path of the node ("environments.staging.verify.timeout"); for unknown keys the mapping that holds them
	Message      string
}

// String renders "line 7, column 16: environments.staging.verify.timeout: invalid duration …".
// The path is left out when the message already names it.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Line > 0 && p.Column > 0:
		fmt.Fprintf(&b, "line %d, column %d: ", p.Line, p.Column)
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" && !strings.Contains(p.Message, p.Path) {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is returned by Parse for an invalid file; it lists every problem, sorted by line.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Markdown renders the problems as a Markdown list for a check run or comment.
func (e *Error) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` has %d problem(s):\n\n", Path, len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "- %s\n", p.String())
	}
	return b.String()
}

func sortProblems(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
	// Drop exact duplicates (a YAML anchor used twice reports its problems once).
	out := ps[:0]
	seen := map[Problem]bool{}
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
