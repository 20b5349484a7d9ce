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
	stepDBBackup         = "db-backup"
	stepExecute          = "execute"
	stepCheck            = "check" // health checks between the steps of a rollout
	stepPause            = "pause" // a canary pause, or blue-green's wait for Promote
	stepVerify           = "verify"
	stepFinish           = "finish"
)

// ExecSpec is the strategy-specific part of an execute step; it becomes the
// `step` object of the executor's JSON.
type ExecSpec struct {
	Action string `json:"action"` // deploy | switch | rollback | abort
	Index  int    `json:"index"`
	Total  int    `json:"total"`
	// Weight is the canary's traffic share: present on every canary call,
	// 0 on abort, absent otherwise.
	Weight *int   `json:"weight,omitempty"`
	Slot   string `json:"slot,omitempty"`
	Batch  int    `json:"batch,omitempty"`
	// InstanceFrom and InstanceTo bound a rolling batch when the rollout
	// counts instances (1-based, inclusive).
	InstanceFrom int `json:"instance_from,omitempty"`
	InstanceTo   int `json:"instance_to,omitempty"`
	// Undo marks a step that runs only when the rollout failed or was
	// aborted: it reverses what the forward steps changed (never sent).
	Undo bool `json:"-"`
}

// specJSON is how a spec is stored on its step (Undo included).
func specJSON(e ExecSpec) string {
	type stored ExecSpec
	b, _ := json.Marshal(struct {
		stored
		Undo bool `json:"undo,omitempty"`
	}{stored(e), e.Undo})
	return string(b)
}

// parseSpec reads a step's stored spec.
func parseSpec(s string) ExecSpec {
	var out struct {
		ExecSpec
		Undo bool `json:"undo"`
	}
	_ = json.Unmarshal([]byte(s), &out)
	out.ExecSpec.Undo = out.Undo
	return out.ExecSpec
}

// planSteps lays out the durable steps for a request.
func planSteps(req Request, strategy string) ([]store.Step, error) {
	if req.DryRun {
		return []store.Step{{Name: stepComment}, {Name: stepGates}, {Name: stepFinish}}, nil
	}
	if req.Task == TaskProtection { // Actions deploys; deploybot answers after its gates
		return []store.Step{{Name: stepGates}, {Name: stepFinish}}, nil
	}
	if req.Environment.Executor.External != nil && strategy != "direct" {
		return nil, permanentError{fmt.Errorf("an external executor deploys on its own: the %s strategy needs a webhook or actions executor", strategy)}
	}
	rollout, err := strategySteps(req.Environment, strategy)
	if req.Context.SwitchBack {
		// The other slot still runs the version rolled back to: one switch.
		rollout, err = rolloutPlan{forward: []store.Step{execStep(ExecSpec{Action: "switch", Index: 1, Total: 1})}}, nil
	}
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
	for _, st := range rollout.forward {
		if e := parseSpec(st.Spec); st.Name == stepExecute && req.Task == TaskRollback && e.Action == "deploy" {
			e.Action = "rollback"
			st.Spec = specJSON(e)
		}
		steps = append(steps, st)
	}
	steps = append(steps, store.Step{Name: stepVerify})
	steps = append(steps, smokeSteps(req.Environment.Verify.Smoke)...)
	if req.Environment.Verify.Metrics != nil {
		steps = append(steps, store.Step{Name: stepAnalysis})
	}
	steps = append(steps, rollout.undo...)
	return append(steps, store.Step{Name: stepFinish}), nil
}
