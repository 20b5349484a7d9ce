package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// Migrations guards deploys that change database migrations: when files
// matching Config.Paths changed between the live SHA and the SHA being
// deployed, Config.RequireChecks must have passed on the SHA, and the
// Config.Backup hook is handed to the pipeline (Result.Backup) to run right
// before deploying.
type Migrations struct{ Config *config.MigrationsGate }

func (Migrations) Name() string { return "migrations" }

const (
	// migrationsWait is how long pending required checks are waited for.
	migrationsWait = 30 * time.Minute
	// compareFilesCap is the most files GitHub lists for a comparison
	// ("up to 300 changed files for the entire comparison"); a list that
	// reaches it may be truncated.
	compareFilesCap = 300
	// migrationFilesListed bounds the files named in the detail.
	migrationFilesListed = 50
)

func (g Migrations) Evaluate(ctx context.Context, in Input) (Result, error) {
	r := Result{Gate: g.Name()}
	if g.Config == nil {
		r.Verdict, r.Reason = Skip, "migrations gate not configured"
		return r, nil
	}
	env := in.Environment.Name
	var (
		files []string // changed migration files
		why   string   // why migrations count as changed without a file list
		notes []string
	)
	switch {
	case in.LiveSHA == "":
		why = fmt.Sprintf("nothing live in %s to compare with", env)
	case in.LiveSHA == in.SHA:
		r.Verdict, r.Reason = Pass, fmt.Sprintf("no change: %s is already live in %s", short(in.SHA), env)
		return r, nil
	default:
		cmp, err := g.compare(ctx, in, in.LiveSHA, in.SHA)
		if err != nil {
			return Result{}, err
		}
		if cmp.missing {
			why = fmt.Sprintf("cannot compare with the live commit %s (GitHub does not know it any more)", short(in.LiveSHA))
			break
		}
		files = cmp.matched
		if cmp.status == "behind" || cmp.status == "diverged" {
			// Going back: migrations the live commit has and this one lacks
			// matter as much (the schema stays ahead of the code).
			back, err := g.compare(ctx, in, in.SHA, in.LiveSHA)
			if err != nil {
				return Result{}, err
			}
			files = appendUnique(files, back.matched...)
			cmp.capped = cmp.capped || back.capped
			notes = append(notes, fmt.Sprintf("%s is %s the live commit %s; files changed on either side count.", short(in.SHA), cmp.status, short(in.LiveSHA)))
		}
		if cmp.capped {
			why = "the comparison reached GitHub's file limit"
			notes = append(notes, fmt.Sprintf("GitHub lists at most %d changed files of a comparison; %s...%s reached that limit, so changed migrations may be missing from the list and the gate assumes they changed.", compareFilesCap, short(in.LiveSHA), short(in.SHA)))
		}
	}
	if why == "" && len(files) == 0 {
		r.Verdict, r.Reason = Pass, fmt.Sprintf("no migration changes since %s (live in %s)", short(in.LiveSHA), env)
		r.Detail = fmt.Sprintf("No file matching %s changed between %s and %s.", backticked(g.Config.Paths), short(in.LiveSHA), short(in.SHA))
		return r, nil
	}

	// Migrations changed (or may have): say what and why.
	var what string
	switch {
	case why != "" && len(files) == 0:
		what = why + "; treating migrations as changed"
	case why != "":
		what = fmt.Sprintf("%s changed and %s; treating migrations as changed", countOf(len(files), "migration file"), why)
	default:
		what = countOf(len(files), "migration file") + " changed"
	}
	var d strings.Builder
	fmt.Fprintf(&d, "Migration paths: %s.\n\n", backticked(g.Config.Paths))
	if why != "" {
		fmt.Fprintf(&d, "Migrations are treated as changed: %s.\n\n", why)
	}
	for _, n := range notes {
		d.WriteString(n + "\n\n")
	}
	if len(files) > 0 {
		fmt.Fprintf(&d, "Changed migration files between %s (live) and %s:\n", short(in.LiveSHA), short(in.SHA))
		for i, f := range files {
			if i == migrationFilesListed {
				fmt.Fprintf(&d, "- … and %d more\n", len(files)-migrationFilesListed)
				break
			}
			fmt.Fprintf(&d, "- `%s`\n", f)
		}
		d.WriteString("\n")
	}
	// subject names the change in one-line reasons.
	subject := "migrations changed"
	if len(files) > 0 {
		subject = fmt.Sprintf("migrations changed (%s)", files[0])
		if len(files) > 1 {
			subject = fmt.Sprintf("migrations changed (%s and %d more)", files[0], len(files)-1)
		}
	} else if why != "" {
		subject = "migrations may have changed (" + why + ")"
	}

	if len(g.Config.RequireChecks) > 0 {
		states, err := in.CheckStates(ctx)
		if err != nil {
			return Result{}, err
		}
		var pending, failed []string
		for _, name := range g.Config.RequireChecks {
			switch st := migrationCheckState(states, name); st {
			case "success":
				fmt.Fprintf(&d, "- ✅ check `%s` passed\n", name)
			case "pending":
				pending = append(pending, name)
				fmt.Fprintf(&d, "- ⏳ check `%s` is still running\n", name)
			default:
				failed = append(failed, name)
				fmt.Fprintf(&d, "- ⛔ check `%s` %s\n", name, st)
			}
		}
		d.WriteString("\n")
		if len(failed) > 0 {
			r.Verdict = Block
			r.Reason = fmt.Sprintf("%s but %s did not pass", subject, namedChecks(failed))
			fmt.Fprintf(&d, "Make %s pass on %s (fix the migration or re-run the check), then deploy again.", namedChecks(failed), short(in.SHA))
			r.Detail = d.String()
			return r, nil
		}
		if len(pending) > 0 {
			now := in.Now
			if now.IsZero() {
				now = time.Now()
			}
			since := in.WaitingSince
			if since.IsZero() {
				since = now
			}
			r.Deadline = since.Add(migrationsWait)
			if !now.Before(r.Deadline) {
				r.Verdict = Block
				r.Reason = fmt.Sprintf("%s but %s still had not finished after %s", subject, namedChecks(pending), migrationsWait)
				fmt.Fprintf(&d, "Re-run %s on %s, then deploy again.", namedChecks(pending), short(in.SHA))
				r.Deadline = time.Time{}
				r.Detail = d.String()
				return r, nil
			}
			r.Verdict, r.WaitingFor = Wait, pending
			r.Reason = fmt.Sprintf("%s; waiting for %s", subject, namedChecks(pending))
			fmt.Fprintf(&d, "Waiting until %s for %s; the deploy continues when it passes.", r.Deadline.UTC().Format("2006-01-02 15:04 MST"), namedChecks(pending))
			r.Detail = d.String()
			return r, nil
		}
	}

	r.Verdict = Pass
	if g.Config.Backup != nil {
		r.Backup = g.Config.Backup
		r.Reason = what + "; backup hook will run"
		fmt.Fprintf(&d, "The backup hook (%s) runs right before deploying.", g.Config.Backup.Kind())
	} else {
		r.Reason = what + "; no backup hook configured"
		d.WriteString("No backup hook is configured (`gates.migrations.backup`); back up the database yourself if the migration is not reversible.")
	}
	r.Detail = d.String()
	return r, nil
}

