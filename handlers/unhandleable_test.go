package handlers

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Every handler, fed its event's smallest payloads (empty objects, bare
// actions, wrong types), neither panics nor asks for a retry: the outcome is
// nil (nothing to do) or ErrUnhandleable (the delivery is cancelled). None of
// these payloads may reach GitHub or the pipeline: Base has no clients here.
func TestMinimalPayloadsAreNilOrUnhandleable(t *testing.T) {
	payloads := []string{
		`{}`, `null`, `[]`, `"x"`, `{"action":5}`, `{"repository":"acme/shop"}`,
		`{"action":"created"}`, `{"action":"completed"}`, `{"action":"synchronize"}`,
		`{"action":"requested"}`, `{"action":"published","release":{}}`,
		`{"action":"requested_action"}`,
		`{"action":"requested_action","requested_action":{"identifier":"rollback"}}`,
		`{"action":"created","comment":{"body":"/deploy"},"issue":{}}`,
		`{"action":"completed","check_run":{"app":{"id":7}}}`,
		`{"action":"completed","workflow_run":{"event":"workflow_dispatch"}}`,
		`{"state":"success"}`, `{"sha":"abc","state":"failure"}`,
		`{"ref":"refs/heads/"}`, `{"ref":"refs/heads/main","repository":{"default_branch":"main"},"commits":[null]}`,
		`{"deployment":{"id":1}}`, `{"deployment_status":{"state":"success"}}`,
		`{"action":"requested","environment":"production"}`,
	}
	for _, h := range All(&Base{AppID: 1, AppSlug: "deploybot"}) {
		for _, event := range h.Handles() {
			for _, p := range payloads {
				t.Run(fmt.Sprintf("%s %s", event, p), func(t *testing.T) {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("panic: %v", r)
						}
					}()
					err := h.Handle(context.Background(), event, "d-1", []byte(p))
					if err != nil && !errors.Is(err, ErrUnhandleable) {
						t.Fatalf("error %v is neither nil nor ErrUnhandleable: the delivery would be retried", err)
					}
				})
			}
		}
	}
}
