package githubsim

import (
	"net/http"
	"strings"
	"time"
)

// environment is a deployment environment with its variables and secrets.
type environment struct {
	Name      string
	CreatedAt time.Time
	vars      map[string]*envEntry // upper-case name -> variable
	secrets   map[string]*envEntry // upper-case name -> secret (no value)
}

type envEntry struct {
	Name      string
	Value     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AddEnvironment creates the environment name (no-op if it exists).
// Environment names are case-insensitive on GitHub.
func (r *Repo) AddEnvironment(name string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.envLocked(name)
	r.s.notifyLocked()
}

func (r *Repo) envLocked(name string) *environment {
	k := strings.ToLower(name)
	if e := r.envs[k]; e != nil {
		return e
	}
	e := &environment{Name: name, CreatedAt: r.s.now(), vars: map[string]*envEntry{}, secrets: map[string]*envEntry{}}
	r.envs[k] = e
	return e
}

func (r *Repo) setEnvEntry(env, name, value string, secret bool) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e := r.envLocked(env)
	m := e.vars
	if secret {
		m, value = e.secrets, ""
	}
	// GitHub stores variable and secret names in upper case.
	k := strings.ToUpper(name)
	now := s.now()
	if x := m[k]; x != nil {
		x.Value, x.UpdatedAt = value, now
	} else {
		m[k] = &envEntry{Name: k, Value: value, CreatedAt: now, UpdatedAt: now}
	}
	s.notifyLocked()
}

// SetEnvVariable creates or updates the variable name of environment env
// (creating the environment if needed). Names are stored in upper case, as
// GitHub does.
func (r *Repo) SetEnvVariable(env, name, value string) { r.setEnvEntry(env, name, value, false) }

// SetEnvSecret creates or updates the secret name of environment env
// (creating the environment if needed). The API never shows a secret's value,
// so none is kept.
func (r *Repo) SetEnvSecret(env, name string) { r.setEnvEntry(env, name, "", true) }

func handleListEnvVariables(c *call) (int, any) { return c.listEnvEntries("variables") }

func handleListEnvSecrets(c *call) (int, any) { return c.listEnvEntries("secrets") }

func (c *call) listEnvEntries(kind string) (int, any) {
	e := c.repo.envs[strings.ToLower(c.params["environment_name"])]
	if e == nil {
		return notFound()
	}
	m := e.secrets
	lo, hi := 0, 0
	names := []string{}
	if kind == "variables" {
		m = e.vars
		names = sortedKeys(m)
		lo, hi = c.paginateWith(len(names), 10, 30) // per_page: default 10, max 30
	} else {
		names = sortedKeys(m)
		lo, hi = c.paginate(len(names))
	}
	out := []any{}
	for _, k := range names[lo:hi] {
		x := m[k]
		j := map[string]any{"name": x.Name, "created_at": ts(x.CreatedAt), "updated_at": ts(x.UpdatedAt)}
		if kind == "variables" {
			j["value"] = x.Value
		}
		out = append(out, j)
	}
	return http.StatusOK, map[string]any{"total_count": len(names), kind: out}
}
