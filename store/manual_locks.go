package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ManualLock is a `/lock` on an environment, held by the user who wrote it.
// While it is in force only its owner deploys there.
type ManualLock struct {
	Repo, Environment string
	Owner             string // GitHub login
	Reason            string
	CreatedAt         time.Time
	ExpiresAt         time.Time // zero: until /unlock
}

// HeldBy reports whether user owns the lock (logins are case-insensitive).
func (l *ManualLock) HeldBy(user string) bool { return l != nil && strings.EqualFold(l.Owner, user) }

const manualLockColumns = `repo, environment, owner, reason, created_at, expires_at`

func scanManualLock(s scanner) (*ManualLock, error) {
	var l ManualLock
	var created, expires int64
	if err := s.Scan(&l.Repo, &l.Environment, &l.Owner, &l.Reason, &created, &expires); err != nil {
		return nil, err
	}
	l.CreatedAt, l.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &l, nil
}

// activeLock is the SQL condition for a lock in force at $N.
func activeLock(n int) string { return fmt.Sprintf(`(expires_at = 0 OR expires_at > $%d)`, n) }

// ManualLock returns the lock in force on env at now, or nil when there is
// none (an expired lock counts as none).
func (s *Store) ManualLock(ctx context.Context, repo, env string, now time.Time) (*ManualLock, error) {
	return manualLock(ctx, s.view(), repo, env, now)
}

func manualLock(ctx context.Context, q querier, repo, env string, now time.Time) (*ManualLock, error) {
	l, err := scanManualLock(q.queryRow(ctx, `SELECT `+manualLockColumns+` FROM manual_locks
		WHERE repo = $1 AND environment = $2 AND `+activeLock(3), repo, env, millis(now)))
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manual lock of %s/%s: %w", repo, env, err)
	}
	return l, nil
}

// ManualLocks returns the locks in force on repo's environments at now, by
// environment.
func (s *Store) ManualLocks(ctx context.Context, repo string, now time.Time) (map[string]*ManualLock, error) {
	rs, err := s.view().query(ctx, `SELECT `+manualLockColumns+` FROM manual_locks WHERE repo = $1 AND `+activeLock(2),
		repo, millis(now))
	if err != nil {
		return nil, fmt.Errorf("list manual locks of %s: %w", repo, err)
	}
	defer rs.Close()
	out := map[string]*ManualLock{}
	for rs.Next() {
		l, err := scanManualLock(rs)
		if err != nil {
			return nil, fmt.Errorf("list manual locks of %s: %w", repo, err)
		}
		out[l.Environment] = l
	}
	return out, rs.Err()
}

// dropExpiredLock deletes env's lock if it expired by now (locks are
// cleaned lazily, by the next lock or unlock of the environment).
func (tx *Tx) dropExpiredLock(ctx context.Context, repo, env string, now time.Time) error {
	_, err := tx.q.exec(ctx, `DELETE FROM manual_locks WHERE repo = $1 AND environment = $2 AND expires_at <> 0 AND expires_at <= $3`,
		repo, env, millis(now))
	if err != nil {
		return fmt.Errorf("drop expired lock of %s/%s: %w", repo, env, err)
	}
	return nil
}

// LockManually takes env's manual lock for l.Owner when it is free, or
// renews it when l.Owner already holds it: the expiry becomes l.ExpiresAt
// and the reason l.Reason (an empty reason keeps the old one). It returns
// the lock in force afterwards: l's, or the other owner's that kept it.
func (s *Store) LockManually(ctx context.Context, l ManualLock, now time.Time) (*ManualLock, error) {
	var held *ManualLock
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.dropExpiredLock(ctx, l.Repo, l.Environment, now); err != nil {
			return err
		}
		_, err := tx.q.exec(ctx, `INSERT INTO manual_locks (`+manualLockColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (repo, environment) DO UPDATE SET
				reason = CASE WHEN excluded.reason = '' THEN manual_locks.reason ELSE excluded.reason END,
				expires_at = excluded.expires_at
			WHERE lower(manual_locks.owner) = lower(excluded.owner)`,
			l.Repo, l.Environment, l.Owner, l.Reason, millis(now), millis(l.ExpiresAt))
		if err != nil {
			return fmt.Errorf("lock %s/%s: %w", l.Repo, l.Environment, err)
		}
		held, err = manualLock(ctx, tx.q, l.Repo, l.Environment, now)
		if err == nil && held == nil {
			err = fmt.Errorf("lock %s/%s: not found after writing it", l.Repo, l.Environment)
		}
		return err
	})
	return held, err
}

// UnlockManually removes env's manual lock when by owns it or admin is set.
// It returns the lock in force before the call (nil when there was none)
// and whether it was removed.
func (s *Store) UnlockManually(ctx context.Context, repo, env, by string, admin bool, now time.Time) (*ManualLock, bool, error) {
	var held *ManualLock
	var removed bool
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.dropExpiredLock(ctx, repo, env, now); err != nil {
			return err
		}
		var err error
		if held, err = manualLock(ctx, tx.q, repo, env, now); err != nil || held == nil {
			return err
		}
		if !held.HeldBy(by) && !admin {
			return nil
		}
		n, err := tx.q.exec(ctx, `DELETE FROM manual_locks WHERE repo = $1 AND environment = $2`, repo, env)
		if err != nil {
			return fmt.Errorf("unlock %s/%s: %w", repo, env, err)
		}
		removed = n > 0
		return nil
	})
	return held, removed, err
}
