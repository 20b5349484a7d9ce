package config

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Notification events (`notify.events`).
const (
	NotifyStarted    = "started"     // gates passed, deploying
	NotifySucceeded  = "succeeded"   // success status
	NotifyFailed     = "failed"      // failure or error
	NotifyRolledBack = "rolled_back" // a rollback deployment succeeded
	NotifyPaused     = "paused"      // waiting for Promote
	NotifyBreach     = "breach"      // the monitoring window found a breach
)

// NotifyEvents are all events, the default.
var NotifyEvents = []string{NotifyStarted, NotifySucceeded, NotifyFailed, NotifyRolledBack, NotifyPaused, NotifyBreach}

// Notify sends a message per event to a Slack-compatible incoming webhook.
type Notify struct {
	Webhook string   // the incoming webhook's URL (through the outbound guard)
	Events  []string // default: all
}

// Wants reports whether event is sent.
func (n *Notify) Wants(event string) bool { return n != nil && slices.Contains(n.Events, event) }

func (d *decoder) parseNotify(n *yaml.Node, path string) *Notify {
	if n == nil {
		return nil
	}
	o, ok := d.object(n, path, "notify")
	if !ok {
		return nil
	}
	nt := &Notify{Webhook: d.url(o, "webhook", true), Events: d.strings(o, "events")}
	if o.get("events") == nil {
		nt.Events = NotifyEvents
	}
	for _, e := range nt.Events {
		if !slices.Contains(NotifyEvents, e) {
			d.addf(o.at("events"), o.sub("events"), "unknown event (known: %s)", strings.Join(NotifyEvents, ", "))
			break
		}
	}
	return nt
}
