package deploy

import (
	"strings"
	"testing"
)

func TestArchiveLine(t *testing.T) {
	for _, tc := range []struct {
		name, body, env, entry string
		want                   string
	}{
		{"new section after the notes", "Fixes the cart.\n", "staging", "✅ `abc1234` live",
			"Fixes the cart.\n\n" + archiveStart + "\n### Deployments\n\n- **staging**: ✅ `abc1234` live\n" + archiveEnd},
		{"empty notes", "", "staging", "✅ x", archiveStart + "\n### Deployments\n\n- **staging**: ✅ x\n" + archiveEnd},
		{"second environment is added in order", "Notes\n\n" + archiveStart + "\n### Deployments\n\n- **staging**: ✅ a\n" + archiveEnd,
			"production", "✅ b", "Notes\n\n" + archiveStart + "\n### Deployments\n\n- **production**: ✅ b\n- **staging**: ✅ a\n" + archiveEnd},
		{"redeploy replaces the line in place and keeps text after it", "Notes\n\n" + archiveStart + "\n### Deployments\n\n- **staging**: ✅ a\n" + archiveEnd + "\n\nThanks!",
			"staging", "↩️ rolled back", "Notes\n\n" + archiveStart + "\n### Deployments\n\n- **staging**: ↩️ rolled back\n" + archiveEnd + "\n\nThanks!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := archiveLine(tc.body, tc.env, tc.entry)
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			if again := archiveLine(got, tc.env, tc.entry); again != got {
				t.Fatalf("not idempotent:\n%s", again)
			}
			if strings.Count(got, archiveStart) != 1 {
				t.Fatalf("section duplicated:\n%s", got)
			}
		})
	}
}
