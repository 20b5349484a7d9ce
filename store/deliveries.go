package store

import (
	"context"
	"fmt"
	"time"
)

// Delivery is one webhook delivery as GitHub sent it.
type Delivery struct {
	ID             string // X-GitHub-Delivery
	Event          string // X-GitHub-Event
	InstallationID int64
	Payload        []byte
	ReceivedAt     time.Time
}

// InsertDelivery stores d unless a delivery with the same ID exists. It
// reports whether d is new; a redelivery returns false and changes nothing.
func (tx *Tx) InsertDelivery(ctx context.Context, d Delivery) (bool, error) {
	n, err := tx.q.exec(ctx, `INSERT INTO deliveries (id, event, installation_id, payload, received_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Event, d.InstallationID, string(d.Payload), millis(d.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("insert delivery %s: %w", d.ID, err)
	}
	return n == 1, nil
}

// Delivery loads a stored delivery.
func (s *Store) Delivery(ctx context.Context, id string) (Delivery, error) {
	d := Delivery{ID: id}
	var payload string
	var received int64
	err := s.view().queryRow(ctx, `SELECT event, installation_id, payload, received_at FROM deliveries WHERE id = $1`, id).
		Scan(&d.Event, &d.InstallationID, &payload, &received)
	if err != nil {
		return d, fmt.Errorf("load delivery %s: %w", id, err)
	}
	d.Payload, d.ReceivedAt = []byte(payload), fromMillis(received)
	return d, nil
}

// CountDeliveries returns how many deliveries are stored (for tests and metrics).
func (s *Store) CountDeliveries(ctx context.Context) (int, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM deliveries`).Scan(&n)
	return n, err
}
