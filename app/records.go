package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/deploybot/deploybot/deploy"
)

// linkKey derives the key that signs record links from the webhook secret
// (a separate purpose label, so the link key reveals nothing about the
// secret) unless DEPLOYBOT_LINK_KEY sets one of its own.
func linkKey(s Settings) []byte {
	if s.LinkKey != "" {
		return []byte(s.LinkKey)
	}
	mac := hmac.New(sha256.New, []byte(s.WebhookSecret))
	mac.Write([]byte("deploybot/record-links/v1"))
	return mac.Sum(nil)
}

// deployment serves a record link (log_url): the signed token in `t` or
// nothing. Every refusal is the same 404, so ids cannot be probed.
func (a *App) deployment(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	rec, err := a.Deploy.RecordByLink(r.Context(), id, r.URL.Query().Get("t"))
	if errors.Is(err, deploy.ErrRecordNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		a.Logger.Error().Err(err).Int64("deployment", id).Msg("load record")
		http.Error(w, "cannot load deployment", http.StatusInternalServerError)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		// log_url links open in a browser: show the record as a page.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = recordPage.Execute(w, rec)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rec)
}

var recordPage = template.Must(template.New("record").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>deploybot · deployment {{.ID}}</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2em auto;max-width:60em}pre{white-space:pre-wrap;background:#f6f8fa;padding:1em}</style>
</head><body>
<h1>Deployment {{.ID}}: {{.Repository}} → {{.Environment}} ({{.State}})</h1>
<pre>{{.Markdown}}</pre>
{{range .ExecutorOutput}}<h2>Output of {{.Step}}</h2>
<pre>{{.Output}}</pre>
{{end}}</body></html>
`))
