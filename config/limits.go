package config

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds .github/deploy.yml; real files are a few KiB.
const MaxFileSize = 256 << 10

// maxAliasNodes bounds the nodes anchors, aliases and merge keys may add to
// a file: yaml.v3 keeps aliases as references, but walking them expands
// them, and a 700-byte file of nested `<<: [*a, *a]` doubles at each level.
const maxAliasNodes = 10_000

// TooLarge is the problem of a file over MaxFileSize.
func TooLarge() error {
	return &Error{Problems: []Problem{{Line: 1, Column: 1,
		Message: fmt.Sprintf("the file is larger than %d KiB: keep %s small (use anchors for repeated blocks)", MaxFileSize>>10, Path)}}}
}

// expansion measures how many nodes a walk of the tree visits when every
// alias is followed. Each node's size is memoised, so the measurement
// itself is linear in the file however much the aliases multiply.
type expansion struct {
	ctx     context.Context
	limit   int
	memo    map[*yaml.Node]int
	steps   int        // nodes this measurement looked at (for tests)
	blame   *yaml.Node // the alias that crossed the limit, or closed a cycle
	cyclic  bool
	ctxErr  error
	pending map[*yaml.Node]bool // nodes being measured: an alias to one is a cycle
}

// literalNodes counts the nodes written in the file (aliases count once).
func literalNodes(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	c := 1
	for _, k := range n.Content {
		c += literalNodes(k)
	}
	return c
}

// size returns the expanded size of n, saturated at limit+1.
func (e *expansion) size(n *yaml.Node) int {
	if n == nil || e.ctxErr != nil {
		return 0
	}
	if e.steps++; e.steps%4096 == 0 {
		if e.ctxErr = e.ctx.Err(); e.ctxErr != nil {
			return 0
		}
	}
	if n.Kind == yaml.AliasNode {
		t := n.Alias
		if t == nil {
			return 1
		}
		if e.pending[t] { // an alias inside the node it names
			e.cyclic = true
			if e.blame == nil {
				e.blame = n
			}
			return e.limit + 1
		}
		return e.size(t)
	}
	if s, ok := e.memo[n]; ok {
		return s
	}
	e.pending[n] = true
	total := 1
	for _, c := range n.Content {
		s := e.size(c)
		total = min(total+s, e.limit+1)
		if total > e.limit && e.blame == nil {
			e.blame = c // the deepest node whose expansion crossed the limit
		}
	}
	delete(e.pending, n)
	e.memo[n] = total
	return total
}

// checkExpansion refuses a document whose walk would visit more than
// maxAliasNodes nodes beyond the ones written in it, or that refers to
// itself. It returns false when the document must not be walked.
func (d *decoder) checkExpansion(ctx context.Context, root *yaml.Node) bool {
	literal := literalNodes(root)
	d.literal = literal
	e := &expansion{ctx: ctx, limit: literal + maxAliasNodes, memo: map[*yaml.Node]int{}, pending: map[*yaml.Node]bool{}}
	total := e.size(root)
	d.visited = e.steps
	if e.ctxErr != nil {
		d.ctxErr = e.ctxErr
		return false
	}
	if e.cyclic {
		d.addf(e.blame, "", "an alias refers to the node that contains it: anchors must not contain their own aliases")
		return false
	}
	if total > e.limit {
		if e.blame == nil {
			e.blame = root
		}
		d.addf(e.blame, "", "the file expands too much through anchors/aliases (more than %d extra nodes): repeat fewer blocks through aliases and merge keys (<<)", maxAliasNodes)
		return false
	}
	return true
}

// keyText renders a key the user wrote (an unknown key, an environment or
// input name) for a message: control characters dropped, at most 64
// characters, quoted.
func keyText(s string) string { return fmt.Sprintf("%q", keyPart(s)) }

// keyPart is keyText without the quotes, for paths.
func keyPart(s string) string { return clean(s, 64) }

// clean drops control characters from s and bounds it to n characters.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// knownNames lists environment names (keys) for a message, at most 20.
func knownNames(names []string) string {
	out := make([]string, 0, min(len(names), 21))
	for i, n := range names {
		if i == 20 {
			out = append(out, "…")
			break
		}
		out = append(out, keyPart(n))
	}
	return strings.Join(out, ", ")
}
