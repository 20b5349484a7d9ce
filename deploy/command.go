package deploy

import (
	"fmt"
	"strings"
)

// Command is a parsed `/deploy` comment (DESIGN.md §4).
type Command struct {
	Name     string // deploy | help
	Env      string // as typed; "" means the default environment
	Ref      string // optional ref or SHA; "" means the PR head (or default branch)
	DryRun   bool
	Strategy string
}

// ErrNotACommand means the comment is not addressed to deploybot.
var ErrNotACommand = fmt.Errorf("not a command")

// ParseCommand reads the first line of a comment. It returns ErrNotACommand
// when the comment does not start with /deploy, and a user-facing error for
// a malformed command.
func ParseCommand(body string) (Command, error) {
	line := strings.TrimSpace(body)
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "/deploy" {
		return Command{}, ErrNotACommand
	}
	cmd := Command{Name: "deploy"}
	var positional []string
	for i := 1; i < len(fields); i++ {
		f := fields[i]
		switch {
		case f == "--dry-run":
			cmd.DryRun = true
		case f == "--strategy" || strings.HasPrefix(f, "--strategy="):
			v, ok := strings.CutPrefix(f, "--strategy=")
			if !ok {
				if i+1 >= len(fields) {
					return cmd, fmt.Errorf("`--strategy` needs a name: direct, blue-green, canary or rolling")
				}
				i++
				v = fields[i]
			}
			switch v {
			case "direct", "blue-green", "canary", "rolling":
				cmd.Strategy = v
			default:
				return cmd, fmt.Errorf("unknown strategy `%s`: use direct, blue-green, canary or rolling", v)
			}
		case strings.HasPrefix(f, "-"):
			return cmd, fmt.Errorf("unknown flag `%s`: `/deploy [<env>] [<ref|sha>] [--dry-run] [--strategy <name>]`", f)
		default:
			positional = append(positional, f)
		}
	}
	if len(positional) == 1 && positional[0] == "help" {
		return Command{Name: "help"}, nil
	}
	if len(positional) > 2 {
		return cmd, fmt.Errorf("too many arguments: `/deploy [<env>] [<ref|sha>] [--dry-run] [--strategy <name>]`")
	}
	if len(positional) > 0 {
		cmd.Env = positional[0]
	}
	if len(positional) > 1 {
		cmd.Ref = positional[1]
		if !validRef(cmd.Ref) {
			return cmd, fmt.Errorf("`%s` is not a valid ref or SHA", cmd.Ref)
		}
	}
	return cmd, nil
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

const helpText = "**deploybot commands**\n\n" +
	"- `/deploy [<env>] [<ref|sha>] [--dry-run] [--strategy <name>]` — deploy this PR's head (or a ref) to an environment (the default one if omitted)\n" +
	"- `/deploy help` — this message\n\n" +
	"Environments and who may deploy to them are configured in `.github/deploy.yml` on the default branch."
