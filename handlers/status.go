package handlers

import (
	"context"
	"encoding/json"

	"github.com/google/go-github/v62/github"
)

// Status resumes deployments waiting for CI when a commit status on their
// commit changes (CI systems that report statuses, not check runs).
type Status struct{ *Base }

func (h *Status) Handles() []string { return []string{"status"} }

func (h *Status) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.StatusEvent
	if err := json.Unmarshal(payload, &event); err != nil {
		return decodeError("status", err)
	}
	if event.GetState() == "pending" {
		return nil // a new pending status cannot unblock anything
	}
	return h.checksChanged(ctx, &event, nil, event.GetSHA())
}
