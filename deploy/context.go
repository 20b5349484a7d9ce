package deploy

import (
	"encoding/json"

	"github.com/deploybot/deploybot/checks"
)

// RunContext is what a trigger brought along, kept with the deployment
// (store column context) so every step sees it after a restart.
type RunContext struct {
	// DefaultBranch of the repository when the request was accepted.
	DefaultBranch string `json:"default_branch,omitempty"`
	// Release behind a release-triggered deployment.
	Release *checks.Release `json:"release,omitempty"`
	// Adopted means the GitHub Deployment was created by someone else and
	// deploybot drives it (no second deployment is created).
	Adopted bool `json:"adopted,omitempty"`
	// ProtectionRun is the Actions workflow run waiting for deploybot's
	// verdict as a custom deployment protection rule.
	ProtectionRun *ProtectionRun `json:"protection_run,omitempty"`
	// Then lists environments to deploy next, in order, each only after the
	// previous one succeeded (`/deploy staging,qa`).
	Then []string `json:"then,omitempty"`
	// Force records an admin's `--force` (a rollback outside its window).
	Force bool `json:"force,omitempty"`
	// Slot is the blue-green slot this deployment deploys to (the one idle
	// when its first step ran); LiveSlotSHA what the other slot held then.
	Slot        string `json:"slot,omitempty"`
	LiveSlotSHA string `json:"live_slot_sha,omitempty"`
	// SwitchBack makes a blue-green rollback one switch to the slot that
	// still holds the version rolled back to (within keep_previous).
	SwitchBack bool `json:"switch_back,omitempty"`
	// Cause is the failed deployment an automatic rollback undoes.
	Cause *RollbackCause `json:"cause,omitempty"`
}

// ProtectionRun identifies the workflow run a protection rule answers.
type ProtectionRun struct {
	RunID       int64  `json:"run_id"`
	CallbackURL string `json:"callback_url"`
	// CheckSuiteID is the run's check suite: its jobs are not waited for.
	CheckSuiteID int64 `json:"check_suite_id,omitempty"`
}

func (c RunContext) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

func decodeContext(s string) RunContext {
	var c RunContext
	_ = json.Unmarshal([]byte(s), &c)
	return c
}

// RollbackCause links an automatic rollback to the failure behind it.
type RollbackCause struct {
	DeploymentID int64  `json:"deployment_id"` // deploybot's id
	Reason       string `json:"reason"`
	LogURL       string `json:"log_url,omitempty"`
}
