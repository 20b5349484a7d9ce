package githubsim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Comment is an issue or pull request comment.
type Comment struct {
	ID        int64
	Repo      string
	Issue     int
	User      string
	Body      string
	ViaApp    bool // created with an installation token
	CreatedAt time.Time
	UpdatedAt time.Time
	Edits     int
}

// Reaction is a reaction to an issue comment.
type Reaction struct {
	ID        int64
	CommentID int64
	User      string
	Content   string
	CreatedAt time.Time
}

func (s *Sim) commentJSON(r *Repo, c *Comment) map[string]any {
	api := s.api("repos", r.Owner, r.Name, "issues", "comments", strconv.FormatInt(c.ID, 10))
	kind := "issues"
	if is := r.issues[c.Issue]; is != nil && is.PR != nil {
		kind = "pull"
	}
	var app any
	if c.ViaApp {
		app = s.appJSON()
	}
	return map[string]any{
		"url": api, "id": c.ID, "node_id": nodeID("IC_", c.ID),
		"html_url":  fmt.Sprintf("%s#issuecomment-%d", s.web(r.Owner, r.Name, kind, strconv.Itoa(c.Issue)), c.ID),
		"issue_url": s.api("repos", r.Owner, r.Name, "issues", strconv.Itoa(c.Issue)),
		"user":      s.login(c.User), "created_at": ts(c.CreatedAt), "updated_at": ts(c.UpdatedAt),
		"author_association": s.association(r, c.User), "body": c.Body,
		"performed_via_github_app": app, "reactions": s.reactionCounts(api+"/reactions", c.ID),
	}
}

func (s *Sim) reactionCounts(url string, commentID int64) map[string]any {
	m := reactionsSummary(url)
	n := 0
	for _, rc := range s.reactions {
		if rc.CommentID == commentID {
			n++
			m[rc.Content] = m[rc.Content].(int) + 1
		}
	}
	m["total_count"] = n
	return m
}

func (c *call) commentByID() (*Comment, bool) {
	id, _ := strconv.ParseInt(c.params["comment_id"], 10, 64)
	for _, cm := range c.s.comments {
		if cm.ID == id && cm.Repo == c.repo.FullName() {
			return cm, true
		}
	}
	return nil, false
}

func handleGetIssue(c *call) (int, any) {
	n, _ := strconv.Atoi(c.params["issue_number"])
	is := c.repo.issues[n]
	if is == nil {
		return notFound()
	}
	return http.StatusOK, c.s.issueJSON(c.repo, is)
}

func handleCreateComment(c *call) (int, any) {
	n, _ := strconv.Atoi(c.params["issue_number"])
	is := c.repo.issues[n]
	if is == nil {
		return notFound()
	}
	body, _ := c.body["body"].(string)
	cm := c.s.addCommentLocked(c.repo, is, c.s.botLogin(), body, true)
	return http.StatusCreated, c.s.commentJSON(c.repo, cm)
}

func handleGetComment(c *call) (int, any) {
	cm, ok := c.commentByID()
	if !ok {
		return notFound()
	}
	return http.StatusOK, c.s.commentJSON(c.repo, cm)
}

func handleUpdateComment(c *call) (int, any) {
	cm, ok := c.commentByID()
	if !ok {
		return notFound()
	}
	if !strings.EqualFold(cm.User, c.s.botLogin()) {
		return apiError(http.StatusForbidden, "Resource not accessible by integration")
	}
	body, _ := c.body["body"].(string)
	c.s.editCommentLocked(c.repo, cm, body, c.s.botLogin())
	return http.StatusOK, c.s.commentJSON(c.repo, cm)
}

func handleListComments(c *call) (int, any) {
	n, _ := strconv.Atoi(c.params["issue_number"])
	if c.repo.issues[n] == nil {
		return notFound()
	}
	var list []*Comment
	for _, cm := range c.s.comments {
		if cm.Repo == c.repo.FullName() && cm.Issue == n {
			list = append(list, cm)
		}
	}
	lo, hi := c.paginate(len(list))
	out := []any{}
	for _, cm := range list[lo:hi] {
		out = append(out, c.s.commentJSON(c.repo, cm))
	}
	return http.StatusOK, out
}

