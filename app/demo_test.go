package app

import (
	"strings"
	"testing"
)

// `go run . demo` is one of the README's two commands: it must keep working
// and tell the story it promises.
func TestDemoTellsTheStory(t *testing.T) {
	var out strings.Builder
	if err := Demo(t.Context(), &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"deploy/staging: checks       in_progress/ waiting for ci/test",
		"→ queued      Waiting for ci/test",
		"buttons: [Rollback]",
		"task deploy:rollback",
		"(the version before the failed one: true)",
		"emulator violations: 0",
		"done: success → failure → rollback, all recorded",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
