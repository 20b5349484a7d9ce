package app

import (
	"strings"
	"testing"
)

// `go run . demo` is one of the README's two commands: it must keep working
// and tell the story it promises.
func TestDemoTellsTheStory(t *testing.T) {
	t.Parallel()
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
		"buttons [Promote Abort]",
		"→ in_progress Canary at 10 %: paused for Promote",
		"executor calls of this rollout: deploy at 10 %, deploy at 100 %",
		"executor calls of this rollout: deploy at 10 %, abort at 0 %",
		"→ failure     aborted by @alice",
		"→ failure     Monitor breach: issue #",
		"(the version before v3: true)",
		"done: success → failure → rollback → canary promoted → canary aborted → monitor breach rolled back, all recorded",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
