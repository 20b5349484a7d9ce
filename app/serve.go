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
	srv := &http.Server{Addr: s.Addr, Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
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
	a.Close(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
