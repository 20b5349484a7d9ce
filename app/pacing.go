package app

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/internal/pacer"
)

// pacedClients hands out installation clients whose writes go through the
// pacer of their installation (internal/pacer): each request is marked with
// its installation, and the pacer's middleware (inside the retries, so a
// retried write is budgeted again) spends that installation's budget.
// App clients (JWT) are not marked and so not paced.
type pacedClients struct {
	githubapp.ClientCreator

	mu      sync.Mutex
	clients map[int64]pacedClient
}

type pacedClient struct{ inner, paced *github.Client }

// maxPacedClients bounds the wrapped clients kept; the creator underneath
// keeps 64, so more than this only happens with many installations.
const maxPacedClients = 1024

func newPacedClients(cc githubapp.ClientCreator) *pacedClients {
	return &pacedClients{ClientCreator: cc, clients: map[int64]pacedClient{}}
}

func (c *pacedClients) NewInstallationClient(id int64) (*github.Client, error) {
	inner, err := c.ClientCreator.NewInstallationClient(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc, ok := c.clients[id]; ok && pc.inner == inner {
		return pc.paced, nil
	}
	hc := inner.Client() // a copy: timeout and the middleware chain
	hc.Transport = pacer.InstallationTransport(id, orDefault(hc.Transport))
	paced := github.NewClient(hc)
	paced.BaseURL, paced.UploadURL, paced.UserAgent = inner.BaseURL, inner.UploadURL, inner.UserAgent
	if len(c.clients) >= maxPacedClients {
		clear(c.clients)
	}
	c.clients[id] = pacedClient{inner: inner, paced: paced}
	return paced, nil
}

func orDefault(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}

// pacerFor builds the pacers from Options (production: GitHub's limits).
func pacerFor(opts Options, m *metrics) (*pacer.Pacers, error) {
	l := pacer.DefaultLimits()
	if opts.PacerLimits != nil {
		l = *opts.PacerLimits
	}
	if l.PerMinute <= 0 || l.PerHour <= 0 || l.Minute <= 0 || l.Hour <= 0 {
		return nil, fmt.Errorf("write pacer limits %+v: limits and windows must be positive", l)
	}
	return pacer.New(l, nil, m.observeWrite), nil
}
