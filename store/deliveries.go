package store

import (
	"context"
	"fmt"
	"time"
)

// Delivery is one webhook delivery as GitHub sent it. Once handled, only
// its id (for deduplication) and when it arrived are kept: the payload is
// dropped, and the row is deleted after the retention period.
type Delivery struct {
	ID             string // X-GitHub-Delivery
	Event          string // X-GitHub-Event
	InstallationID int64
	Payload        []byte // empty once processed
	ReceivedAt     time.Time
	ProcessedAt    time.Time
}

// Processed reports whether the delivery was handled (its payload dropped).
func (d Delivery) Processed() bool { return !d.ProcessedAt.IsZero() }

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
	var received, processed int64
	err := s.view().queryRow(ctx, `SELECT event, installation_id, payload, received_at, processed_at FROM deliveries WHERE id = $1`, id).
		Scan(&d.Event, &d.InstallationID, &payload, &received, &processed)
	if err != nil {
		return d, fmt.Errorf("load delivery %s: %w", id, err)
	}
	d.Payload, d.ReceivedAt, d.ProcessedAt = []byte(payload), fromMillis(received), fromMillis(processed)
	return d, nil
}

// MarkDeliveryProcessed drops the payload of a handled delivery; its id
// stays for deduplication until the retention period ends.
func (s *Store) MarkDeliveryProcessed(ctx context.Context, id string, at time.Time) error {
	if _, err := s.view().exec(ctx, `UPDATE deliveries SET payload = '', processed_at = $1 WHERE id = $2`, millis(at), id); err != nil {
		return fmt.Errorf("drop payload of delivery %s: %w", id, err)
	}
	return nil
}

// DeleteDeliveriesBefore deletes the deliveries received before cutoff and
// returns how many there were. A redelivery of one of them would be new.
func (s *Store) DeleteDeliveriesBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := s.view().exec(ctx, `DELETE FROM deliveries WHERE received_at < $1`, millis(cutoff))
	if err != nil {
		return 0, fmt.Errorf("delete deliveries before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return n, nil
}

// CountDeliveries returns how many deliveries are stored (for tests and metrics).
func (s *Store) CountDeliveries(ctx context.Context) (int, error) {
	var n int
	err := s.view().queryRow(ctx, `SELECT COUNT(*) FROM deliveries`).Scan(&n)
	return n, err
}
