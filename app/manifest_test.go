package app

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deploybot/deploybot/handlers"
)

// app.yml subscribes to exactly the events deploybot handles.
func TestManifestEventsMatchHandlers(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../app.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		DefaultEvents      []string          `yaml:"default_events"`
		DefaultPermissions map[string]string `yaml:"default_permissions"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var handled []string
	for _, h := range handlers.All(&handlers.Base{}) {
		handled = append(handled, h.Handles()...)
	}
	slices.Sort(handled)
	slices.Sort(m.DefaultEvents)
	if !slices.Equal(handled, m.DefaultEvents) {
		t.Fatalf("app.yml events %v, handlers %v", m.DefaultEvents, handled)
	}
	for perm, level := range map[string]string{"checks": "write", "contents": "write", "deployments": "write", "issues": "write", "pull_requests": "read"} {
		if m.DefaultPermissions[perm] != level {
			t.Errorf("app.yml permission %s = %q, want %s", perm, m.DefaultPermissions[perm], level)
		}
	}
}
