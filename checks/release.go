package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/deploybot/deploybot/config"
)

// ReleaseGate is the release policy of release-triggered deployments: the
// tag matches the configured pattern, the notes say something, and the
// release targets the default branch. It makes no requests.
type ReleaseGate struct{ Config *config.ReleaseGate }

func (ReleaseGate) Name() string { return "release" }

func (g ReleaseGate) Evaluate(_ context.Context, in Input) (Result, error) {
	r := Result{Gate: g.Name()}
	rel := in.Release
	if rel == nil || in.Trigger != "release" {
		r.Verdict, r.Reason = Skip, "not a release deployment"
		return r, nil
	}
	var problems, fixes []string
	if !g.Config.MatchTag(rel.Tag) {
		pat := anchoredPattern(g.Config.TagPattern)
		problems = append(problems, fmt.Sprintf("tag %s does not match %s", rel.Tag, pat))
		fixes = append(fixes, fmt.Sprintf("Publish the release under a tag matching `%s` (or change gates.release.tag_pattern in .github/deploy.yml).", pat))
	}
	if strings.TrimSpace(rel.Body) == "" {
		problems = append(problems, "release notes are empty")
		fixes = append(fixes, "Edit the release and describe the change.")
	}
	// Only a branch name can be checked without a request: a commit SHA
	// target is not accepted, since whether it is on the default branch
	// is not known here.
	target := strings.TrimPrefix(rel.TargetCommitish, "refs/heads/")
	if target != in.DefaultBranch {
		problems = append(problems, fmt.Sprintf("release targets %s, not the default branch %s", orNothing(rel.TargetCommitish), in.DefaultBranch))
		fixes = append(fixes, fmt.Sprintf("Create releases from the default branch `%s` (its target must be the branch `%s` itself; a commit SHA is not accepted).", in.DefaultBranch, in.DefaultBranch))
	}
	link := "release " + rel.Tag
	if rel.HTMLURL != "" {
		link = mdLinkTo(link, rel.HTMLURL)
	}
	if len(problems) == 0 {
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("release %s follows the release policy", rel.Tag)
		r.Detail = fmt.Sprintf("%s: tag matches, notes present, targets `%s`.", link, in.DefaultBranch)
		return r, nil
	}
	r.Verdict = Block
	r.Reason = strings.Join(problems, "; ")
	if len(problems) == 1 {
		// One problem: say what to do in the title too.
		r.Reason += "; " + strings.ToLower(fixes[0][:1]) + strings.TrimSuffix(fixes[0][1:], ".")
	}
	var d strings.Builder
	fmt.Fprintf(&d, "%s does not follow the release policy:\n\n", link)
	for _, f := range fixes {
		fmt.Fprintf(&d, "- %s\n", f)
	}
	r.Detail = d.String()
	return r, nil
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// anchoredPattern shows a tag pattern as it is applied: to the whole tag.
func anchoredPattern(p string) string {
	if !strings.HasPrefix(p, "^") {
		p = "^" + p
	}
	if !strings.HasSuffix(p, "$") {
		p += "$"
	}
	return p
}

func mdLinkTo(text, url string) string { return "[" + text + "](" + url + ")" }
