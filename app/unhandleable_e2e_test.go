package app

import (
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/deploybot/deploybot/store"
)

// A signed delivery that decodes but lacks its repository can never be
// handled: it is attempted once and cancelled, not retried twelve times.
func TestUnhandleableDeliveryIsAttemptedOnce(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.settle()
	body := []byte(`{"action":"created","installation":{"id":4242},"issue":{"number":1},` +
		`"comment":{"id":77,"body":"/deploy staging","user":{"login":"walt","type":"User"}}}`)
	if code, msg := postHook(t, s.Server.URL, "issue_comment", "no-repository", sign(sandboxWebhookSecret, body), body); code != 202 {
		t.Fatalf("intake answered %d %s, want 202", code, msg)
	}
	s.settle() // a retried job would keep the queue busy
	jobs, err := s.App.Store.JobsOfKind(s.ctx, DeliveryArgs{}.Kind())
	if err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for _, j := range jobs {
		if j.Attempt != 1 {
			t.Errorf("a delivery job was attempted %d times (%s)", j.Attempt, j.State)
		}
		if j.State == "cancelled" {
			cancelled++
		}
	}
	if cancelled != 1 {
		t.Errorf("%d cancelled delivery jobs, want 1: %+v", cancelled, jobs)
	}
	if d, err := s.App.Store.Delivery(s.ctx, "no-repository"); err != nil || len(d.Payload) != 0 || !d.Processed() {
		t.Errorf("a cancelled delivery keeps its payload: %d bytes, processed %v, %v", len(d.Payload), d.Processed(), err)
	}
}

// The worker itself turns undecodable and incomplete payloads into
// river.JobCancel, for every event deploybot handles.
func TestDeliveryWorkerCancelsUnhandleablePayloads(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	w := &deliveryWorker{app: s.App}
	for _, event := range []string{"issue_comment", "deployment", "check_run", "release", "push", "pull_request", "deployment_protection_rule"} {
		for i, payload := range []string{`{"action":5,"installation":{"id":4242}}`, `{"action":"created","installation":{"id":4242},"deployment":{"id":3},` +
			`"ref":"refs/heads/main","release":{"tag_name":"v1"},"requested_action":{"identifier":"rollback"}}`} {
			id := event + "-" + string(rune('a'+i))
			err := s.App.Store.InTx(s.ctx, func(tx *store.Tx) error {
				_, err := tx.InsertDelivery(s.ctx, store.Delivery{ID: id, Event: event, InstallationID: 4242, Payload: []byte(payload), ReceivedAt: time.Now()})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Work(s.ctx, &river.Job[DeliveryArgs]{Args: DeliveryArgs{ID: id}})
			var cancel *river.JobCancelError
			if err != nil && !errors.As(err, &cancel) {
				t.Errorf("%s %s: %v is retried; want cancelled or nil", event, payload, err)
			}
		}
	}
}
