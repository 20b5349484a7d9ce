package executor

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCommandRun(t *testing.T) {
	t.Setenv("DEPLOYBOT_EXECUTOR_SECRET", "server-secret-value")
	c := Command{Path: os.Getenv("PATH"), Secrets: []string{"server-secret-value"}}
	token := "ghs_" + strings.Repeat("A1b2", 9)
	for _, tc := range []struct {
		name    string
		argv    []string
		stdin   string
		timeout time.Duration
		check   func(t *testing.T, r CommandResult)
	}{
		{"exit 0 with its output kept", []string{"sh", "-c", "echo deployed; echo warn >&2"}, "", time.Minute,
			func(t *testing.T, r CommandResult) {
				if !r.OK() || r.Output != "deployed\nwarn\n" {
					t.Errorf("result %+v", r)
				}
			}},
		{"a failing exit status is a result", []string{"sh", "-c", "exit 3"}, "", time.Minute,
			func(t *testing.T, r CommandResult) {
				if r.OK() || r.ExitCode != 3 || r.TimedOut {
					t.Errorf("result %+v", r)
				}
			}},
		{"the step JSON arrives on stdin", []string{"cat"}, `{"action":"deploy"}`, time.Minute,
			func(t *testing.T, r CommandResult) {
				if r.Output != `{"action":"deploy"}` {
					t.Errorf("stdin echoed as %q", r.Output)
				}
			}},
		{"only PATH and the DEPLOY_ variables reach it", []string{"env"}, "", time.Minute,
			func(t *testing.T, r CommandResult) {
				if strings.Contains(r.Output, "DEPLOYBOT_") || !strings.Contains(r.Output, "DEPLOY_SHA=abc") {
					t.Errorf("environment:\n%s", r.Output)
				}
			}},
		{"secrets and GitHub tokens are masked", []string{"echo", "key server-secret-value token " + token}, "", time.Minute,
			func(t *testing.T, r CommandResult) {
				if strings.Contains(r.Output, "server-secret-value") || strings.Contains(r.Output, token) || r.Output != "key *** token ***\n" {
					t.Errorf("output %q", r.Output)
				}
			}},
		{"only the last 64 KiB are kept", []string{"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo END"}, "", time.Minute,
			func(t *testing.T, r CommandResult) {
				if len(r.Output) > MaxOutput+len("…") || !strings.HasSuffix(r.Output, "END\n") || !strings.HasPrefix(r.Output, "…") {
					t.Errorf("kept %d bytes, ending %q", len(r.Output), r.Output[max(len(r.Output)-8, 0):])
				}
			}},
		{"a timeout stops the command and its children", []string{"sh", "-c", "sleep 30 & sleep 30; echo never"}, "", 200 * time.Millisecond,
			func(t *testing.T, r CommandResult) {
				if !r.TimedOut || r.OK() || strings.Contains(r.Output, "never") {
					t.Errorf("result %+v", r)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Run(context.Background(), tc.argv, []byte(tc.stdin), []string{"DEPLOY_SHA=abc"}, tc.timeout)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
	t.Run("a program that does not exist is an error", func(t *testing.T) {
		if _, err := c.Run(context.Background(), []string{"./no-such-deploy-script"}, nil, nil, time.Minute); err == nil {
			t.Fatal("no error for a missing program")
		}
	})
}
