package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/internal/egress"
	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/internal/loopback"
	"github.com/deploybot/deploybot/internal/pacer"
)

// Sandbox is deploybot wired to the GitHub emulator and a local deploy
// target: what `deploybot demo` runs and what end-to-end tests drive.
type Sandbox struct {
	Sim    *githubsim.Sim
	App    *App
	Server *loopback.Server
	Target *Target
	Repo   *githubsim.Repo
	opts   SandboxOptions
	extra  []*Target // targets of the repositories AddRepo added
}

// SandboxOptions configure a Sandbox.
type SandboxOptions struct {
	TB          githubsim.TB // fails the test on emulator violations (optional)
	DatabaseURL string
	Logger      *zerolog.Logger
	// Config is the repository's .github/deploy.yml; TARGET is replaced by
	// the deploy target's URL. Empty uses SandboxConfig.
	Config string
	// Now is deploybot's clock (time.Now when nil).
	Now func() time.Time
	// RetryPolicy spaces retried jobs (River's backoff when nil).
	RetryPolicy river.ClientRetryPolicy
	// AllowCommands enables the command executor (DEPLOYBOT_ALLOW_COMMANDS).
	AllowCommands bool
	// PacerLimits are deploybot's write budget per installation (GitHub's
	// secondary limits when nil).
	PacerLimits *pacer.Limits
	// NoPacer sends deploybot's writes unpaced (a measuring baseline).
	NoPacer bool
}

// Sandbox identities.
const (
	SandboxOwner          = "acme"
	SandboxRepo           = "shop"
	SandboxRepoFull       = SandboxOwner + "/" + SandboxRepo
	SandboxInstallationID = 4242
	sandboxWebhookSecret  = "sandbox-webhook-secret"
	sandboxExecutorSecret = "sandbox-executor-secret"
	sandboxSessionKey     = "sandbox-session-key-of-32-bytes!"
)

// SandboxConfig is the demo repository's .github/deploy.yml.
const SandboxConfig = `default_environment: staging
environments:
  staging:
    url: https://staging.shop.example
    executor: { webhook: { url: TARGET/hooks/staging } }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/staging, status: 200, interval: 1s }]
  production:
    aliases: [prod]
    production: true
    permission: maintain
    url: https://shop.example
    executor: { webhook: { url: TARGET/hooks/production } }
    verify:
      timeout: 3s
      health: [{ url: TARGET/healthz/production, status: 200, contains: ok, interval: 1s }]
`

// NewSandbox starts the emulator, the target and deploybot, and seeds the
// repository's default branch with the config.
func NewSandbox(ctx context.Context, o SandboxOptions) (*Sandbox, error) {
	sim := githubsim.New(githubsim.Options{AppID: 1, AppSlug: "deploybot", TB: o.TB})
	sim.AddInstallation(SandboxInstallationID, SandboxOwner)
	repo := sim.AddRepo(SandboxOwner, SandboxRepo, "main")
	target, err := NewTarget(sandboxExecutorSecret, SandboxRepoFull)
	if err != nil {
		sim.Close()
		return nil, err
	}
	cfg := o.Config
	if cfg == "" {
		cfg = SandboxConfig
	}
	repo.Commit("main", map[string]string{
		".github/deploy.yml": strings.ReplaceAll(cfg, "TARGET", target.URL),
		"README.md":          "# shop\n",
	}, "Add deploy config")

	s := &Sandbox{Sim: sim, Target: target, Repo: repo, opts: o}
	if err := s.startDeploybot(ctx); err != nil {
		target.Close()
		sim.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sandbox) startDeploybot(ctx context.Context) error {
	var srv *loopback.Server
	var err error
	if s.Server != nil {
		// A restart keeps deploybot's public URL, as a real deployment's
		// does: executors call back to it.
		srv, err = loopback.NewUnstartedAt(s.Server.Listener.Addr().String(), nil)
	}
	if srv == nil {
		if srv, err = loopback.NewUnstarted(nil); err != nil {
			return fmt.Errorf("start deploybot: %w", err)
		}
	}
	s.Server = srv
	logger := zerolog.Nop()
	if s.opts.Logger != nil {
		logger = *s.opts.Logger
	}
	// Sign-in with GitHub through the emulator's OAuth pages.
	clientID, clientSecret := s.Sim.OAuthClient()
	s.Sim.SetOAuthCallbacks(s.Server.URL + "/auth/callback")
	a, err := New(ctx, Settings{
		AppID: s.Sim.AppID(), PrivateKey: s.Sim.PrivateKeyPEM(), WebhookSecret: sandboxWebhookSecret,
		APIURL: s.Sim.URL, WebURL: s.Sim.WebHostURL(), DatabaseURL: s.opts.DatabaseURL,
		ClientID: clientID, ClientSecret: clientSecret, SessionKey: []byte(sandboxSessionKey),
		ExecutorSecret: sandboxExecutorSecret, PublicURL: s.Server.URL,
		LogFormat: "json", AllowCommands: s.opts.AllowCommands,
		// The deploy target listens on loopback: opted in here, as an
		// operator would for a deployer on deploybot's own host.
		EgressAllow: egress.Loopback(),
	}, Options{Logger: &logger, Now: s.opts.Now, RetryPolicy: s.opts.RetryPolicy,
		PacerLimits: s.opts.PacerLimits, NoPacer: s.opts.NoPacer})
	if err != nil {
		s.Server.Close()
		return fmt.Errorf("start deploybot: %w", err)
	}
	s.App = a
	s.Server.SetHandler(a.Handler())
	s.Server.Start()
	s.Sim.SetWebhookTarget(s.Server.URL+"/api/github/hook", sandboxWebhookSecret)
	return a.Start(ctx)
}

// Restart stops deploybot (letting running steps finish) and starts a new
// process on the same database, as a deploy of deploybot itself would.
func (s *Sandbox) Restart(ctx context.Context) error {
	s.Server.Close()
	s.App.Close(ctx)
	s.App = nil
	return s.startDeploybot(ctx)
}

// Settle waits until every webhook the emulator sent is answered and every
// job they caused has finished. Durable timers of waiting deployments
// (which may lie 30 minutes ahead) do not count as work.
func (s *Sandbox) Settle(ctx context.Context) error {
	for {
		if err := s.Sim.WaitForDeliveries(ctx); err != nil {
			return err
		}
		if err := s.App.Store.WaitIdle(ctx, deploy.WakeArgs{}.Kind(), deploy.MonitorTickArgs{}.Kind()); err != nil {
			return err
		}
		if s.Sim.PendingDeliveries() == 0 {
			return nil
		}
	}
}

// AddRepo adds the repository acme/<name> to the sandbox's installation,
// with its own deploy target and config (TARGET replaced by the target's
// URL) on its default branch main.
func (s *Sandbox) AddRepo(name, config string) (*githubsim.Repo, *Target, error) {
	target, err := NewTarget(sandboxExecutorSecret, SandboxOwner+"/"+name)
	if err != nil {
		return nil, nil, err
	}
	s.extra = append(s.extra, target)
	repo := s.Sim.AddRepo(SandboxOwner, name, "main")
	repo.Commit("main", map[string]string{
		".github/deploy.yml": strings.ReplaceAll(config, "TARGET", target.URL),
		"README.md":          "# " + name + "\n",
	}, "Add deploy config")
	return repo, target, nil
}

// Close stops everything.
func (s *Sandbox) Close() {
	s.Server.Close()
	if s.App != nil {
		s.App.Close(context.Background())
	}
	for _, t := range s.extra {
		t.Close()
	}
	s.Target.Close()
	s.Sim.Close()
}
