package deploy

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzParseCommand: any comment body parses without panicking; a parsed
// command holds only what its grammar allows (environment names, refs
// without shell metacharacters, a markup-free reason); an error is one short
// line whose user text cannot leave its code span.
// Seeds: testdata/fuzz/FuzzParseCommand (crashers found are kept there).
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"/deploy", "/deploy staging", "/deploy staging,qa,production main --dry-run", "/deploy prod v1.2.0 --strategy=canary",
		"/deploy help", "/rollback prod v1.2.0 --force", "/lock staging release freeze --for 2h", "/unlock staging",
		"/environments", "/deploy staging $(rm${IFS}-rf)", "/deploy a`@org/team`", "/lock staging <!-- x --> `rm` a|b",
		"/deploy " + strings.Repeat("x", 5000), "/deploy staging\n/rollback", "lgtm",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, err := ParseCommand(body)
		again, err2 := ParseCommand(body)
		if !reflect.DeepEqual(cmd, again) || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %+v %v / %+v %v", cmd, err, again, err2)
		}
		switch {
		case errors.Is(err, ErrNotACommand):
			if !reflect.DeepEqual(cmd, Command{}) {
				t.Fatalf("not a command, yet %+v", cmd)
			}
		case err != nil:
			checkCommandError(t, err.Error())
		default:
			checkCommand(t, cmd)
		}
	})
}

func checkCommandError(t *testing.T, msg string) {
	t.Helper()
	if len(msg) > 400 {
		t.Fatalf("error of %d bytes: %.100q…", len(msg), msg)
	}
	if strings.Count(msg, "`")%2 != 0 {
		t.Fatalf("user text leaves its code span: %q", msg)
	}
	if strings.ContainsFunc(msg, unicode.IsControl) || !utf8.ValidString(msg) {
		t.Fatalf("control characters or invalid UTF-8 in %q", msg)
	}
}

func checkCommand(t *testing.T, c Command) {
	t.Helper()
	if !slices.Contains([]string{CmdDeploy, CmdHelp, CmdRollback, CmdLock, CmdUnlock, CmdEnvironments}, c.Name) {
		t.Fatalf("unknown command %+v", c)
	}
	for _, env := range append([]string{c.Env}, c.Then...) {
		if env != "" && !envArgRE.MatchString(env) {
			t.Fatalf("environment %q in %+v", env, c)
		}
	}
	if len(c.Then) > 0 && (c.Env == "" || len(c.Then)+1 > maxChain) {
		t.Fatalf("chain %+v", c)
	}
	if c.Ref != "" && (!validRef(c.Ref) || strings.ContainsAny(c.Ref, " \t\n;|&$`<>()'\"\\*?!{}[]~^:@")) {
		t.Fatalf("ref %q in %+v", c.Ref, c)
	}
	if !slices.Contains([]string{"", "direct", "blue-green", "canary", "rolling"}, c.Strategy) {
		t.Fatalf("strategy %q", c.Strategy)
	}
	if strings.ContainsAny(c.Reason, "<>`|\n\r") || utf8.RuneCountInString(c.Reason) > 200 {
		t.Fatalf("reason %q", c.Reason)
	}
	if c.For != 0 && (c.For < time.Minute || c.For > maxLockFor) {
		t.Fatalf("lock for %s", c.For)
	}
}
