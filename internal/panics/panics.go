// Package panics turns a recovered panic into something safe to log: the
// panic value can hold anything the crashing code held (fetched content, a
// token), and a raw stack trace prints argument words, so neither is kept
// verbatim. What remains is enough to find the bug: the kind of panic and
// the frames (function, file:line).
package panics

import (
	"fmt"
	"runtime"
	"strings"
)

// Describe names a panic without its value: a runtime error's message
// (index out of range, nil dereference — never user data) or the value's type.
func Describe(p any) string {
	if re, ok := p.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("panic(%T)", p)
}

// Frames reduces a debug.Stack() trace to "function file:line" lines,
// dropping the goroutine header, argument words and frame offsets.
func Frames(stack []byte) string {
	lines := strings.Split(strings.TrimSpace(string(stack)), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "goroutine ") || l == "" {
			continue
		}
		if strings.HasPrefix(lines[i], "\t") { // a file:line of the previous function
			if j := strings.LastIndex(l, " +0x"); j > 0 {
				l = l[:j]
			}
			if n := len(out); n > 0 {
				out[n-1] += " " + l
			}
			continue
		}
		if j := strings.LastIndex(l, "("); j > 0 { // drop the argument words
			l = l[:j]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
