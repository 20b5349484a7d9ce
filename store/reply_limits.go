package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// replyLimitsKept is how long a window's row is kept: longer than any
// budget's window, so a row older than this no longer limits anything.
const replyLimitsKept = 24 * time.Hour

// ReplyBudget is how many replies one user may get on one pull request or
// issue within Window (at most a day); Kind keeps separate budgets apart.
type ReplyBudget struct {
	Kind   string
	Max    int
	Window time.Duration
}

// TakeReply spends one reply of budget b for login on repo#number at now and
// reports whether it was available. The check and the increment are one
// statement, so replicas sharing the database never overspend: a window
// opens with the first reply and lasts b.Window; when it has passed, the
// next reply opens a new one.
func (s *Store) TakeReply(ctx context.Context, repo string, number int, login string, b ReplyBudget, now time.Time) (bool, error) {
	n, err := s.view().exec(ctx, `INSERT INTO reply_limits (repo, pr_number, login, kind, window_start, replies)
		VALUES ($1, $2, $3, $4, $5, 1)
		ON CONFLICT (repo, pr_number, login, kind) DO UPDATE SET
			window_start = CASE WHEN reply_limits.window_start <= $6 THEN excluded.window_start ELSE reply_limits.window_start END,
			replies = CASE WHEN reply_limits.window_start <= $6 THEN 1 ELSE reply_limits.replies + 1 END
		WHERE reply_limits.window_start <= $6 OR reply_limits.replies < $7`,
		repo, int64(number), strings.ToLower(login), b.Kind, millis(now), millis(now.Add(-b.Window)), b.Max)
	if err != nil {
		return false, fmt.Errorf("reply budget of %s on %s#%d: %w", login, repo, number, err)
	}
	// Windows that ended long ago are dropped here, so the table holds only
	// the last day's commenters.
	if _, err := s.view().exec(ctx, `DELETE FROM reply_limits WHERE window_start < $1`, millis(now.Add(-replyLimitsKept))); err != nil {
		return false, fmt.Errorf("drop old reply windows: %w", err)
	}
	return n == 1, nil
}
