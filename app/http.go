package app

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deploybot/deploybot/store"
)

// maxWebhookBody is GitHub's own cap on a delivery's payload.
const maxWebhookBody = 25 << 20

// Handler returns deploybot's HTTP routes.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/github/hook", a.hook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", a.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /deployments/{id}", a.deployment)
	return mux
}

// hook is the webhook intake: verify, dedupe, persist and enqueue in one
// transaction, answer 202. The work happens in the queue.
func (a *App) hook(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get("X-GitHub-Event")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.reject(w, event, "too_large", http.StatusRequestEntityTooLarge, "payload over 25 MB")
			return
		}
		a.reject(w, event, "unreadable", http.StatusBadRequest, "cannot read body")
		return
	}
	// ValidateSignature compares in constant time (hmac.Equal).
	if err := github.ValidateSignature(r.Header.Get(github.SHA256SignatureHeader), body, a.secret); err != nil {
		a.reject(w, event, "bad_signature", http.StatusUnauthorized, "signature does not match")
		return
	}
	delivery := r.Header.Get("X-GitHub-Delivery")
	if event == "" || delivery == "" || len(delivery) > 100 {
		a.reject(w, event, "bad_headers", http.StatusBadRequest, "missing X-GitHub-Event or X-GitHub-Delivery")
		return
	}
	var envelope struct {
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		a.reject(w, event, "bad_json", http.StatusBadRequest, "payload is not JSON")
		return
	}
	if _, ok := a.handlers[event]; !ok {
		a.metrics.webhooks.WithLabelValues(event, "ignored").Inc()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	isNew := false
	err = a.Store.InTx(r.Context(), func(tx *store.Tx) error {
		if isNew, err = tx.InsertDelivery(r.Context(), store.Delivery{
			ID: delivery, Event: event, InstallationID: envelope.Installation.ID, Payload: body, ReceivedAt: time.Now(),
		}); err != nil || !isNew {
			return err
		}
		return tx.Enqueue(r.Context(), DeliveryArgs{ID: delivery}, nil)
	})
	if err != nil {
		a.Logger.Error().Err(err).Str("delivery", delivery).Msg("store webhook")
		a.reject(w, event, "store_error", http.StatusServiceUnavailable, "try again")
		return
	}
	outcome := "queued"
	if !isNew {
		outcome = "duplicate"
	}
	a.metrics.webhooks.WithLabelValues(event, outcome).Inc()
	w.WriteHeader(http.StatusAccepted)
}

func (a *App) reject(w http.ResponseWriter, event, outcome string, code int, msg string) {
	a.metrics.webhooks.WithLabelValues(event, outcome).Inc()
	http.Error(w, msg, code)
}

func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.Ping(r.Context()); err != nil {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}
