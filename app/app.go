package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/executor"
	"github.com/deploybot/deploybot/handlers"
	"github.com/deploybot/deploybot/internal/egress"
	"github.com/deploybot/deploybot/internal/lrucache"
	"github.com/deploybot/deploybot/internal/pacer"
	"github.com/deploybot/deploybot/internal/panics"
	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/web"
)

// GitHubCacheBytes bounds each installation client's HTTP cache (ETag
// revalidation). go-githubapp keeps up to 64 clients, so the caches hold at
// most 256 MiB together.
const GitHubCacheBytes = 4 << 20

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
	filter   intakeFilter     // deliveries that concern nothing deploybot does
	watch    *commitWatch     // commits unfinished deployments are on
	intake   *groupCommit     // stores the deliveries that matter, in batches
	clock    func() time.Time // Options.Now
	// stopLeaseReaper ends this replica's lease reaper (Start runs it).
	stopLeaseReaper context.CancelFunc
	// Pacer budgets each installation's writes (GitHub's secondary limits).
	Pacer *pacer.Pacers
	web   *web.Server // the pages, once Handler built them
}

func (a *App) now() time.Time {
	if a.clock != nil {
		return a.clock()
	}
	return time.Now()
}

// Options adjust an App for tests and the demo.
type Options struct {
	Logger *zerolog.Logger
	// Registry receives the Prometheus metrics (a new one when nil).
	Registry *prometheus.Registry
	// Now is the pipeline's clock (time.Now when nil); tests move it to
	// reach windows and deadlines without sleeping.
	Now func() time.Time
	// RetryPolicy spaces retried jobs (River's exponential backoff when
	// nil); tests shorten it to reach a job's last attempt.
	RetryPolicy river.ClientRetryPolicy
	// PacerLimits are each installation's write budget (GitHub's secondary
	// limits when nil); tests scale its windows down.
	PacerLimits *pacer.Limits
	// NoPacer sends every write unpaced (a baseline for measurements).
	NoPacer bool
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
	if opts.Now != nil {
		st.SetClock(opts.Now)
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := newMetrics(reg)
	pacers, err := pacerFor(opts, m)
	if err != nil {
		st.Close()
		return nil, err
	}
	middleware := []githubapp.ClientMiddleware{retryMiddleware, pacers.Middleware, m.githubMiddleware}
	if opts.NoPacer {
		middleware = []githubapp.ClientMiddleware{retryMiddleware, m.githubMiddleware}
	}
	var gc githubapp.Config
	gc.V3APIURL = s.APIURL
	gc.App.IntegrationID, gc.App.PrivateKey, gc.App.WebhookSecret = s.AppID, string(s.PrivateKey), s.WebhookSecret
	cached, err := githubapp.NewDefaultCachingClientCreator(gc,
		githubapp.WithClientUserAgent("deploybot/"+Version),
		githubapp.WithClientTimeout(30*time.Second),
		// Always revalidate: config and permissions are re-read on every
		// command, as cheap conditional requests (304s) through the cache.
		// Each installation's client gets its own cache, bounded (LRU by bytes).
		githubapp.WithClientCaching(true, func() httpcache.Cache { return lrucache.New(GitHubCacheBytes) }),
		// Each installation's writes are paced (pacedClients): inside the
		// retries, so every attempt sent is budgeted.
		githubapp.WithClientMiddleware(middleware...),
	)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("github client creator: %w", err)
	}
	clients := newPacedClients(cached)
	cfg := deploy.NewRepoConfig()
	svc := &deploy.Service{
		Store: st, Clients: clients, Config: cfg, HTTP: egressClient(s),
		ExecutorSecret: []byte(s.ExecutorSecret), PublicURL: s.PublicURL, AppID: s.AppID, Now: opts.Now,
		LinkKey: linkKey(s), RecordRetention: s.RecordRetention,
		Replica: deploy.ReplicaID(), LeaseTTL: s.StepLease, OnLeasesReaped: m.stepsResumed,
	}
	if s.AllowCommands {
		svc.Commands = &executor.Command{Path: os.Getenv("PATH"), Secrets: serverSecrets(s)}
	}
	a := &App{Settings: s, Store: st, Deploy: svc, Logger: logger, metrics: m, secret: []byte(s.WebhookSecret),
		handlers: map[string]githubapp.EventHandler{}, clock: opts.Now, Pacer: pacers}
	// The change feed (the pages' live updates) reconnects by itself; say
	// when it had to, since the pages miss changes meanwhile.
	st.SetFeedErrors(func(err error) {
		logger.Warn().Err(err).Msg("live updates lost the database's change feed; reconnecting")
	})
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

	a.filter = intakeFilter{appID: s.AppID}
	if base.AppSlug != "" {
		a.filter.botLogin = base.AppSlug + "[bot]"
	}
	a.watch = newCommitWatch(st.UnfinishedCommits)
	if err := a.watch.rebuild(ctx); err != nil {
		logger.Warn().Err(err).Msg("could not load the commits deployments are on; the first check events will")
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &deliveryWorker{app: a})
	svc.Register(workers)
	periodic := []*river.PeriodicJob{svc.RegisterReaper(workers), a.registerRetention(workers)}
	if err := st.SetupQueue(store.QueueConfig{
		Workers:      workers,
		PeriodicJobs: periodic,
		RetryPolicy:  opts.RetryPolicy,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		ErrorHandler: &jobErrors{logger: logger, metrics: m},
	}); err != nil {
		st.Close()
		return nil, err
	}
	a.intake = newGroupCommit(st)
	m.observeIntake(a.intake, a.watch)
	m.observeDora(st, a.now, logger)
	return a, nil
}

