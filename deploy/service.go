// Package deploy is the pipeline: every trigger becomes a Deployment row and
// a GitHub Deployment, driven by one durable step machine (pipeline.go). It
// holds no HTTP server or webhook decoding; handlers/ call into it.
package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/riverqueue/river"

	"github.com/deploybot/deploybot/checks"
	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/executor"
	"github.com/deploybot/deploybot/internal/egress"
	"github.com/deploybot/deploybot/store"
)

// ConfigLoader reads a repository's .github/deploy.yml from a ref.
type ConfigLoader interface {
	Load(ctx context.Context, client *github.Client, owner, repo, ref string) (*config.Config, error)
}

// Service runs deployments.
type Service struct {
	Store   *store.Store
	Clients githubapp.ClientCreator
	Config  ConfigLoader
	// HTTP calls executors, backup hooks and health endpoints: the guarded
	// client (nil: one that allows no non-public address). Each call brings
	// its own timeout.
	HTTP egress.Doer
	// Commands runs command executor steps; nil when the server does not
	// allow them (DEPLOYBOT_ALLOW_COMMANDS).
	Commands *executor.Command
	// ExecutorSecret signs step JSON sent to webhook executors.
	ExecutorSecret []byte
	// PublicURL is deploybot's own base URL for log links ("" leaves them out).
	PublicURL string
	// LinkKey signs record links (links.go); without it there are none.
	LinkKey []byte
	// RecordRetention is how long a record link works (DefaultRecordRetention when 0).
	RecordRetention time.Duration
	// AppSlug names the app's bot user (<slug>[bot]) so its own comments are ignored.
	AppSlug string
	// AppID is the GitHub App's id; events about its own check runs are ignored.
	AppID int64
	Now   func() time.Time
	// Replica names this process in step leases (ReplicaID); LeaseTTL is
	// how long it may go silent before another replica resumes its steps
	// (DefaultLeaseTTL when 0).
	Replica  string
	LeaseTTL time.Duration
	// OnLeasesReaped counts steps resumed from dead replicas (metrics).
	OnLeasesReaped func(n int)
	draining       atomic.Bool // Drain was called: cancelled steps hand over
}

func (s *Service) httpClient() egress.Doer {
	if s.HTTP != nil {
		return s.HTTP
	}
	return egress.Closed()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Register adds the pipeline's job workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &stepWorker{svc: s})
	river.AddWorker(workers, &wakeWorker{svc: s})
	river.AddWorker(workers, &monitorTickWorker{svc: s})
	river.AddWorker(workers, &monitorEndWorker{svc: s})
	river.AddWorker(workers, &notifyWorker{svc: s})
}

// StepArgs is the durable job that runs step Step of a deployment.
type StepArgs struct {
	DeploymentID int64 `json:"deployment_id"`
	Step         int   `json:"step"`
}

func (StepArgs) Kind() string { return "deploy_step" }

// stepOpts schedules a step job. Each job is enqueued in the transaction
// that moves the deployment's cursor, so exactly one exists per move; a
// stale or repeated job finds the cursor elsewhere and does nothing. (No
// River uniqueness: a parked lock step must be enqueued again while its
// earlier job may still be finishing.)
func stepOpts(at time.Time) *river.InsertOpts {
	return &river.InsertOpts{ScheduledAt: at}
}

// Tasks of deployments. A dry run creates no GitHub Deployment, so its task
// is deploybot's own.
const (
	TaskDeploy   = "deploy"
	TaskRollback = "deploy:rollback"
	TaskDryRun   = "dry-run"
)

// Request asks for a deployment. Handlers build it from what they verified.
type Request struct {
	Owner, Repo    string
	InstallationID int64
	Environment    *config.Environment
	Ref, SHA       string
	Task           string // deploy | deploy:rollback
	Trigger        string // comment | rollback-button
	RequestedBy    string
	PRNumber       int    // issue or pull request the record is posted on (0: none)
	RollbackOf     int64  // GitHub deployment id rolled back
	RequestKey     string // dedupes retried requests
	Strategy       string // overrides the config's strategy
	DryRun         bool
	PreviousSHA    string // known target of a rollback's "previous"
	// Permission is the permission gate's result, read from the API when the
	// request was accepted.
	Permission checks.Result
	// Context is what the trigger brought along (release, adopted GitHub
	// deployment, protection-rule run, environments to deploy next).
	Context RunContext
	// GitHubDeploymentID is set when adopting a deployment someone else created.
	GitHubDeploymentID int64
}

// Start records the request and its step list and enqueues the first step,
// in one transaction. A repeated request (same RequestKey) returns the
// existing deployment and false.
func (s *Service) Start(ctx context.Context, req Request) (*store.Deployment, bool, error) {
	if err := s.planSwitchBack(ctx, &req); err != nil {
		return nil, false, err
	}
	d, steps, err := s.prepare(req)
	if err != nil {
		return nil, false, err
	}
	var created bool
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		d, created, err = startTx(ctx, tx, d, steps)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("start deployment of %s to %s: %w", req.SHA, req.Environment.Name, err)
	}
	return d, created, nil
}

// prepare builds the deployment row and its steps for a request; a request
// the pipeline cannot run is a permanentError.
func (s *Service) prepare(req Request) (*store.Deployment, []store.Step, error) {
	envJSON, err := json.Marshal(req.Environment)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot environment config: %w", err)
	}
	strategy := req.Strategy
	if strategy == "" {
		strategy = req.Environment.Strategy.Name
	}
	if strategy == "" {
		strategy = "direct"
	}
	gates, _ := json.Marshal([]checks.Result{req.Permission})
	if req.DryRun {
		req.Task = TaskDryRun
	}
	d := &store.Deployment{
		RequestKey: req.RequestKey, Repo: req.Owner + "/" + req.Repo, InstallationID: req.InstallationID,
		Environment: req.Environment.Name, Ref: req.Ref, SHA: req.SHA, Task: req.Task, Trigger: req.Trigger,
		RequestedBy: req.RequestedBy, PRNumber: req.PRNumber, RollbackOf: req.RollbackOf, Strategy: strategy,
		Production: req.Environment.Production, State: store.StatePending, EnvConfig: string(envJSON),
		Gates: string(gates), PreviousSHA: req.PreviousSHA, Context: req.Context.encode(),
		GitHubDeploymentID: req.GitHubDeploymentID, StaleAfter: staleAfter(req.Environment),
	}
	if s.Commands == nil && !req.DryRun && req.Task != TaskProtection && usesCommands(req.Environment) {
		return nil, nil, commandsOff(req.Environment.Name)
	}
	steps, err := planSteps(req, strategy)
	if err != nil {
		return nil, nil, err
	}
	return d, steps, nil
}

// startTx inserts a prepared deployment and enqueues its first step in tx
// (unless a deployment with its RequestKey exists: then it returns that one
// and false).
func startTx(ctx context.Context, tx *store.Tx, d *store.Deployment, steps []store.Step) (*store.Deployment, bool, error) {
	d, created, err := tx.CreateDeployment(ctx, d, steps)
	if err != nil || !created {
		return d, false, err
	}
	return d, true, tx.Enqueue(ctx, StepArgs{DeploymentID: d.ID, Step: 0}, stepOpts(time.Time{}))
}
