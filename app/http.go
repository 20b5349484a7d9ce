package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store"
)

// maxWebhookBody is GitHub's own cap on a delivery's payload.
const maxWebhookBody = 25 << 20

// maxHooksInFlight bounds the webhook requests being read, verified and
// stored at once: each may hold up to 25 MB before its signature is known.
// Past it the intake answers 503 with Retry-After.
const maxHooksInFlight = 64

// unverifiedEvent is the metrics label of every request refused before its
// signature was verified: X-GitHub-Event is the sender's text until then,
// and labels must not be (one series per distinct value).
const unverifiedEvent = "unverified"

// Handler returns deploybot's HTTP routes.
func (a *App) Handler() http.Handler { return a.routes(maxHooksInFlight) }

func (a *App) routes(hookSlots int) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /api/github/hook", a.limitInFlight(hookSlots, http.HandlerFunc(a.hook)))
	// An exact path: it wins over every pattern with wildcards.
	mux.HandleFunc("POST "+deploy.CallbackPath, a.executorCallback)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", a.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /deployments/{id}", a.deployment)
	mux.Handle("/", a.webHandler()) // the pages (web.go); the routes above win
	return mux
}

// limitInFlight lets at most n requests into next at once and answers the
// rest 503 at once, without reading their bodies.
func (a *App) limitInFlight(n int, next http.Handler) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "5")
			a.reject(w, unverifiedEvent, "busy", http.StatusServiceUnavailable, "too many deliveries in flight; try again")
		}
	})
}

// eventLabel is the metrics label of a verified delivery's event: the
// events deploybot handles and ping by name, anything else "other".
func (a *App) eventLabel(event string) string {
	if _, ok := a.handlers[event]; ok || event == "ping" {
		return event
	}
	return "other"
}

// hook is the webhook intake: verify; answer 202 at once for a delivery
// that concerns nothing deploybot is doing (skipped); otherwise dedupe,
// persist and enqueue it in one transaction shared with the deliveries
// arriving at the same time (group commit), and answer 202 once that
// committed. The work happens in the queue.
func (a *App) hook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.reject(w, unverifiedEvent, "too_large", http.StatusRequestEntityTooLarge, "payload over 25 MB")
			return
		}
		a.reject(w, unverifiedEvent, "unreadable", http.StatusBadRequest, "cannot read body")
		return
	}
	// ValidateSignature compares in constant time (hmac.Equal).
	if err := github.ValidateSignature(r.Header.Get(github.SHA256SignatureHeader), body, a.secret); err != nil {
		a.reject(w, unverifiedEvent, "bad_signature", http.StatusUnauthorized, "signature does not match")
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	label := a.eventLabel(event)
	delivery := r.Header.Get("X-GitHub-Delivery")
	if event == "" || delivery == "" || len(delivery) > 100 {
		a.reject(w, label, "bad_headers", http.StatusBadRequest, "missing X-GitHub-Event or X-GitHub-Delivery")
		return
	}
	if _, handled := a.handlers[event]; !handled {
		a.metrics.webhooks.WithLabelValues(label, "ignored").Inc()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	read := a.filter.read(event, body)
	if !a.concerns(r.Context(), read) {
		// Nothing deploybot is doing can use it: no write at all (and no
		// full decode: the filter reads a few fields).
		a.metrics.webhooks.WithLabelValues(label, "skipped").Inc()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	installation := read.installation
	if !read.read { // not read by the filter: decode as always
		var envelope struct {
			Installation struct {
				ID int64 `json:"id"`
			} `json:"installation"`
		}
		if err := json.Unmarshal(body, &envelope); err != nil {
			a.reject(w, label, "bad_json", http.StatusBadRequest, "payload is not JSON")
			return
		}
		installation = envelope.Installation.ID
	}
	isNew, err := a.intake.storeDelivery(r.Context(), store.Delivery{
		ID: delivery, Event: event, InstallationID: installation, Payload: body, ReceivedAt: time.Now(),
	})
	if err != nil {
		a.Logger.Error().Err(err).Str("delivery", delivery).Msg("store webhook")
		a.reject(w, label, "store_error", http.StatusServiceUnavailable, "try again")
		return
	}
	outcome := "queued"
	if !isNew {
		outcome = "duplicate"
	}
	a.metrics.webhooks.WithLabelValues(label, outcome).Inc()
	w.WriteHeader(http.StatusAccepted)
}

// concerns reports whether a verified delivery of a handled event may
// matter to deploybot (see intakeFilter and commitWatch).
func (a *App) concerns(ctx context.Context, read intakeRead) bool {
	switch read.verdict {
	case intakeSkip:
		return false
	case intakeIfWatched:
		return a.watch.watched(ctx, read.repo, read.sha)
	}
	return true
}

// reject answers an error; label is unverifiedEvent or an eventLabel.
func (a *App) reject(w http.ResponseWriter, label, outcome string, code int, msg string) {
	a.metrics.webhooks.WithLabelValues(label, outcome).Inc()
	http.Error(w, msg, code)
}

func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.Ping(r.Context()); err != nil {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}
