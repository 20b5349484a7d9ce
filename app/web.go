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
	a.web = h
	return h
}

// endStreams ends the pages' live-update streams, so stopping the HTTP
// server does not wait for them (browsers reconnect elsewhere).
func (a *App) endStreams() {
	if a.web != nil {
		a.web.EndStreams()
	}
}
