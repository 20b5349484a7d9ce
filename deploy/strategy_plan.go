package deploy

import (
	"fmt"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// A strategy is a list of ordinary steps (DESIGN.md §6): executor calls,
// health checks between them and pauses, followed after `verify` by the
// undo steps that reverse a failed or aborted rollout. The pipeline runs
// them like any other step; only the cursor's jumps know about undo
// (next forward step done → past the undo steps; a failure → the first
// undo step).

// rolloutPlan is a strategy's part of a deployment's steps.
type rolloutPlan struct {
	forward []store.Step // between backup and verify
	undo    []store.Step // between verify and finish
}

// pauseSpec is a pause step's parameters.
type pauseSpec struct {
	Weight   int             `json:"weight,omitempty"` // canary weight reached (0: blue-green)
	Duration config.Duration `json:"duration,omitzero"`
	Manual   bool            `json:"manual,omitempty"`
}

// checkSpec is a check step's parameters: the environment's health checks,
// against the preview URL when it is set (blue-green's idle slot).
type checkSpec struct {
	Preview string `json:"preview,omitempty"`
}

func weight(w int) *int { return &w }

func execStep(e ExecSpec) store.Step { return store.Step{Name: stepExecute, Spec: specJSON(e)} }

// strategySteps lays out a strategy's steps for env. New strategies add a
// case here; the pipeline itself does not change.
func strategySteps(env *config.Environment, strategy string) (rolloutPlan, error) {
	checkBetween := len(env.Verify.Health) > 0
	switch strategy {
	case config.StrategyDirect:
		return rolloutPlan{forward: []store.Step{execStep(ExecSpec{Action: "deploy", Index: 1, Total: 1})}}, nil

	case config.StrategyCanary:
		c := env.Strategy.Canary
		if c == nil || len(c.Steps) == 0 {
			return rolloutPlan{}, fmt.Errorf("the canary strategy needs its steps in `.github/deploy.yml`: strategy: { canary: { steps: [{ weight: 10, pause: 5m }, { weight: 100 }] } }")
		}
		var p rolloutPlan
		n := len(c.Steps)
		for i, cs := range c.Steps {
			p.forward = append(p.forward, execStep(ExecSpec{Action: "deploy", Index: i + 1, Total: n, Weight: weight(cs.Weight)}))
			if i == n-1 {
				break // the last step is verified by verify
			}
			if checkBetween {
				p.forward = append(p.forward, store.Step{Name: stepCheck, Spec: mustJSON(checkSpec{})})
			}
			if cs.Manual || cs.Pause.Duration > 0 {
				p.forward = append(p.forward, store.Step{Name: stepPause, Spec: mustJSON(pauseSpec{Weight: cs.Weight, Duration: cs.Pause, Manual: cs.Manual})})
			}
		}
		// Stable takes all traffic back: one call at weight 0.
		p.undo = []store.Step{execStep(ExecSpec{Action: "abort", Index: 1, Total: 1, Weight: weight(0), Undo: true})}
		return p, nil

	case config.StrategyBlueGreen:
		bg := env.Strategy.BlueGreen
		if bg == nil {
			bg = &config.BlueGreen{AutoPromote: true}
		}
		p := rolloutPlan{forward: []store.Step{execStep(ExecSpec{Action: "deploy", Index: 1, Total: 2})}}
		if bg.PreviewURL != "" {
			p.forward = append(p.forward, store.Step{Name: stepCheck, Spec: mustJSON(checkSpec{Preview: bg.PreviewURL})})
		}
		if !bg.AutoPromote {
			p.forward = append(p.forward, store.Step{Name: stepPause, Spec: mustJSON(pauseSpec{Manual: true})})
		}
		p.forward = append(p.forward, execStep(ExecSpec{Action: "switch", Index: 2, Total: 2}))
		// Before the switch nothing changed for users; after it, switch back.
		p.undo = []store.Step{execStep(ExecSpec{Action: "switch", Index: 1, Total: 1, Undo: true})}
		return p, nil

	case config.StrategyRolling:
		r := env.Strategy.Rolling
		if r == nil {
			return rolloutPlan{}, fmt.Errorf("the rolling strategy needs its batches in `.github/deploy.yml`: strategy: { rolling: { batches: 3 } }")
		}
		var p rolloutPlan
		n := r.BatchCount()
		for k := 1; k <= n; k++ {
			from, to := r.BatchRange(k)
			p.forward = append(p.forward, execStep(ExecSpec{Action: "deploy", Index: k, Total: n, Batch: k, InstanceFrom: from, InstanceTo: to}))
			if k < n && checkBetween {
				p.forward = append(p.forward, store.Step{Name: stepCheck, Spec: mustJSON(checkSpec{})})
			}
		}
		// Updated batches go back, newest first; a batch never reached is skipped.
		for k := n; k >= 1; k-- {
			from, to := r.BatchRange(k)
			p.undo = append(p.undo, execStep(ExecSpec{Action: "rollback", Index: n - k + 1, Total: n, Batch: k, InstanceFrom: from, InstanceTo: to, Undo: true}))
		}
		return p, nil
	}
	return rolloutPlan{}, fmt.Errorf("unknown strategy %q: use direct, canary, blue-green or rolling", strategy)
}
