package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/verify"
)

// page is what every template gets.
type page struct {
	Viewer  *viewer
	Title   string
	Message string
	Data    any
	// Live names the repository the page shows ("*": all of them) when it
	// follows live updates (live.go).
	Live string
}

// historyPage is how many deployments a page of history shows.
const historyPage = 50

var pageNames = []string{"dashboard", "repository", "record", "message", "notfound", "disabled"}

func (s *Server) parseTemplates() error {
	now := s.c.Now
	funcs := template.FuncMap{
		"short": func(sha string) string { return sha[:min(len(sha), 7)] },
		"ago":   func(t time.Time) string { return ago(now().Sub(t)) },
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"took":  func(a, b time.Time) string { return took(b.Sub(a)) },
		"left":  func(t time.Time) string { return left(t.Sub(now())) },
		// action is one button's form: {{template "action" (action .Repo .Environment "promote" $.CSRF $.Back)}}
		"action": func(repo, env, name, csrf, back string) actionForm {
			return actionForm{Repo: repo, Env: env, Name: name, CSRF: csrf, Back: back}
		},
		"rollbackOn": rollbackOn,
		"promotable": isPromotable,
		"number":     verify.Number,
	}
	s.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/actions.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web templates: %w", err)
		}
		s.pages[name] = t
	}
	return nil
}

// render writes a page; it is rendered to memory first, so a template
// error never leaves half a page.
func (s *Server) render(w http.ResponseWriter, name string, p any) {
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, name+".html", p); err != nil {
		s.c.Logger.Error().Err(err).Str("page", name).Msg("render page")
		http.Error(w, "cannot show this page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// left is how long until something ends, for the dashboard.
func left(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h", int(d.Hours()))
}

func took(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// dashboard is /: every environment of every repository the user can read.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, v *viewer) {
	repos := make([]string, 0, len(v.repos))
	for _, name := range v.repos {
		repos = append(repos, name)
	}
	slices.Sort(repos)
	cells, err := s.c.Store.Dashboard(r.Context(), repos, s.c.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, "dashboard", page{Viewer: v, Title: "Environments", Live: "*", Data: map[string]any{"Cells": cells, "Repos": len(repos), "CSRF": v.CSRF, "Back": "/"}})
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	s.c.Logger.Error().Err(err).Msg("web page")
	http.Error(w, "cannot read deploybot's database; try again", http.StatusInternalServerError)
}

var states = []string{store.StatePending, store.StateQueued, store.StateWaiting, store.StateRunning,
	store.StateSuccess, store.StateFailure, store.StateError}

// repository is /{owner}/{repo}: its history, newest first, filtered.
func (s *Server) repository(w http.ResponseWriter, r *http.Request, v *viewer) {
	repo, ok := v.canRead(r.PathValue("owner") + "/" + r.PathValue("repo"))
	if !ok {
		s.notFound(w, r, v)
		return
	}
	q := r.URL.Query()
	f := store.HistoryFilter{Environment: q.Get("environment"), State: q.Get("state"), Trigger: q.Get("trigger"), Limit: historyPage + 1}
	if b, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && b > 0 {
		f.Before = b
	}
	rows, err := s.c.Store.History(r.Context(), repo, f)
	if err != nil {
		s.fail(w, err)
		return
	}
	envs, err := s.c.Store.Environments(r.Context(), repo)
	if err != nil {
		s.fail(w, err)
		return
	}
	cells, err := s.c.Store.Dashboard(r.Context(), []string{repo}, s.c.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	delivery, err := s.delivery(r.Context(), repo)
	if err != nil {
		s.fail(w, err)
		return
	}
	next := ""
	if len(rows) > historyPage {
		rows = rows[:historyPage]
		nq := url.Values{}
		for k, v := range map[string]string{"environment": f.Environment, "state": f.State, "trigger": f.Trigger} {
			if v != "" {
				nq.Set(k, v)
			}
		}
		nq.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		next = "/" + repo + "?" + nq.Encode()
	}
	s.render(w, "repository", page{Viewer: v, Title: repo, Live: repo, Data: map[string]any{
		"Repo": repo, "Rows": rows, "Environments": envs, "Cells": cells, "States": states, "Filter": f, "Next": next,
		"Delivery": delivery, "Back": "/" + repo,
		"CSRF": v.CSRF, "Filtered": f.Environment != "" || f.State != "" || f.Trigger != "" || f.Before > 0,
	}})
}

// actionForm is one button of an environment: a form posting the
// session's CSRF token and the page to return to.
type actionForm struct{ Repo, Env, Name, CSRF, Back string }

// Label is the button's text.
func (a actionForm) Label() string { return strings.ToUpper(a.Name[:1]) + a.Name[1:] }

// envAction is an environment's Unlock, Promote, Abort or Rollback button:
// the comment command (`/unlock <env>`, `/promote <env>`, `/abort <env>`,
// `/rollback <env>`) by the viewer, with the same checks. It needs the
// page's CSRF token. A refusal of the command's permission check answers
// 403 with the command's reply.
func (s *Server) envAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	repo, ok := v.canRead(r.PathValue("owner") + "/" + r.PathValue("repo"))
	action := r.PathValue("action")
	if !ok || s.c.Deploy == nil || !slices.Contains([]string{deploy.CmdUnlock, deploy.ActionPromote, deploy.ActionAbort, actionRollback}, action) {
		s.notFound(w, r, v)
		return
	}
	if !s.seal.checkCSRF(r, v.session, s.origin) {
		http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
		return
	}
	env := r.PathValue("env")
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	var msg string
	var err error
	switch action {
	case deploy.CmdUnlock:
		msg, err = s.c.Deploy.Unlock(ctx, repo, env, v.Login)
	case actionRollback:
		msg, err = s.c.Deploy.Rollback(ctx, repo, env, v.Login)
	default:
		msg, err = s.c.Deploy.Intervene(ctx, repo, env, v.Login, action)
	}
	p := page{Viewer: v, Title: strings.ToUpper(action[:1]) + action[1:] + " " + env, Message: msg, Data: map[string]any{"Back": localPath(r.PostFormValue("back"))}}
	var refused *deploy.Refusal
	if errors.As(err, &refused) {
		p.Message = refused.Reason
		w.Header().Set("Content-Type", "text/html; charset=utf-8") // headers are sent with the status
		w.WriteHeader(http.StatusForbidden)
		s.render(w, "message", p)
		return
	}
	if err != nil {
		// GitHub's answers are not echoed into logs: its status only.
		s.c.Logger.Warn().Int("github_status", statusOf(err)).Str("repo", repo).Str("action", action).Msg("action from the web failed")
		http.Error(w, "could not "+action+"; try again", http.StatusBadGateway)
		return
	}
	s.render(w, "message", p)
}
