package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/store"
)

// The release archive: a "Deployments" section at the end of the release
// notes, one line per environment, kept in place and rewritten when that
// environment is deployed again or rolled back.
const (
	archiveStart = "<!-- deploybot:deployments -->"
	archiveEnd   = "<!-- /deploybot:deployments -->"
)

// archiveToRelease writes this deployment's line into the release notes of
// the release it deployed.
func (r *run) archiveToRelease(ctx context.Context) error {
	rel := r.rc.Release
	if rel == nil || r.d.Task == TaskDryRun || r.d.Task == TaskProtection {
		return nil
	}
	cur, _, err := r.gh.Repositories.GetRelease(ctx, r.owner, r.repo, rel.ID)
	if err != nil {
		if permanent(err) {
			r.log.Warn().Err(err).Msg("release is gone; record kept at log_url only")
			return nil
		}
		return fmt.Errorf("read release %s: %w", rel.Tag, err)
	}
	body := archiveLine(cur.GetBody(), r.d.Environment, r.archiveEntry())
	if body == cur.GetBody() {
		return nil // a retried finish: the line is there already
	}
	if _, _, err := r.gh.Repositories.EditRelease(ctx, r.owner, r.repo, rel.ID, &github.RepositoryRelease{Body: github.String(body)}); err != nil {
		if permanent(err) {
			r.log.Warn().Err(err).Msg("release notes could not be edited")
			return nil
		}
		return fmt.Errorf("append record to release %s: %w", rel.Tag, err)
	}
	return nil
}

func (r *run) archiveEntry() string {
	d := r.d
	when := d.FinishedAt.UTC().Format("2006-01-02 15:04 UTC")
	var what string
	switch {
	case d.State == store.StateSuccess && d.Task == TaskRollback:
		what = fmt.Sprintf("↩️ rolled back to `%s`", short(d.SHA))
	case d.State == store.StateSuccess:
		what = fmt.Sprintf("✅ `%s` live", short(d.SHA))
	default:
		what = fmt.Sprintf("❌ `%s` not deployed: %s", short(d.SHA), oneLine(d.Reason))
	}
	line := fmt.Sprintf("%s — requested by @%s, %s", what, d.RequestedBy, when)
	if u := r.svc.logURL(d.ID); u != "" {
		line += " ([record](" + u + "))"
	}
	return line
}

// archiveLine returns body with env's line in the Deployments section set
// to entry (the section is created at the end when missing; lines are
// sorted by environment).
func archiveLine(body, env, entry string) string {
	lines := map[string]string{}
	before, after := body, ""
	if i := strings.Index(body, archiveStart); i >= 0 {
		if j := strings.Index(body[i:], archiveEnd); j >= 0 {
			before, after = body[:i], body[i+j+len(archiveEnd):]
			for _, l := range strings.Split(body[i+len(archiveStart):i+j], "\n") {
				if name, rest, ok := strings.Cut(strings.TrimPrefix(l, "- **"), "**: "); ok && strings.HasPrefix(l, "- **") {
					lines[name] = rest
				}
			}
		}
	}
	lines[env] = entry
	names := make([]string, 0, len(lines))
	for n := range lines {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(strings.TrimRight(before, "\n"))
	if b.Len() > 0 {
		b.WriteString("\n\n")
	}
	b.WriteString(archiveStart + "\n### Deployments\n\n")
	for _, n := range names {
		fmt.Fprintf(&b, "- **%s**: %s\n", n, lines[n])
	}
	b.WriteString(archiveEnd)
	b.WriteString(after)
	return b.String()
}