// serverSecrets are the values a command's kept output must never show.
func serverSecrets(s Settings) []string {
	out := []string{s.WebhookSecret, s.ExecutorSecret, s.LinkKey}
	for _, line := range strings.Split(string(s.PrivateKey), "\n") {
		if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

// egressClient calls the URLs repositories configure (flag services, health
// checks, executors, backup hooks): no overall timeout (each call has its
// own), no address outside the public internet unless the operator allowed it.
func egressClient(s Settings) *egress.Client {
	return egress.New(egress.Options{Allow: s.EgressAllow})
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
	// The queue outlives ctx: Close or Shutdown stops it, the way the
	// running steps need (waited for, or handed over).
	ctx = a.Logger.WithContext(context.WithoutCancel(ctx))
	if err := a.Store.StartQueue(ctx); err != nil {
		return err
	}
	// Every replica reaps expired step leases: whichever is alive resumes
	// the steps of one that died.
	reaperCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopLeaseReaper = stop
	go a.Deploy.RunLeaseReaper(reaperCtx)
	return nil
}

// Close stops the queue (waiting for running steps) and the store.
func (a *App) Close(ctx context.Context) {
	a.endStreams()
	a.intake.close() // answers the deliveries still waiting to be stored
	if a.stopLeaseReaper != nil {
		a.stopLeaseReaper()
	}
	if err := a.Store.StopQueue(ctx); err != nil && !errors.Is(err, context.Canceled) {
		a.Logger.Warn().Err(err).Msg("stop queue")
	}
	a.Store.Close()
}

// Shutdown stops this replica for good without making anyone wait: the
// steps it is running are cancelled and handed over to another replica at
// once (on SQLite, to the next start), then the store closes. SIGTERM — a
// rolling restart of deploybot itself — ends here.
func (a *App) Shutdown(ctx context.Context) {
	a.endStreams()
	a.intake.close()
	if a.stopLeaseReaper != nil {
		a.stopLeaseReaper()
	}
	a.Deploy.Drain()
	if err := a.Store.StopQueueAndCancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
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
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("delivery %s is past retention: %w", job.Args.ID, err))
	}
	if err != nil {
		return err
	}
	if d.Processed() {
		return nil // handled; only dropping its payload failed last time
	}
	h, ok := w.app.handlers[d.Event]
	if !ok {
		return w.processed(ctx, d)
	}
	logger := w.app.Logger.With().Str(githubapp.LogKeyEventType, d.Event).Str(githubapp.LogKeyDeliveryID, d.ID).Logger()
	ctx = logger.WithContext(ctx)
	if err := h.Handle(ctx, d.Event, d.ID, d.Payload); err != nil {
		if errors.Is(err, handlers.ErrUnhandleable) {
			// No retry can decode it or add the missing field: cancel now.
			logger.Warn().Err(err).Msg("delivery cannot be handled; cancelled")
			if perr := w.processed(ctx, d); perr != nil { // nor is its payload worth keeping
				return perr
			}
			return river.JobCancel(fmt.Errorf("handle %s delivery %s: %w", d.Event, d.ID, err))
		}
		if snooze, wait, ok := deploy.RateLimitSnooze(ctx, job.JobRow, err); ok {
			logger.Warn().Dur("retry_in", wait).Msg("GitHub rate limit; delivery will be handled when it resets")
			return snooze
		}
		return fmt.Errorf("handle %s delivery %s: %w", d.Event, d.ID, err)
	}
	return w.processed(ctx, d)
}

// processed drops a handled delivery's payload: only its id is kept, to
// recognise a redelivery, until the retention job deletes it.
func (w *deliveryWorker) processed(ctx context.Context, d store.Delivery) error {
	return w.app.Store.MarkDeliveryProcessed(ctx, d.ID, w.app.now())
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
	// Neither the value nor the raw trace is logged: either can hold what
	// the job was handling (payload fields, fetched content).
	h.logger.Error().Str("job", job.Kind).Str("panic", panics.Describe(panicVal)).
		Str("frames", panics.Frames([]byte(trace))).Msg("job panicked")
	return nil
}

func newLogger(format string, w io.Writer) zerolog.Logger {
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).With().Timestamp().Logger()
}
