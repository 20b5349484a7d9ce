// Package executor runs strategy steps on deploybot's own host: the command
// executor. (The webhook, actions and external executors talk to other
// systems and live with the pipeline in deploy/.)
package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// Limits of a command step.
const (
	// MaxOutput is how much of a command's output (stdout and stderr
	// together, the end of it) is kept for the record.
	MaxOutput = 64 << 10
	// MaxCommandTimeout bounds one command. A command holds a worker for
	// its whole run (it cannot call back like a webhook executor), so it
	// must end well within the step job's timeout.
	MaxCommandTimeout = 10 * time.Minute
	// killGrace is how long a timed-out command's process group has
	// between SIGTERM and SIGKILL.
	killGrace = 5 * time.Second
)

// CommandResult is how a command ended.
type CommandResult struct {
	ExitCode int    `json:"exit_code"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Output   string `json:"output,omitempty"` // the last MaxOutput bytes, secrets masked
}

// OK reports exit status 0 within the timeout.
func (r CommandResult) OK() bool { return r.ExitCode == 0 && !r.TimedOut }

// Command runs argv vectors, never a shell string: what a repository
// configures is a program and its arguments, and nothing in them is
// interpreted by a shell.
type Command struct {
	// Path is the PATH the command sees. The command gets no other
	// variable of deploybot's environment, which holds its secrets.
	Path string
	// Secrets are values masked in the kept output (the server's secrets;
	// GitHub tokens are masked by their shape as well).
	Secrets []string
}

// Run runs argv with stdin, the variables in env (KEY=value) and a timeout,
// and returns how it ended. The error is for a command that could not be
// started at all (not found, not executable); a command that ran and failed
// is a result.
func (c Command) Run(ctx context.Context, argv []string, stdin []byte, env []string, timeout time.Duration) (CommandResult, error) {
	if len(argv) == 0 || argv[0] == "" {
		return CommandResult{}, errors.New("the command has no program: give argv as a list, e.g. [\"./deploy.sh\", \"--prod\"]")
	}
	if timeout <= 0 || timeout > MaxCommandTimeout {
		timeout = MaxCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=" + c.Path}, env...)
	cmd.Stdin = bytes.NewReader(stdin)
	out := &tail{max: MaxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	isolate(cmd) // its own process group, killed as a whole
	cmd.WaitDelay = killGrace
	if err := cmd.Run(); cmd.ProcessState == nil {
		return CommandResult{}, fmt.Errorf("start %s: %w", argv[0], err)
	}
	return CommandResult{ExitCode: cmd.ProcessState.ExitCode(), TimedOut: ctx.Err() != nil, Output: c.mask(out.String())}, nil
}

// githubToken matches GitHub's token formats (installation, user, OAuth,
// refresh and personal tokens).
var githubToken = regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{20,}\b|\bgithub_pat_[A-Za-z0-9_]{20,}\b`)

func (c Command) mask(s string) string {
	for _, secret := range c.Secrets {
		if len(secret) >= 6 {
			s = strings.ReplaceAll(s, secret, "***")
		}
	}
	return githubToken.ReplaceAllString(s, "***")
}

// tail keeps the last max bytes written to it.
type tail struct {
	max       int
	buf       []byte
	truncated bool
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return n, nil
}

func (t *tail) String() string {
	if t.truncated {
		return "…" + string(t.buf)
	}
	return string(t.buf)
}
