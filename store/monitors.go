package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Monitor states.
const (
	MonitorWatching   = "watching"
	MonitorPassed     = "passed"
	MonitorBreached   = "breached"
	MonitorSuperseded = "superseded"
)

// Monitor is the watch over a successful deployment for its monitoring
// window.
type Monitor struct {
	DeploymentID int64
	Repo         string
	Environment  string
	StartedAt    time.Time
	EndsAt       time.Time
	ReportedAt   time.Time // the check run was last updated
	State        string
	Reason       string   // breached: what; superseded: by which deployment
	Labels       []string // issue labels that are a breach
}

// StartMonitor records m as watching.
func (tx *Tx) StartMonitor(ctx context.Context, m Monitor) error {
	_, err := tx.q.exec(ctx, `INSERT INTO monitors (deployment_id, repo, environment, started_at, ends_at, reported_at, state, labels)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (deployment_id) DO NOTHING`,
		m.DeploymentID, m.Repo, m.Environment, millis(m.StartedAt), millis(m.EndsAt), millis(m.ReportedAt), MonitorWatching,
		strings.Join(m.Labels, "\n"))
	if err != nil {
		return fmt.Errorf("start monitoring deployment %d: %w", m.DeploymentID, err)
	}
	return nil
}

const monitorColumns = `deployment_id, repo, environment, started_at, ends_at, reported_at, state, reason, labels`

func scanMonitor(s scanner) (*Monitor, error) {
	var m Monitor
	var started, ends, reported int64
	var labels string
	if err := s.Scan(&m.DeploymentID, &m.Repo, &m.Environment, &started, &ends, &reported, &m.State, &m.Reason, &labels); err != nil {
		return nil, err
	}
	m.StartedAt, m.EndsAt, m.ReportedAt = fromMillis(started), fromMillis(ends), fromMillis(reported)
	if labels != "" {
		m.Labels = strings.Split(labels, "\n")
	}
	return &m, nil
}

// Monitor returns the monitor of deployment id (ErrNotFound: none).
func (s *Store) Monitor(ctx context.Context, id int64) (*Monitor, error) {
	return scanMonitor(s.view().queryRow(ctx, `SELECT `+monitorColumns+` FROM monitors WHERE deployment_id = $1`, id))
}

// Watching returns repo's monitors still watching.
func (s *Store) Watching(ctx context.Context, repo string) ([]*Monitor, error) {
	ms, err := s.monitorsWhere(ctx, `repo = $1 AND state = $2`, repo, MonitorWatching)
	if err != nil {
		return nil, fmt.Errorf("monitors of %s: %w", repo, err)
	}
	return ms, nil
}

// monitorsWhere reads the monitors matching where, oldest first.
func (s *Store) monitorsWhere(ctx context.Context, where string, args ...any) ([]*Monitor, error) {
	rs, err := s.view().query(ctx, `SELECT `+monitorColumns+` FROM monitors WHERE `+where+` ORDER BY deployment_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*Monitor
	for rs.Next() {
		m, err := scanMonitor(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rs.Err()
}

// EndMonitor moves deployment id's monitor from watching to state with
// reason; false when it was not watching any more (ended meanwhile).
func (tx *Tx) EndMonitor(ctx context.Context, id int64, state, reason string) (bool, error) {
	n, err := tx.q.exec(ctx, `UPDATE monitors SET state = $1, reason = $2 WHERE deployment_id = $3 AND state = $4`,
		state, reason, id, MonitorWatching)
	if err != nil {
		return false, fmt.Errorf("end monitor of deployment %d: %w", id, err)
	}
	return n == 1, nil
}

// MonitorReported records that deployment id's check run was updated at.
func (tx *Tx) MonitorReported(ctx context.Context, id int64, at time.Time) error {
	_, err := tx.q.exec(ctx, `UPDATE monitors SET reported_at = $1 WHERE deployment_id = $2`, millis(at), id)
	return err
}

// SupersedeMonitors ends the watching monitors of repo/env other than
// byID's (a newer deployment is being deployed there) and returns them.
func (tx *Tx) SupersedeMonitors(ctx context.Context, repo, env string, byID int64) ([]int64, error) {
	rs, err := tx.q.query(ctx, `UPDATE monitors SET state = $1, reason = $2 WHERE repo = $3 AND environment = $4 AND state = $5
		AND deployment_id <> $6 RETURNING deployment_id`, MonitorSuperseded, fmt.Sprintf("superseded by #%d", byID), repo, env, MonitorWatching, byID)
	if err != nil {
		return nil, fmt.Errorf("supersede monitors of %s/%s: %w", repo, env, err)
	}
	defer rs.Close()
	var ids []int64
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}
