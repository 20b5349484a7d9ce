package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/handlers"
	"github.com/deploybot/deploybot/store"
)

// Version is set at build time.
var Version = "dev"

// App is a wired deploybot: store, queue, GitHub clients, handlers.
type App struct {
	Settings Settings
	Store    *store.Store
	Deploy   *deploy.Service
	Logger   zerolog.Logger
	metrics  *metrics
	handlers map[string]githubapp.EventHandler
	secret   []byte
}

// Options adjust an App for tests and the demo.
type Options struct {
	Logger *zerolog.Logger
	// HTTPClient calls executors and health endpoints.
	HTTPClient *http.Client
	// Registry receives the Prometheus metrics (a new one when nil).
	Registry *prometheus.Registry
	// Now is the pipeline's clock (time.Now when nil); tests move it to
	// reach windows and deadlines without sleeping.
	Now func() time.Time
}

// New opens and migrates the store and wires everything; call Start to
// begin working the queue.
func New(ctx context.Context, s Settings, opts Options) (*App, error) {
	logger := newLogger(s.LogFormat, os.Stderr)
	if opts.Logger != nil {
		logger = *opts.Logger
	}
	st, err := store.Open(ctx, s.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := newMetrics(reg)
	var gc githubapp.Config
	gc.V3APIURL = s.APIURL
	gc.App.IntegrationID, gc.App.PrivateKey, gc.App.WebhookSecret = s.AppID, string(s.PrivateKey), s.WebhookSecret
	clients, err := githubapp.NewDefaultCachingClientCreator(gc,
		githubapp.WithClientUserAgent("deploybot/"+Version),
		githubapp.WithClientTimeout(30*time.Second),
		// Always revalidate: config and permissions are re-read on every
		// command, as cheap conditional requests (304s) through the cache.
		githubapp.WithClientCaching(true, func() httpcache.Cache { return httpcache.NewMemoryCache() }),
		githubapp.WithClientMiddleware(retryMiddleware, m.githubMiddleware),
	)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("github client creator: %w", err)
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 15 * time.Minute}
	}
	cfg := deploy.NewRepoConfig()
	svc := &deploy.Service{
		Store: st, Clients: clients, Config: cfg, HTTP: httpClient,
		ExecutorSecret: []byte(s.ExecutorSecret), PublicURL: s.PublicURL, AppID: s.AppID, Now: opts.Now,
	}
	a := &App{Settings: s, Store: st, Deploy: svc, Logger: logger, metrics: m, secret: []byte(s.WebhookSecret),
		handlers: map[string]githubapp.EventHandler{}}
	base := &handlers.Base{ClientCreator: clients, Config: cfg, Deploy: svc, AppID: s.AppID}
	for _, h := range handlers.All(base) {
		for _, ev := range h.Handles() {
			a.handlers[ev] = h
		}
	}
	if app, err := appSlug(ctx, clients); err == nil {
		base.AppSlug, svc.AppSlug = app, app
	} else {
		logger.Warn().Err(err).Msg("could not read the app's slug; own comments are recognised by bot type only")
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &deliveryWorker{app: a})
	svc.Register(workers)
	if err := st.SetupQueue(store.QueueConfig{
		Workers:      workers,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		ErrorHandler: &jobErrors{logger: logger, metrics: m},
	}); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func appSlug(ctx context.Context, clients githubapp.ClientCreator) (string, error) {
	c, err := clients.NewAppClient()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	app, _, err := c.Apps.Get(ctx, "")
	if err != nil {
		return "", err
	}
	return app.GetSlug(), nil
}

// Start begins working queued jobs.
func (a *App) Start(ctx context.Context) error {
	return a.Store.StartQueue(a.Logger.WithContext(ctx))
}

// Close stops the queue (waiting for running steps) and the store.
func (a *App) Close(ctx context.Context) {
	if err := a.Store.StopQueue(ctx); err != nil && !errors.Is(err, context.Canceled) {
		a.Logger.Warn().Err(err).Msg("stop queue")
	}
	a.Store.Close()
}

// DeliveryArgs is the durable job that handles one stored webhook delivery.
type DeliveryArgs struct {
	ID string `json:"id"`
}

func (DeliveryArgs) Kind() string { return "webhook_delivery" }

type deliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	app *App
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	d, err := w.app.Store.Delivery(ctx, job.Args.ID)
	if err != nil {
		return err
	}
	h, ok := w.app.handlers[d.Event]
	if !ok {
		return nil
	}
	logger := w.app.Logger.With().Str(githubapp.LogKeyEventType, d.Event).Str(githubapp.LogKeyDeliveryID, d.ID).Logger()
	ctx = logger.WithContext(ctx)
	if err := h.Handle(ctx, d.Event, d.ID, d.Payload); err != nil {
		if errors.Is(err, handlers.ErrUnhandleable) {
			// No retry can decode it or add the missing field: cancel now.
			logger.Warn().Err(err).Msg("delivery cannot be handled; cancelled")
			return river.JobCancel(fmt.Errorf("handle %s delivery %s: %w", d.Event, d.ID, err))
		}
		if wait, ok := deploy.RateLimitWait(err); ok {
			logger.Warn().Dur("retry_in", wait).Msg("GitHub rate limit; delivery will be handled when it resets")
			return river.JobSnooze(wait)
		}
		return fmt.Errorf("handle %s delivery %s: %w", d.Event, d.ID, err)
	}
	return nil
}

// jobErrors logs failed job attempts (River retries them).
type jobErrors struct {
	logger  zerolog.Logger
	metrics *metrics
}

func (h *jobErrors) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.metrics.jobErrors.WithLabelValues(job.Kind).Inc()
	h.logger.Warn().Err(err).Str("job", job.Kind).Int("attempt", job.Attempt).Msg("job attempt failed")
	return nil
}

func (h *jobErrors) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.metrics.jobErrors.WithLabelValues(job.Kind).Inc()
	h.logger.Error().Str("job", job.Kind).Interface("panic", panicVal).Str("trace", trace).Msg("job panicked")
	return nil
}

func newLogger(format string, w io.Writer) zerolog.Logger {
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).With().Timestamp().Logger()
}
