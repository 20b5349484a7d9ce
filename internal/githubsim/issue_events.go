package githubsim

import (
	"fmt"
	"hash/fnv"
	"net/url"
)

// Issues as users report them: opened with labels (an issue template
// applies them, whoever the author is) or labelled later, each sending the
// `issues` webhook GitHub sends (opened, labeled).

// ReportIssue opens an issue by author carrying labels, sends issues
// opened and returns its number.
func (r *Repo) ReportIssue(author, title string, labels ...string) int {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	is := r.newIssueLocked(author, title)
	is.Labels = append(is.Labels, labels...)
	r.s.enqueueLocked("issues", r, map[string]any{"action": "opened", "issue": r.s.issueJSON(r, is)}, author)
	r.s.notifyLocked()
	return is.Number
}

// LabelIssue adds label to issue number as login and sends issues labeled.
func (r *Repo) LabelIssue(number int, login, label string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	is := r.issues[number]
	if is == nil {
		panic(fmt.Sprintf("githubsim: %s has no issue #%d", r.FullName(), number))
	}
	is.Labels = append(is.Labels, label)
	r.s.enqueueLocked("issues", r, map[string]any{"action": "labeled", "issue": r.s.issueJSON(r, is),
		"label": r.s.labelJSON(r, label)}, login)
	r.s.notifyLocked()
}

func (s *Sim) labelsJSON(r *Repo, names []string) []any {
	out := []any{}
	for _, n := range names {
		out = append(out, s.labelJSON(r, n))
	}
	return out
}

// labelJSON is a label object as GitHub renders it (a stable id per name).
func (s *Sim) labelJSON(r *Repo, name string) map[string]any {
	h := fnv.New32a()
	h.Write([]byte(r.FullName() + "/" + name))
	id := int64(h.Sum32())
	return map[string]any{"id": id, "node_id": nodeID("LA_", id), "url": s.api("repos", r.Owner, r.Name, "labels", url.PathEscape(name)),
		"name": name, "color": "d73a4a", "default": false, "description": nil}
}
