package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Reads of the web pages: what is live, in flight and failed per
// repository and environment (/), a repository's history. Every query is
// bounded by repository and served by the deployments_env index
// (repo, environment, state, id). Dry runs never count.

// EnvStatus is one environment of one repository on the dashboard.
type EnvStatus struct {
	Repo, Environment string
	Live              *Deployment // the latest successful deployment
	InFlight          []InFlight  // not ended, oldest first
	LastFailure       *Deployment // the latest failed deployment
	Lock              *ManualLock // a /lock in force
	Monitor           *Monitor    // the live deployment's monitoring window, while it watches
}

// InFlight is a deployment that has not ended and the step it is at.
type InFlight struct {
	*Deployment
	StepName   string // "" while queued or before its first step
	StepDetail string // what the step says of itself ("Canary at 50 %: paused for Promote")
	Weight     *int   // the canary weight the step is at, for canary steps
}

// inList returns "$n, $n+1, …" for vals and the args it binds.
func inList[T any](first int, vals []T) (string, []any) {
	var b strings.Builder
	args := make([]any, len(vals))
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
		args[i] = v
	}
	return b.String(), args
}

// Dashboard returns the environments of repos that have deployments or a
// lock, sorted by repository and environment.
func (s *Store) Dashboard(ctx context.Context, repos []string, now time.Time) ([]*EnvStatus, error) {
	if len(repos) == 0 {
		return nil, nil
	}
	cells := map[[2]string]*EnvStatus{}
	cell := func(repo, env string) *EnvStatus {
		k := [2]string{repo, env}
		if cells[k] == nil {
			cells[k] = &EnvStatus{Repo: repo, Environment: env}
		}
		return cells[k]
	}
	in, args := inList(1, repos)
	n := len(repos) + 1
	latest := func(states ...string) ([]*Deployment, error) {
		sin, sargs := inList(n, states)
		return s.reader().deploymentsWhere(ctx, `id IN (SELECT MAX(id) FROM deployments
			WHERE repo IN (`+in+`) AND state IN (`+sin+`) AND task <> 'dry-run' GROUP BY repo, environment)`,
			append(append([]any{}, args...), sargs...)...)
	}
	live, err := latest(StateSuccess)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	for _, d := range live {
		cell(d.Repo, d.Environment).Live = d
	}
	failed, err := latest(StateFailure, StateError)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	for _, d := range failed {
		cell(d.Repo, d.Environment).LastFailure = d
	}
	sin, sargs := inList(n, []string{StatePending, StateQueued, StateWaiting, StateRunning})
	flying, err := s.reader().deploymentsWhere(ctx, `repo IN (`+in+`) AND state IN (`+sin+`) AND task <> 'dry-run' ORDER BY id`,
		append(append([]any{}, args...), sargs...)...)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	at, err := s.currentSteps(ctx, flying)
	if err != nil {
		return nil, err
	}
	for _, d := range flying {
		c := cell(d.Repo, d.Environment)
		f := at[d.ID]
		f.Deployment = d
		c.InFlight = append(c.InFlight, f)
	}
	watching, err := s.monitorsWhere(ctx, `repo IN (`+in+`) AND state = $`+strconv.Itoa(n), append(append([]any{}, args...), MonitorWatching)...)
	if err != nil {
		return nil, fmt.Errorf("dashboard monitors: %w", err)
	}
	for _, m := range watching {
		if c := cells[[2]string{m.Repo, m.Environment}]; c != nil && c.Live != nil && c.Live.ID == m.DeploymentID {
			c.Monitor = m
		}
	}
	rs, err := s.view().query(ctx, `SELECT `+manualLockColumns+` FROM manual_locks WHERE repo IN (`+in+`) AND `+activeLock(n),
		append(append([]any{}, args...), millis(now))...)
	if err != nil {
		return nil, fmt.Errorf("dashboard locks: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		l, err := scanManualLock(rs)
		if err != nil {
			return nil, fmt.Errorf("dashboard locks: %w", err)
		}
		cell(l.Repo, l.Environment).Lock = l
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("dashboard locks: %w", err)
	}
	out := make([]*EnvStatus, 0, len(cells))
	for _, c := range cells {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].Environment < out[j].Environment
	})
	return out, nil
}

// currentSteps reads the step each deployment is at.
func (s *Store) currentSteps(ctx context.Context, ds []*Deployment) (map[int64]InFlight, error) {
	out := map[int64]InFlight{}
	if len(ds) == 0 {
		return out, nil
	}
	var b strings.Builder
	args := make([]any, 0, 2*len(ds))
	for i, d := range ds {
		if i > 0 {
			b.WriteString(" OR ")
		}
		fmt.Fprintf(&b, "(deployment_id = $%d AND idx = $%d)", 2*i+1, 2*i+2)
		args = append(args, d.ID, d.Step)
	}
	rs, err := s.view().query(ctx, `SELECT deployment_id, name, detail, spec FROM steps WHERE `+b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("dashboard steps: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id int64
		var f InFlight
		var spec string
		if err := rs.Scan(&id, &f.StepName, &f.StepDetail, &spec); err != nil {
			return nil, fmt.Errorf("dashboard steps: %w", err)
		}
		// Canary steps (execute and pause) carry the weight they are at.
		var w struct {
			Weight *int `json:"weight"`
		}
		if json.Unmarshal([]byte(spec), &w) == nil {
			f.Weight = w.Weight
		}
		out[id] = f
	}
	return out, rs.Err()
}

// HistoryFilter selects a page of a repository's deployments.
type HistoryFilter struct {
	Environment, State, Trigger string // "" matches all
	Before                      int64  // ids below this (0: from the newest)
	Limit                       int
}

// History returns repo's deployments matching f, newest first.
func (s *Store) History(ctx context.Context, repo string, f HistoryFilter) ([]*Deployment, error) {
	where := []string{"repo = $1", "task <> 'dry-run'"}
	args := []any{repo}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Environment != "" {
		add("environment = $%d", f.Environment)
	}
	if f.State != "" {
		add("state = $%d", f.State)
	}
	if f.Trigger != "" {
		add("trigger = $%d", f.Trigger)
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	args = append(args, f.Limit)
	return s.reader().deploymentsWhere(ctx, strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args)), args...)
}

// Environments lists the environments repo has deployed to.
func (s *Store) Environments(ctx context.Context, repo string) ([]string, error) {
	rs, err := s.view().query(ctx, `SELECT DISTINCT environment FROM deployments WHERE repo = $1 ORDER BY environment`, repo)
	if err != nil {
		return nil, fmt.Errorf("environments of %s: %w", repo, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var e string
		if err := rs.Scan(&e); err != nil {
			return nil, fmt.Errorf("environments of %s: %w", repo, err)
		}
		out = append(out, e)
	}
	return out, rs.Err()
}
