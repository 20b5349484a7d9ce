package deploy

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Command names.
const (
	CmdDeploy       = "deploy"
	CmdHelp         = "help"
	CmdRollback     = "rollback"
	CmdLock         = "lock"
	CmdUnlock       = "unlock"
	CmdEnvironments = "environments"
	CmdPromote      = ActionPromote
	CmdAbort        = ActionAbort
)

// Command is a parsed command comment (DESIGN.md §4).
type Command struct {
	Name string // deploy | help | rollback | lock | unlock | environments
	Env  string // as typed; "" means the default environment (deploy, rollback)
	// Then lists further environments of `/deploy staging,qa`, as typed,
	// deployed in order after Env succeeded.
	Then     []string
	Ref      string // deploy: ref or SHA; rollback: SHA or tag ("" means the previous good one)
	DryRun   bool
	Strategy string
	Force    bool          // rollback: an admin's --force outside the rollback window
	Reason   string        // lock: free text
	For      time.Duration // lock: how long (0: until /unlock)
}

// Grammar of each command, quoted in errors and help.
const (
	grammarDeploy       = "`/deploy [<env>[,<env>…]] [<ref|sha>] [--dry-run] [--strategy <name>]`"
	grammarRollback     = "`/rollback [<env>] [<sha|tag>] [--force]`"
	grammarLock         = "`/lock <env> [reason…] [--for <duration>]`"
	grammarUnlock       = "`/unlock <env>`"
	grammarEnvironments = "`/environments`"
	grammarHelp         = "`/deploy help`"
	grammarPromote      = "`/promote [<env>]`"
	grammarAbort        = "`/abort [<env>]`"
)

// maxLockFor bounds `/lock --for`; longer freezes are renewed explicitly.
const maxLockFor = 90 * 24 * time.Hour

// maxChain bounds the environments of one `/deploy a,b,…`.
const maxChain = 10

var envArgRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ErrNotACommand means the comment is not addressed to deploybot.
var ErrNotACommand = fmt.Errorf("not a command")

// ParseCommand reads the first line of a comment. It returns ErrNotACommand
// when the line does not start with one of deploybot's commands, and a
// user-facing error (quoting the grammar) for a malformed command. Nothing
// parsed here ever reaches a shell: values travel only to GitHub's API and
// the store.
func ParseCommand(body string) (Command, error) {
	line := strings.TrimSpace(body)
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return Command{}, ErrNotACommand
	}
	switch fields[0] {
	case "/deploy":
		return parseDeploy(fields[1:])
	case "/rollback":
		return parseRollback(fields[1:])
	case "/lock":
		return parseLock(fields[1:])
	case "/unlock":
		pos, err := positionals(fields[1:], grammarUnlock, nil)
		if err != nil {
			return Command{}, err
		}
		if len(pos) != 1 {
			return Command{}, fmt.Errorf("name one environment: %s", grammarUnlock)
		}
		return Command{Name: CmdUnlock, Env: pos[0]}, checkEnvArg(pos[0], grammarUnlock)
	case "/promote", "/abort":
		name, grammar := CmdPromote, grammarPromote
		if fields[0] == "/abort" {
			name, grammar = CmdAbort, grammarAbort
		}
		pos, err := positionals(fields[1:], grammar, nil)
		if err != nil {
			return Command{}, err
		}
		switch len(pos) {
		case 0:
			return Command{Name: name}, nil
		case 1:
			return Command{Name: name, Env: pos[0]}, checkEnvArg(pos[0], grammar)
		}
		return Command{}, fmt.Errorf("name at most one environment: %s", grammar)
	case "/environments":
		if len(fields) > 1 {
			return Command{}, fmt.Errorf("`/environments` takes no arguments: %s", grammarEnvironments)
		}
		return Command{Name: CmdEnvironments}, nil
	}
	return Command{}, ErrNotACommand
}

// flagFunc handles a flag of a command; it returns how many following
// fields it consumed, or an error. A nil flagFunc means "unknown flag".
type flagFunc func(name, value string, hasValue bool, rest []string) (int, error)

// positionals splits fields into positional arguments and flags, which it
// hands to flag. `--name=value` and `--name value` are both accepted.
func positionals(fields []string, grammar string, flag flagFunc) ([]string, error) {
	var pos []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if !isFlag(f) {
			pos = append(pos, f)
			continue
		}
		name, value, hasValue := strings.Cut(f, "=")
		n := -1
		var err error
		if flag != nil {
			n, err = flag(name, value, hasValue, fields[i+1:])
		}
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, fmt.Errorf("unknown flag %s: %s", codeSpan(f), grammar)
		}
		i += n
	}
	return pos, nil
}

