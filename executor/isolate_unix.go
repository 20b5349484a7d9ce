//go:build unix

package executor

import (
	"os/exec"
	"syscall"
)

// isolate runs cmd in a process group of its own, so a timeout stops the
// whole tree (a deploy script's children too): SIGTERM first, SIGKILL
// after killGrace (exec.Cmd.WaitDelay).
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
}
