package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/executor"
)

// commandsOff is the reply when a repository configures the command
// executor on a server that does not allow it.
func commandsOff(env string) error {
	return permanentError{fmt.Errorf("the command executor is off on this deploybot server: its operator has not set "+
		"DEPLOYBOT_ALLOW_COMMANDS=true, since a command runs on deploybot's own host. Use a webhook, actions or "+
		"external executor for %s, or ask the operator to allow commands", env)}
}

// usesCommands reports whether env runs anything on deploybot's host (its
// executor or a smoke step).
func usesCommands(env *config.Environment) bool {
	if env.Executor.Command != nil {
		return true
	}
	for _, sc := range env.Verify.Smoke {
		if sc.Command != nil {
			return true
		}
	}
	return false
}

// executeCommand runs a strategy step as the configured argv on
// deploybot's host: the step JSON on stdin, DEPLOY_* variables in its
// environment, exit status 0 = done. What it printed (the end of it,
// secrets masked) is kept on the step for the record page; records and
// statuses say only how it ended.
func (r *run) executeCommand(ctx context.Context, spec ExecSpec) (outcome, error) {
	if r.svc.Commands == nil {
		return outcome{}, commandsOff(r.d.Environment)
	}
	cfg := r.env.Executor.Command
	step := r.stepJSON(spec)
	stdin, _ := json.Marshal(step)
	w := ""
	if spec.Weight != nil {
		w = strconv.Itoa(*spec.Weight)
	}
	env := []string{
		"DEPLOY_ENVIRONMENT=" + r.d.Environment, "DEPLOY_SHA=" + r.d.SHA, "DEPLOY_REF=" + r.d.Ref,
		"DEPLOY_PREVIOUS_SHA=" + r.d.PreviousSHA, "DEPLOY_REPOSITORY=" + r.d.Repo,
		"DEPLOY_ACTION=" + spec.Action, "DEPLOY_STRATEGY=" + r.d.Strategy,
		"DEPLOY_WEIGHT=" + w, "DEPLOY_SLOT=" + spec.Slot, "DEPLOY_BATCH=" + strconv.Itoa(spec.Batch),
		"DEPLOY_DEPLOYMENT_ID=" + strconv.FormatInt(r.d.GitHubDeploymentID, 10),
		// A resumed step runs the command again with the same key.
		"DEPLOY_IDEMPOTENCY_KEY=" + r.idempotencyKey(),
	}
	res, err := r.svc.Commands.Run(ctx, cfg.Argv, stdin, env, cfg.Timeout.Duration)
	if err != nil {
		return fail("the command could not be started (" + err.Error() + "): check executor.command.argv in .github/deploy.yml and that the program exists on the deploybot host"), nil
	}
	switch {
	case res.TimedOut:
		timeout := cfg.Timeout.Duration
		if timeout <= 0 || timeout > executor.MaxCommandTimeout {
			timeout = executor.MaxCommandTimeout
		}
		reason := fmt.Sprintf("the command did not finish within %s and was stopped", timeout.Round(time.Second))
		return outcome{kind: outcomeFail, reason: reason, detail: reason, result: res}, nil
	case !res.OK():
		reason := fmt.Sprintf("the command exited %d", res.ExitCode)
		return outcome{kind: outcomeFail, reason: reason, detail: reason, result: res}, nil
	}
	return outcome{kind: outcomeDone, detail: "the command exited 0", result: res}, nil
}

// StepOutput is what a command step printed, for the record page.
type StepOutput struct {
	Step   string `json:"step"`
	Output string `json:"output"`
}

// commandOutputs collects the kept output of a record's command steps.
func commandOutputs(rec *Record) []StepOutput {
	var out []StepOutput
	for _, st := range rec.Steps {
		if st.Name != stepExecute {
			continue
		}
		var res executor.CommandResult
		if json.Unmarshal([]byte(st.Result), &res) == nil && res.Output != "" {
			out = append(out, StepOutput{Step: stepLabel(st), Output: res.Output})
		}
	}
	return out
}
