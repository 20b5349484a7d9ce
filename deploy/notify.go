package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
	"github.com/deploybot/deploybot/store"
)

// Notifications (`notify:`): one message per deployment event to a
// Slack-compatible incoming webhook, sent by a job of its own — enqueued
// in the transaction that records the event, unique per deployment and
// event, and never able to fail a deploy. (Incoming webhooks cannot edit
// a message, so each event is a message of its own.)

// NotifyArgs sends one event of one deployment.
type NotifyArgs struct {
	DeploymentID int64  `json:"deployment_id"`
	Event        string `json:"event"`
	Detail       string `json:"detail,omitempty"`
}

func (NotifyArgs) Kind() string { return "deploy_notify" }

const notifyTimeout = 10 * time.Second

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	svc *Service
}

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	return w.svc.sendNotification(ctx, job.Args)
}

// notify enqueues event for d in tx when d's environment wants it.
func notify(ctx context.Context, tx *store.Tx, d *store.Deployment, env *config.Environment, event, detail string) error {
	if d.Task == TaskDryRun || !env.Notify.Wants(event) {
		return nil
	}
	return tx.Enqueue(ctx, NotifyArgs{DeploymentID: d.ID, Event: event, Detail: detail},
		&river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}})
}

// sendNotification posts the message. A receiver that refuses it (4xx) is
// given up on; a transport error or 5xx is retried a few times.
func (s *Service) sendNotification(ctx context.Context, a NotifyArgs) error {
	d, err := s.Store.Deployment(ctx, a.DeploymentID)
	if err != nil {
		return err
	}
	var env config.Environment
	if err := json.Unmarshal([]byte(d.EnvConfig), &env); err != nil || env.Notify == nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"text": s.notificationText(d, a)})
	resp, err := s.httpClient().Do(ctx, egress.Call{Method: http.MethodPost, URL: env.Notify.Webhook, Body: body, Timeout: notifyTimeout,
		Header: http.Header{"Content-Type": {"application/json"}, "User-Agent": {"deploybot"}}})
	if err != nil {
		if errors.As(err, new(*egress.Refused)) {
			return river.JobCancel(fmt.Errorf("notify: %w", err))
		}
		return fmt.Errorf("notify: %w", err)
	}
	switch {
	case resp.Status >= 500:
		return fmt.Errorf("notify: the webhook answered HTTP %d", resp.Status)
	case resp.Status >= 300:
		return river.JobCancel(fmt.Errorf("notify: the webhook refused the message (HTTP %d)", resp.Status))
	}
	return nil
}

// notificationText is the message: what happened, where, who, and the
// record's link (Slack's <url|text> form).
func (s *Service) notificationText(d *store.Deployment, a NotifyArgs) string {
	what := fmt.Sprintf("`%s` to *%s* in %s (by @%s)", short(d.SHA), d.Environment, d.Repo, d.RequestedBy)
	var line string
	switch a.Event {
	case config.NotifyStarted:
		line = "🚀 Deploying " + what
	case config.NotifySucceeded:
		line = "✅ Deployed " + what
	case config.NotifyRolledBack:
		line = "↩️ Rolled back " + what
	case config.NotifyFailed:
		line = "❌ Failed: " + what
	case config.NotifyPaused:
		line = "⏸️ Waiting for Promote: " + what
	case config.NotifyBreach:
		line = "🚨 Monitor breach after " + what
	default:
		line = a.Event + ": " + what
	}
	if a.Detail != "" {
		line += " — " + a.Detail
	}
	if u := s.logURL(d.ID); u != "" {
		line += fmt.Sprintf(" <%s|record>", u)
	}
	return line
}

// notifyEnd queues the message of how r's deployment ended, with its end.
func (r *run) notifyEnd() {
	event, detail := config.NotifySucceeded, ""
	switch {
	case r.d.State != store.StateSuccess:
		event, detail = config.NotifyFailed, r.d.Reason
	case r.d.Task == TaskRollback:
		event = config.NotifyRolledBack
	}
	r.inFinishTx(func(ctx context.Context, tx *store.Tx) error { return notify(ctx, tx, r.d, r.env, event, detail) })
}
