package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Someone pushes a broken .github/deploy.yml to main: the check run
// deploy/config fails with each problem at its line and column; fixing the
// file turns it green; a /deploy meanwhile is refused with the same problems.
func TestConfigPushIsValidatedAsCheckRun(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	broken := "default_environment: staging\nenvironments:\n  staging:\n    executor: { webhook: { url: https://x.example/hook } }\n    gates:\n      checks: { wait: soon }\n      window: { allow: [\"Someday 09:00-10:00\"] }\n    colour: blue\n"
	bad := s.Repo.Commit("main", map[string]string{".github/deploy.yml": broken}, "break config")
	s.Repo.Commit("main", map[string]string{"README.md": "docs"}, "unrelated push")
	s.settle()

	cr := s.checkRun(bad, "deploy/config")
	if cr.Conclusion != "failure" || !strings.Contains(cr.Output.Title, "problem") {
		t.Fatalf("deploy/config = %s %q", cr.Conclusion, cr.Output.Title)
	}
	for _, want := range []string{"line 6, column", "wait", "line 8, column 5", "colour", "allow[0]: invalid window: unknown day name"} {
		contains(t, "deploy/config summary", cr.Output.Summary, want)
	}
	if len(cr.Output.Annotations) < 3 || cr.Output.Annotations[0].Path != ".github/deploy.yml" || cr.Output.Annotations[0].StartLine != 6 {
		t.Errorf("annotations = %+v", cr.Output.Annotations)
	}
	if n := len(s.Sim.CheckRuns(SandboxRepoFull, s.Repo.Head("main"))); n != 0 {
		t.Errorf("a push that did not touch the config got %d check runs", n)
	}

	pr, _ := s.openPR("feature/x", "walt")
	s.comment(pr, "walt", "/deploy staging")
	s.settle()
	replies := s.deploybotComments(pr)
	if len(replies) != 1 || len(s.Sim.Deployments(SandboxRepoFull)) != 0 {
		t.Fatalf("deploy on an invalid config: replies %q, %d deployments", replies, len(s.Sim.Deployments(SandboxRepoFull)))
	}
	contains(t, "reply", replies[0], "line 8, column 5")

	fixed := s.Repo.Commit("main", map[string]string{".github/deploy.yml": strings.ReplaceAll(SandboxConfig, "TARGET", s.Target.URL)}, "fix config")
	s.settle()
	if cr := s.checkRun(fixed, "deploy/config"); cr.Conclusion != "success" || !strings.Contains(cr.Output.Summary, "`production`") {
		t.Errorf("deploy/config after the fix = %s %q\n%s", cr.Conclusion, cr.Output.Title, cr.Output.Summary)
	}
}

// deploybot validate checks a file locally with the same messages.
func TestValidateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yml", "environments:\n  staging:\n    executor: { webhook: { url: https://x.example/hook } }\n")
	bad := write("bad.yml", "environments:\n  staging:\n    executor: { webhook: { url: https://x.example/hook } }\n    gates: { checks: { wait: 5 } }\n")
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"valid file", []string{"validate", good}, "", "is valid: environments [staging]"},
		{"invalid file names line and column", []string{"validate", bad}, "line 4, column", ""},
		{"missing file says what to do", []string{"validate", filepath.Join(dir, "nope.yml")}, "name the file", ""},
		{"too many arguments", []string{"validate", good, bad}, "usage: deploybot validate [path]", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := Main(t.Context(), tc.args, func(string) (string, bool) { return "", false }, &out, &errOut)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output %q, want %q", out.String(), tc.wantOut)
			}
		})
	}
}
