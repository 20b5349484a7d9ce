package app

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Serve runs deploybot until ctx is cancelled.
func Serve(ctx context.Context, s Settings) error {
	a, err := New(ctx, s, Options{})
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.Close(context.Background())
		return err
	}
	srv := newServer(s.Addr, a.Handler())
	srv.RegisterOnShutdown(a.endStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	a.Logger.Info().Str("addr", s.Addr).Str("database", string(a.Store.Dialect())).Msg("deploybot serving")
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	// Running steps are handed over, not waited for: another replica
	// resumes them at once (a rolling restart costs no deployment time).
	a.Shutdown(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// newServer bounds what one client can hold: headers within 10s and 64 KB,
// a whole request (up to a 25 MB delivery) within a minute, an answer
// within a minute, an idle keep-alive connection for two minutes.
func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}
