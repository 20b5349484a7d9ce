package pacer

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

type priorityKey struct{}

// WithPriority marks the writes made with ctx: it overrides what the
// transport reads from the request. Callers mark what the request does not
// show, such as a record comment edit being the final one.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom is the priority marked on ctx (Unclassified if none).
func PriorityFrom(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// IsWrite reports whether GitHub counts a request of this method against
// its secondary limit for content-creating requests.
func IsWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Classify gives a write its priority: the context's mark if any, else what
// its method, path and body reliably show.
//
//   - Final: POST …/deployments (the Deployment itself); a deployment status
//     whose state is success, failure, error or inactive; a check run created
//     or updated with a conclusion or status completed; a deployment
//     protection rule answer.
//   - Droppable: a reaction; a queued or in_progress deployment status.
//   - Normal: anything else.
func Classify(req *http.Request) Priority {
	if p := PriorityFrom(req.Context()); p != Unclassified {
		return p
	}
	seg := repoPath(req.URL.Path)
	n := len(seg)
	switch {
	case req.Method == http.MethodPost && n == 1 && seg[0] == "deployments":
		return Final
	case req.Method == http.MethodPost && n == 3 && seg[0] == "deployments" && seg[2] == "statuses":
		switch body(req).State {
		case "success", "failure", "error", "inactive":
			return Final
		case "queued", "in_progress":
			return Droppable
		}
	case (req.Method == http.MethodPost && n == 1 || req.Method == http.MethodPatch && n == 2) && seg[0] == "check-runs":
		if b := body(req); b.Conclusion != "" || b.Status == "completed" {
			return Final
		}
	case req.Method == http.MethodPost && n == 4 && seg[0] == "actions" && seg[1] == "runs" && seg[3] == "deployment_protection_rule":
		return Final
	case req.Method == http.MethodPost && n >= 1 && seg[n-1] == "reactions":
		return Droppable
	}
	return Normal
}

// repoPath is the part of a /repos/{owner}/{repo}/… path after the
// repository (the API may sit under a prefix, as on GitHub Enterprise).
func repoPath(p string) []string {
	seg := strings.Split(strings.Trim(p, "/"), "/")
	for i := len(seg) - 3; i >= 0; i-- {
		if seg[i] == "repos" {
			return seg[i+3:]
		}
	}
	return nil
}

type writeBody struct {
	State      string `json:"state"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
}

// body reads the fields classification needs from a copy of the request's
// body (GetBody), leaving the body itself to be sent. An unreadable body
// reads as empty: the write stays Normal.
func body(req *http.Request) writeBody {
	var b writeBody
	if req.GetBody == nil {
		return b
	}
	rc, err := req.GetBody()
	if err != nil {
		return b
	}
	defer rc.Close()
	_ = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&b)
	return b
}
