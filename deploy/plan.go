package deploy

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// Step names. A deployment's plan is a list of these; strategies contribute
// their `execute` steps (one per executor call) between backup and verify.
const (
	stepCreateDeployment = "create-deployment"
	stepComment          = "comment"
	stepLock             = "lock"
	stepGates            = "gates"
	stepBackup           = "backup"
	stepDBBackup         = "db-backup"
	stepExecute          = "execute"
	stepVerify           = "verify"
	stepFinish           = "finish"
)

// ExecSpec is the strategy-specific part of an execute step; it becomes the
// `step` object of the executor's JSON.
type ExecSpec struct {
	Action string `json:"action"` // deploy | switch | rollback
	Index  int    `json:"index"`
	Total  int    `json:"total"`
	Weight int    `json:"weight,omitempty"`
	Slot   string `json:"slot,omitempty"`
	Batch  int    `json:"batch,omitempty"`
}

// planSteps lays out the durable steps for a request.
func planSteps(req Request, strategy string) ([]store.Step, error) {
	if req.DryRun {
		return []store.Step{{Name: stepComment}, {Name: stepGates}, {Name: stepFinish}}, nil
	}
	if req.Task == TaskProtection { // Actions deploys; deploybot answers after its gates
		return []store.Step{{Name: stepGates}, {Name: stepFinish}}, nil
	}
	if missing := notYetSupported(req.Environment); len(missing) > 0 {
		return nil, permanentError{fmt.Errorf("`%s` configures %s, which this deploybot does not run yet; "+
			"it refuses to deploy rather than skip a safeguard. Remove them from `.github/deploy.yml` or upgrade deploybot",
			req.Environment.Name, strings.Join(missing, ", "))}
	}
	if req.Environment.Executor.External != nil && strategy != "direct" {
		return nil, permanentError{fmt.Errorf("an external executor deploys on its own: the %s strategy needs a webhook or actions executor", strategy)}
	}
	execs, err := strategySteps(strategy)
	if err != nil {
		return nil, permanentError{err}
	}
	steps := []store.Step{{Name: stepCreateDeployment}, {Name: stepComment}, {Name: stepLock}, {Name: stepGates}, {Name: stepBackup}}
	if m := req.Environment.Gates.Migrations; m != nil && m.Backup != nil {
		if kind := m.Backup.Kind(); kind != "webhook" {
			return nil, permanentError{fmt.Errorf("the migrations backup hook of %s uses the %s executor, which is not available yet; use a webhook", req.Environment.Name, kind)}
		}
		if req.Task != TaskRollback {
			// Runs only when the migrations gate found changed migrations.
			steps = append(steps, store.Step{Name: stepDBBackup})
		}
	}
	for _, e := range execs {
		if req.Task == TaskRollback && e.Action == "deploy" {
			e.Action = "rollback"
		}
		spec, _ := json.Marshal(e)
		steps = append(steps, store.Step{Name: stepExecute, Spec: string(spec)})
	}
	return append(steps, store.Step{Name: stepVerify}, store.Step{Name: stepFinish}), nil
}

// strategySteps returns the executor calls of a strategy. New strategies add
// a case here; the pipeline itself does not change.
func strategySteps(strategy string) ([]ExecSpec, error) {
	switch strategy {
	case "direct":
		return []ExecSpec{{Action: "deploy", Index: 1, Total: 1}}, nil
	default:
		return nil, fmt.Errorf("the %s strategy is not available yet; use `--strategy direct`", strategy)
	}
}

// notYetSupported lists configured safeguards the pipeline does not run yet.
// Deploying while silently skipping a gate someone configured would be
// unsafe, so such requests are refused (fail closed).
func notYetSupported(env *config.Environment) []string {
	var out []string
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"`verify.smoke`", len(env.Verify.Smoke) > 0},
		{"`verify.metrics`", env.Verify.Metrics != nil},
		{"`monitor`", env.Monitor.Enabled()},
		{"automatic rollback", env.Rollback.Automatic},
	} {
		if c.set {
			out = append(out, c.name)
		}
	}
	return out
}
