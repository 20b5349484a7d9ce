package app

import (
	"net/http"
	"time"

	"github.com/deploybot/deploybot/web"
)

// webHandler serves the pages (package web) for every path the fixed
// routes do not take.
func (a *App) webHandler() http.Handler {
	s := a.Settings
	h, err := web.New(web.Config{
		Store: a.Store, Deploy: a.Deploy,
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, SessionKey: s.SessionKey,
		PublicURL: s.PublicURL, WebURL: s.WebURL, APIURL: s.APIURL,
		HTTP:   &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport},
		Logger: a.Logger, Now: a.now,
	})
	if err != nil {
		a.Logger.Error().Err(err).Msg("web pages disabled")
		return http.NotFoundHandler()
	}
	return h
}
