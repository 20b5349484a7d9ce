package deploy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/deploybot/deploybot/store"
)

// Record links (log_url) are capabilities: deployment ids are sequential, so
// the link carries a token only the server can make, an HMAC of the id under
// Service.LinkKey. A request without the right token, for an unknown id, or
// for a record past its retention gets the same "not found".

// DefaultRecordRetention is how long a record's link keeps working when the
// server sets no retention.
const DefaultRecordRetention = 90 * 24 * time.Hour

// ErrRecordNotFound is every refusal of a record link.
var ErrRecordNotFound = errors.New("record not found")

// linkToken is the unguessable part of a deployment's record link: 128 bits
// of HMAC-SHA256 over the id, URL-safe.
func linkToken(key []byte, id int64) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "deploybot/record/%d", id)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// logURL is the signed public link to a deployment's record ("" when the
// server has no public URL or no link key).
func (s *Service) logURL(id int64) string {
	if s.PublicURL == "" || len(s.LinkKey) == 0 {
		return ""
	}
	return strings.TrimSuffix(s.PublicURL, "/") + fmt.Sprintf("/deployments/%d?t=%s", id, linkToken(s.LinkKey, id))
}

func (s *Service) recordRetention() time.Duration {
	if s.RecordRetention > 0 {
		return s.RecordRetention
	}
	return DefaultRecordRetention
}

// PublicRecord is what a record link shows: exactly what the PR record
// shows, never the stored row (environment config, callback URLs, context).
type PublicRecord struct {
	ID          int64  `json:"id"`
	Repository  string `json:"repository"`
	Environment string `json:"environment"`
	State       string `json:"state"`
	Markdown    string `json:"markdown"`
	// ExecutorOutput is what command steps printed (the end, secrets
	// masked): shown only behind the signed link, never on the PR.
	ExecutorOutput []StepOutput `json:"executor_output,omitempty"`
}

// RecordByLink returns the record behind a signed link, or
// ErrRecordNotFound when the token is wrong, the id unknown or the record
// older than its retention; all three look the same to the caller.
func (s *Service) RecordByLink(ctx context.Context, id int64, token string) (*PublicRecord, error) {
	if len(s.LinkKey) == 0 || !hmac.Equal([]byte(token), []byte(linkToken(s.LinkKey, id))) {
		return nil, ErrRecordNotFound
	}
	rec, err := s.Record(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrRecordNotFound
	}
	if err != nil {
		return nil, err
	}
	d := rec.Deployment
	if s.now().Sub(d.CreatedAt) > s.recordRetention() {
		return nil, ErrRecordNotFound
	}
	return &PublicRecord{ID: d.ID, Repository: d.Repo, Environment: d.Environment, State: string(d.State), Markdown: rec.Markdown,
		ExecutorOutput: commandOutputs(rec)}, nil
}