func handleCreateReaction(c *call) (int, any) {
	cm, ok := c.commentByID()
	if !ok {
		return notFound()
	}
	content, _ := c.body["content"].(string)
	for _, rc := range c.s.reactions {
		if rc.CommentID == cm.ID && rc.Content == content && rc.User == c.s.botLogin() {
			return http.StatusOK, c.s.reactionJSON(rc)
		}
	}
	rc := &Reaction{ID: c.s.nextID("reaction"), CommentID: cm.ID, User: c.s.botLogin(), Content: content, CreatedAt: c.s.now()}
	c.s.reactions = append(c.s.reactions, rc)
	return http.StatusCreated, c.s.reactionJSON(rc)
}

func handleListReactions(c *call) (int, any) {
	cm, ok := c.commentByID()
	if !ok {
		return notFound()
	}
	out := []any{}
	for _, rc := range c.s.reactions {
		if rc.CommentID == cm.ID && (c.q.Get("content") == "" || c.q.Get("content") == rc.Content) {
			out = append(out, c.s.reactionJSON(rc))
		}
	}
	return http.StatusOK, out
}

func (s *Sim) reactionJSON(rc *Reaction) map[string]any {
	return map[string]any{"id": rc.ID, "node_id": nodeID("REA_", rc.ID), "user": s.login(rc.User),
		"content": rc.Content, "created_at": ts(rc.CreatedAt)}
}

func (s *Sim) addCommentLocked(r *Repo, is *Issue, login, body string, viaApp bool) *Comment {
	now := s.now()
	cm := &Comment{ID: s.nextID("comment"), Repo: r.FullName(), Issue: is.Number, User: login, Body: body,
		ViaApp: viaApp, CreatedAt: now, UpdatedAt: now}
	s.userLocked(login)
	s.comments = append(s.comments, cm)
	s.sendIssueCommentLocked(r, is, cm, "created", "", login)
	return cm
}

func (s *Sim) editCommentLocked(r *Repo, cm *Comment, body, editor string) {
	old := cm.Body
	cm.Body = body
	cm.UpdatedAt = s.now()
	cm.Edits++
	s.sendIssueCommentLocked(r, r.issues[cm.Issue], cm, "edited", old, editor)
}

// Comment posts a comment by login on issue or pull request number, sends
// issue_comment created and returns the comment id.
func (s *Sim) Comment(fullName string, number int, login, body string) int64 {
	r := s.mustRepo(fullName)
	s.mu.Lock()
	defer s.mu.Unlock()
	is := r.issues[number]
	if is == nil {
		panic(fmt.Sprintf("githubsim: %s has no issue #%d", fullName, number))
	}
	cm := s.addCommentLocked(r, is, login, body, false)
	s.notifyLocked()
	return cm.ID
}

// EditComment changes a comment's body as its author and sends
// issue_comment edited.
func (s *Sim) EditComment(commentID int64, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cm := range s.comments {
		if cm.ID == commentID {
			s.editCommentLocked(s.repos[strings.ToLower(cm.Repo)], cm, body, cm.User)
			s.notifyLocked()
			return
		}
	}
	panic(fmt.Sprintf("githubsim: no comment %d", commentID))
}

// Comments returns the comments on an issue or pull request, oldest first.
func (s *Sim) Comments(fullName string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, cm := range s.comments {
		if strings.EqualFold(cm.Repo, fullName) && cm.Issue == number {
			out = append(out, *cm)
		}
	}
	return out
}

// Reactions returns the reactions to a comment, oldest first.
func (s *Sim) Reactions(commentID int64) []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Reaction
	for _, rc := range s.reactions {
		if rc.CommentID == commentID {
			out = append(out, *rc)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