// migrationDiff is what one comparison found.
type migrationDiff struct {
	status  string   // ahead, behind, diverged, identical
	matched []string // changed files matching the migration paths
	capped  bool     // the file list may be truncated
	missing bool     // GitHub answered 404 (a commit is unknown)
}

// compare reads base...head page by page and keeps the files that match
// the migration paths (a renamed file counts under its old name too).
// GitHub may list all files on the first page or page them like the
// commits; reading stops at the first later page without files, or when
// the cap is reached.
func (g Migrations) compare(ctx context.Context, in Input, base, head string) (migrationDiff, error) {
	var c migrationDiff
	files, more, err := ReadPages(func(p PageRef) ([]*github.CommitFile, *github.Response, error) {
		res, resp, err := in.GitHub.Repositories.CompareCommits(ctx, in.Owner, in.Name, base, head, &github.ListOptions{PerPage: 100, Page: p.Number})
		switch {
		case err != nil:
			return nil, nil, err
		case p.Number <= 1:
			c.status = res.GetStatus()
		case len(res.Files) == 0:
			return nil, nil, nil // a later page without files: the list ended
		}
		return res.Files, resp, nil
	})
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			c.missing = true
			return c, nil
		}
		return c, fmt.Errorf("compare %s...%s: %w", short(base), short(head), err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		for _, name := range []string{f.GetFilename(), f.GetPreviousFilename()} {
			if name != "" && !seen[name] && matchMigrationPaths(g.Config.Paths, name) {
				seen[name] = true
				c.matched = append(c.matched, name)
			}
		}
	}
	c.capped = more || len(files) >= compareFilesCap
	return c, nil
}

// migrationCheckState folds the check runs and statuses named name into
// "success", "pending", or a phrase saying what went wrong.
func migrationCheckState(states []CheckState, name string) string {
	found, pending := false, false
	bad := ""
	for _, s := range states {
		if s.Name != name {
			continue
		}
		found = true
		switch {
		case s.Pending():
			pending = true
		case s.Conclusion != "success":
			bad = "concluded " + conclusionText(s.Conclusion)
		}
	}
	switch {
	case !found:
		return "did not run on this commit"
	case bad != "":
		return bad
	case pending:
		return "pending"
	}
	return "success"
}

func conclusionText(s string) string {
	if s == "" {
		return "without a conclusion"
	}
	return s
}

// matchMigrationPaths reports whether name matches one of the patterns: path.Match
// globs where a "**" segment matches any number of directories, and a
// pattern without glob characters also matches everything under it.
func matchMigrationPaths(patterns []string, name string) bool {
	for _, p := range patterns {
		if matchMigrationGlob(strings.Trim(p, "/"), name) {
			return true
		}
	}
	return false
}

func matchMigrationGlob(pattern, name string) bool {
	if !strings.ContainsAny(pattern, `*?[\`) {
		return name == pattern || strings.HasPrefix(name, pattern+"/")
	}
	return matchGlobSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchGlobSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := range name {
				if matchGlobSegments(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

func appendUnique(list []string, more ...string) []string {
	for _, m := range more {
		found := false
		for _, l := range list {
			if l == m {
				found = true
				break
			}
		}
		if !found {
			list = append(list, m)
		}
	}
	return list
}

func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func namedChecks(names []string) string {
	if len(names) == 1 {
		return "check `" + names[0] + "`"
	}
	return "checks " + backticked(names)
}

func backticked(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, ", ")
}
