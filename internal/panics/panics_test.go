package panics

import (
	"errors"
	"runtime/debug"
	"strings"
	"testing"
)

type secretHolder struct{ token string }

func crash(s secretHolder) { panic(errors.New("fetched " + s.token)) }

func TestPanicReportsCarryNoValues(t *testing.T) {
	const secret = "SECRET-in-panic-1234"
	var desc, frames string
	func() {
		defer func() {
			p := recover()
			desc, frames = Describe(p), Frames(debug.Stack())
		}()
		crash(secretHolder{token: secret})
	}()
	if strings.Contains(desc, secret) || desc != "panic(*errors.errorString)" {
		t.Errorf("Describe = %q", desc)
	}
	if strings.Contains(frames, secret) || strings.Contains(frames, "0x") || strings.Contains(frames, "goroutine") {
		t.Errorf("Frames kept values:\n%s", frames)
	}
	if !strings.Contains(frames, "panics.crash") || !strings.Contains(frames, "panics_test.go:") {
		t.Errorf("Frames lost the crash site:\n%s", frames)
	}
	func() {
		defer func() { desc = Describe(recover()) }()
		var s []int
		_ = s[3]
	}()
	if !strings.Contains(desc, "index out of range") {
		t.Errorf("runtime error described as %q", desc)
	}
}
