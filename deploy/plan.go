package deploy

import (
	"encoding/json"
	"fmt"

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
	if kind := req.Environment.Executor.Kind(); kind != "webhook" {
		return nil, permanentError{fmt.Errorf("the %s executor is not available yet; use a webhook executor for %s", kind, req.Environment.Name)}
	}
	execs, err := strategySteps(strategy)
	if err != nil {
		return nil, permanentError{err}
	}
	steps := []store.Step{{Name: stepCreateDeployment}, {Name: stepComment}, {Name: stepLock}, {Name: stepGates}, {Name: stepBackup}}
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
