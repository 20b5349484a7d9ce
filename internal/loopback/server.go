// Package loopback serves HTTP on a free 127.0.0.1 port: what the demo's
// emulator, deploy target and deploybot itself listen on. It is
// net/http/httptest's Server without the testing packages, which have no
// place in the production binary (`deploybot demo` runs these servers).
package loopback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an HTTP server on a loopback port.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:<port>" (no trailing slash).
	URL      string
	Listener net.Listener

	srv     *http.Server
	mu      sync.Mutex
	handler http.Handler
	started bool
	done    chan struct{}
}

// New starts serving h.
func New(h http.Handler) (*Server, error) {
	s, err := NewUnstarted(h)
	if err != nil {
		return nil, err
	}
	s.Start()
	return s, nil
}

// NewUnstarted reserves the port (so URL is known) without serving yet;
// SetHandler and Start follow.
func NewUnstarted(h http.Handler) (*Server, error) { return NewUnstartedAt("127.0.0.1:0", h) }

// NewUnstartedAt is NewUnstarted on addr (a restarted server keeps its URL).
func NewUnstartedAt(addr string, h http.Handler) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s := &Server{URL: "http://" + l.Addr().String(), Listener: l, handler: h, done: make(chan struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// SetHandler replaces the handler (before or after Start).
func (s *Server) SetHandler(h http.Handler) { s.mu.Lock(); s.handler = h; s.mu.Unlock() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.handler
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "not serving yet", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// Start begins serving; a second call does nothing.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(s.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(fmt.Sprintf("loopback server on %s: %v", s.URL, err))
		}
	}()
}

// Close stops serving: new connections are refused, open ones closed, and
// requests in flight are given up to 5 s to finish.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		<-s.done
	} else {
		_ = s.Listener.Close()
	}
}
