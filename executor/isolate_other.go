//go:build !unix

package executor

import "os/exec"

// isolate is a no-op where process groups are not available: a timeout
// kills the command itself.
func isolate(*exec.Cmd) {}
