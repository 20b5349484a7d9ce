package githubsim

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// fileChange is one file of a tree diff.
type fileChange struct {
	Filename, Previous string
	Status             string // added, modified, removed, renamed
	Additions          int
	Deletions          int
	SHA                string // blob SHA (of the old blob for removed files)
}

// treeDiff compares two trees (path -> content) like git: a removed and an
// added file with the same content are a rename.
func treeDiff(from, to map[string]string) []fileChange {
	var out []fileChange
	var added, removed []string
	for _, p := range sortedKeys(to) {
		old, ok := from[p]
		switch {
		case !ok:
			added = append(added, p)
		case old != to[p]:
			a, d := lineDiff(old, to[p])
			out = append(out, fileChange{Filename: p, Status: "modified", Additions: a, Deletions: d, SHA: gitSHA("blob", to[p])})
		}
	}
	for _, p := range sortedKeys(from) {
		if _, ok := to[p]; !ok {
			removed = append(removed, p)
		}
	}
	renamedFrom := map[string]bool{}
	for _, p := range added {
		fc := fileChange{Filename: p, Status: "added", Additions: len(splitLines(to[p])), SHA: gitSHA("blob", to[p])}
		for _, q := range removed {
			if !renamedFrom[q] && from[q] == to[p] {
				renamedFrom[q] = true
				fc.Status, fc.Previous, fc.Additions = "renamed", q, 0
				break
			}
		}
		out = append(out, fc)
	}
	for _, q := range removed {
		if !renamedFrom[q] {
			out = append(out, fileChange{Filename: q, Status: "removed", Deletions: len(splitLines(from[q])), SHA: gitSHA("blob", from[q])})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lineDiff counts added and deleted lines between two texts (a longest
// common subsequence of lines; large files fall back to a coarse count).
func lineDiff(a, b string) (additions, deletions int) {
	x, y := splitLines(a), splitLines(b)
	for len(x) > 0 && len(y) > 0 && x[0] == y[0] {
		x, y = x[1:], y[1:]
	}
	for len(x) > 0 && len(y) > 0 && x[len(x)-1] == y[len(y)-1] {
		x, y = x[:len(x)-1], y[:len(y)-1]
	}
	if len(x)*len(y) > 4_000_000 {
		return len(y), len(x)
	}
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			switch {
			case x[i-1] == y[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	common := prev[len(y)]
	return len(y) - common, len(x) - common
}

// ancestorsLocked returns sha and every commit reachable from it.
func (s *Sim) ancestorsLocked(sha string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c] || s.commits[c] == nil {
			continue
		}
		seen[c] = true
		stack = append(stack, s.commits[c].Parents...)
	}
	return seen
}

// comparison is the result of comparing base with head.
type comparison struct {
	Status          string // ahead, behind, identical, diverged
	Ahead, Behind   int
	Commits         []*commit // in head, not in base; oldest first
	MergeBase       string
	Files           []fileChange // merge base -> head
	NoCommonHistory bool
}

func (s *Sim) compareLocked(base, head string) comparison {
	ab, ah := s.ancestorsLocked(base), s.ancestorsLocked(head)
	var cmp comparison
	for sha := range ah {
		if ab[sha] {
			if cmp.MergeBase == "" || s.commits[sha].Seq > s.commits[cmp.MergeBase].Seq {
				cmp.MergeBase = sha
			}
		} else {
			cmp.Commits = append(cmp.Commits, s.commits[sha])
		}
	}
	for sha := range ab {
		if !ah[sha] {
			cmp.Behind++
		}
	}
	sort.Slice(cmp.Commits, func(i, j int) bool { return cmp.Commits[i].Seq < cmp.Commits[j].Seq })
	cmp.Ahead = len(cmp.Commits)
	switch {
	case cmp.Ahead == 0 && cmp.Behind == 0:
		cmp.Status = "identical"
	case cmp.Behind == 0:
		cmp.Status = "ahead"
	case cmp.Ahead == 0:
		cmp.Status = "behind"
	default:
		cmp.Status = "diverged"
	}
	if cmp.MergeBase == "" {
		cmp.NoCommonHistory = true
		return cmp
	}
	cmp.Files = treeDiff(s.commits[cmp.MergeBase].Tree, s.commits[head].Tree)
	return cmp
}

// resolveCompareSide resolves one side of base...head: "ref",
// "owner:ref" or "owner:repo:ref" (a fork in the same network).
func (c *call) resolveCompareSide(side string) (string, bool) {
	r := c.repo
	parts := strings.SplitN(side, ":", 3)
	switch len(parts) {
	case 2:
		r = c.s.repos[strings.ToLower(parts[0]+"/"+c.repo.Name)]
		side = parts[1]
	case 3:
		r = c.s.repos[strings.ToLower(parts[0]+"/"+parts[1])]
		side = parts[2]
	}
	if r == nil {
		return "", false
	}
	sha, _ := r.resolveLocked(side)
	return sha, sha != ""
}

// GitHub caps a comparison at 250 commits when it is not paginated, and its
// list of files at 300 for the whole comparison.
const compareMaxCommits, compareMaxFiles = 250, 300

func handleCompare(c *call) (int, any) {
	bh := c.params["basehead"]
	baseRef, headRef, ok := strings.Cut(bh, "...")
	if !ok {
		baseRef, headRef, ok = strings.Cut(bh, "..")
	}
	if !ok || baseRef == "" || headRef == "" {
		return notFound()
	}
	base, okB := c.resolveCompareSide(baseRef)
	head, okH := c.resolveCompareSide(headRef)
	if !okB || !okH {
		return notFound()
	}
	s, r := c.s, c.repo
	cmp := s.compareLocked(base, head)
	if cmp.NoCommonHistory {
		return apiError(http.StatusNotFound, "No common ancestor between "+baseRef+" and "+headRef+".")
	}
	commits, files := cmp.Commits, cmp.Files
	if len(files) > compareMaxFiles {
		files = files[:compareMaxFiles]
	}
	if c.q.Has("per_page") || c.q.Has("page") {
		// deploybot reads the files page by page: both lists are paged
		// with the same per_page/page, and Link covers the longer one.
		lo, hi := c.paginate(max(len(commits), len(files)))
		commits = commits[min(lo, len(commits)):min(hi, len(commits))]
		files = files[min(lo, len(files)):min(hi, len(files))]
	} else if len(commits) > compareMaxCommits {
		commits = commits[len(commits)-compareMaxCommits:]
	}
	cl := []any{}
	for _, cm := range commits {
		j := s.commitJSON(r, cm)
		delete(j, "files")
		delete(j, "stats")
		cl = append(cl, j)
	}
	fl := []any{}
	for _, f := range files {
		fl = append(fl, s.fileChangeJSON(r, head, f))
	}
	short := func(sha string) string { return sha[:7] }
	return http.StatusOK, map[string]any{
		"url":           s.api("repos", r.Owner, r.Name, "compare", url.PathEscape(bh)),
		"html_url":      s.web(r.Owner, r.Name, "compare", bh),
		"permalink_url": s.web(r.Owner, r.Name, "compare", r.Owner+":"+short(base)+"..."+r.Owner+":"+short(head)),
		"diff_url":      s.web(r.Owner, r.Name, "compare", bh+".diff"),
		"patch_url":     s.web(r.Owner, r.Name, "compare", bh+".patch"),
		"base_commit":   s.commitJSON(r, s.commits[base]), "merge_base_commit": s.commitJSON(r, s.commits[cmp.MergeBase]),
		"status": cmp.Status, "ahead_by": cmp.Ahead, "behind_by": cmp.Behind, "total_commits": cmp.Ahead,
		"commits": cl, "files": fl,
	}
}

func (s *Sim) fileChangeJSON(r *Repo, ref string, f fileChange) map[string]any {
	m := map[string]any{
		"sha": f.SHA, "filename": f.Filename, "status": f.Status,
		"additions": f.Additions, "deletions": f.Deletions, "changes": f.Additions + f.Deletions,
		"blob_url":     s.web(r.Owner, r.Name, "blob", ref, f.Filename),
		"raw_url":      s.web(r.Owner, r.Name, "raw", ref, f.Filename),
		"contents_url": s.api("repos", r.Owner, r.Name, "contents", f.Filename) + "?ref=" + ref,
	}
	if f.Previous != "" {
		m["previous_filename"] = f.Previous
	}
	return m
}