// isFlag reports whether a field is written as a flag (`--x`, `-x`); a
// lone dash is text (`/lock staging - freeze`).
func isFlag(f string) bool { return len(f) > 1 && f[0] == '-' }

// flagValue returns a flag's value from `--x=v` or the next field.
func flagValue(name, value string, hasValue bool, rest []string, what string) (string, int, error) {
	if hasValue {
		if value == "" {
			return "", 0, fmt.Errorf("%s needs %s", codeSpan(name), what)
		}
		return value, 0, nil
	}
	if len(rest) == 0 || isFlag(rest[0]) {
		return "", 0, fmt.Errorf("%s needs %s", codeSpan(name), what)
	}
	return rest[0], 1, nil
}

func parseDeploy(args []string) (Command, error) {
	cmd := Command{Name: CmdDeploy}
	pos, err := positionals(args, grammarDeploy, func(name, value string, hasValue bool, rest []string) (int, error) {
		switch name {
		case "--dry-run":
			if hasValue {
				return 0, fmt.Errorf("`--dry-run` takes no value: %s", grammarDeploy)
			}
			cmd.DryRun = true
			return 0, nil
		case "--strategy":
			v, n, err := flagValue(name, value, hasValue, rest, "a name: direct, blue-green, canary or rolling")
			if err != nil {
				return 0, err
			}
			switch v {
			case "direct", "blue-green", "canary", "rolling":
				cmd.Strategy = v
				return n, nil
			}
			return 0, fmt.Errorf("unknown strategy %s: use direct, blue-green, canary or rolling", codeSpan(v))
		}
		return -1, nil
	})
	if err != nil {
		return Command{}, err
	}
	if len(pos) == 1 && pos[0] == "help" {
		if cmd.DryRun || cmd.Strategy != "" {
			return Command{}, fmt.Errorf("%s takes no flags", grammarHelp)
		}
		return Command{Name: CmdHelp}, nil
	}
	if len(pos) > 2 {
		return Command{}, fmt.Errorf("too many arguments: %s", grammarDeploy)
	}
	if len(pos) > 0 {
		envs, err := parseEnvList(pos[0])
		if err != nil {
			return Command{}, err
		}
		cmd.Env = envs[0]
		if len(envs) > 1 {
			cmd.Then = envs[1:]
		}
	}
	if len(cmd.Then) > 0 && cmd.DryRun {
		return Command{}, fmt.Errorf("`--dry-run` takes one environment: `/deploy %s --dry-run`", cmd.Env)
	}
	if len(pos) > 1 {
		if cmd.Ref = pos[1]; !validRef(cmd.Ref) {
			return Command{}, fmt.Errorf("%s is not a valid ref or SHA: %s", codeSpan(cmd.Ref), grammarDeploy)
		}
	}
	return cmd, nil
}

func parseRollback(args []string) (Command, error) {
	cmd := Command{Name: CmdRollback}
	pos, err := positionals(args, grammarRollback, func(name, _ string, hasValue bool, _ []string) (int, error) {
		if name == "--force" && !hasValue {
			cmd.Force = true
			return 0, nil
		}
		return -1, nil
	})
	if err != nil {
		return Command{}, err
	}
	if len(pos) > 2 {
		return Command{}, fmt.Errorf("too many arguments: %s", grammarRollback)
	}
	if len(pos) > 0 {
		if cmd.Env = pos[0]; strings.Contains(cmd.Env, ",") {
			return Command{}, fmt.Errorf("roll back one environment at a time: %s", grammarRollback)
		}
		if err := checkEnvArg(cmd.Env, grammarRollback); err != nil {
			return Command{}, err
		}
	}
	if len(pos) > 1 {
		if cmd.Ref = pos[1]; !validRef(cmd.Ref) {
			return Command{}, fmt.Errorf("%s is not a valid SHA or tag: %s", codeSpan(cmd.Ref), grammarRollback)
		}
	}
	return cmd, nil
}

// codeSpan quotes text a user typed for a reply: in one Markdown code span
// it cannot leave (backticks and control characters dropped), at most 40
// characters, so a reply never carries a mention, a link or a wall of text.
func codeSpan(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '`' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	if strings.TrimSpace(s) == "" {
		s = "…"
	}
	return "`" + s + "`"
}

// validRef accepts what git accepts in a ref name, conservatively; the value
// only ever travels to GitHub's API as a path segment, never to a shell.
func validRef(s string) bool {
	if s == "" || len(s) > 200 || strings.Contains(s, "..") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || r == '.' || r == '/' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}
