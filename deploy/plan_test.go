package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/executor"
)

func webhookEnv() *config.Environment {
	return &config.Environment{Name: "staging", Executor: config.Executor{Webhook: &config.WebhookExecutor{URL: "https://d.example/h"}}}
}

func migrationsEnv() *config.Environment {
	env := webhookEnv()
	env.Gates.Migrations = &config.MigrationsGate{Paths: []string{"db/**"},
		Backup: &config.Executor{Webhook: &config.WebhookExecutor{URL: "https://d.example/backup"}}}
	return env
}

func TestPlanSteps(t *testing.T) {
	names := func(req Request, strategy string) (string, error) {
		steps, err := planSteps(req, strategy)
		var out []string
		for _, st := range steps {
			if st.Spec == "{}" && st.Name != stepCheck {
				st.Spec = ""
			}
			out = append(out, st.Name+st.Spec)
		}
		return strings.Join(out, " "), err
	}
	for _, tc := range []struct {
		name     string
		req      Request
		strategy string
		want     string
		wantErr  string
	}{
		{name: "direct deploy", req: Request{Environment: webhookEnv(), Task: TaskDeploy}, strategy: "direct",
			want: `create-deployment comment lock gates backup execute{"action":"deploy","index":1,"total":1} verify finish`},
		{name: "rollback sends the rollback action", req: Request{Environment: webhookEnv(), Task: TaskRollback}, strategy: "direct",
			want: `create-deployment comment lock gates backup execute{"action":"rollback","index":1,"total":1} verify finish`},
		{name: "dry run deploys nothing", req: Request{Environment: webhookEnv(), DryRun: true}, strategy: "direct",
			want: `comment gates finish`},
		{name: "migrations backup hook runs right before deploying", req: Request{Environment: migrationsEnv(), Task: TaskDeploy}, strategy: "direct",
			want: `create-deployment comment lock gates backup db-backup execute{"action":"deploy","index":1,"total":1} verify finish`},
		{name: "rollbacks never run the migrations backup", req: Request{Environment: migrationsEnv(), Task: TaskRollback}, strategy: "direct",
			want: `create-deployment comment lock gates backup execute{"action":"rollback","index":1,"total":1} verify finish`},
		{name: "canary without steps", req: Request{Environment: webhookEnv()}, strategy: "canary", wantErr: "canary strategy needs its steps"},
		{name: "canary: a call per weight, checks and pauses between, abort at weight 0 to undo", req: Request{Environment: canaryEnv(), Task: TaskDeploy}, strategy: "canary",
			want: `create-deployment comment lock gates backup ` +
				`execute{"action":"deploy","index":1,"total":3,"weight":10} check{} pause{"weight":10,"duration":"5m"} ` +
				`execute{"action":"deploy","index":2,"total":3,"weight":50} check{} pause{"weight":50,"manual":true} ` +
				`execute{"action":"deploy","index":3,"total":3,"weight":100} verify ` +
				`execute{"action":"abort","index":1,"total":1,"weight":0,"undo":true} finish`},
		{name: "blue-green: deploy the idle slot, check the preview, wait for Promote, switch; switch back to undo", req: Request{Environment: blueGreenEnv(), Task: TaskDeploy}, strategy: "blue-green",
			want: `create-deployment comment lock gates backup execute{"action":"deploy","index":1,"total":2} check{"preview":"https://preview.example"} ` +
				`pause{"manual":true} execute{"action":"switch","index":2,"total":2} verify execute{"action":"switch","index":1,"total":1,"undo":true} finish`},
		{name: "rolling: a call per batch with its instances; undo newest first", req: Request{Environment: rollingEnv(), Task: TaskDeploy}, strategy: "rolling",
			want: `create-deployment comment lock gates backup ` +
				`execute{"action":"deploy","index":1,"total":2,"batch":1,"instance_from":1,"instance_to":3} ` +
				`execute{"action":"deploy","index":2,"total":2,"batch":2,"instance_from":4,"instance_to":5} verify ` +
				`execute{"action":"rollback","index":1,"total":2,"batch":2,"instance_from":4,"instance_to":5,"undo":true} ` +
				`execute{"action":"rollback","index":2,"total":2,"batch":1,"instance_from":1,"instance_to":3,"undo":true} finish`},
		{name: "command executor: one step like any executor", req: Request{Environment: &config.Environment{Name: "p", Executor: config.Executor{Command: &config.CommandExecutor{Argv: []string{"./deploy"}}}}},
			strategy: "direct", want: `create-deployment comment lock gates backup execute{"action":"deploy","index":1,"total":1} verify finish`},
		{name: "an external executor deploys in one step", req: Request{Environment: &config.Environment{Name: "p", Executor: config.Executor{External: &config.ExternalExecutor{}}}},
			strategy: "canary", wantErr: "external executor deploys on its own"},
		{name: "protection rule: gates and the answer only", req: Request{Environment: webhookEnv(), Task: TaskProtection}, strategy: "direct",
			want: `gates finish`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := names(tc.req, tc.strategy)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !permanent(err) {
					t.Fatalf("err = %v, want permanent %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("plan = %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}

// A server that does not allow commands refuses a command executor before
// anything happens, and says what to do.
func TestCommandExecutorOffUnlessTheServerAllowsIt(t *testing.T) {
	env := &config.Environment{Name: "prod", Executor: config.Executor{Command: &config.CommandExecutor{Argv: []string{"./deploy.sh"}}}}
	s := &Service{}
	_, _, err := s.prepare(Request{Environment: env, Task: TaskDeploy})
	if err == nil || !permanent(err) || !strings.Contains(err.Error(), "DEPLOYBOT_ALLOW_COMMANDS=true") {
		t.Fatalf("err = %v, want a permanent refusal naming DEPLOYBOT_ALLOW_COMMANDS=true", err)
	}
	s.Commands = &executor.Command{}
	if _, _, err := s.prepare(Request{Environment: env, Task: TaskDeploy}); err != nil {
		t.Fatalf("with commands allowed: %v", err)
	}
}

func canaryEnv() *config.Environment {
	env := webhookEnv()
	env.Verify.Health = []config.HealthCheck{{URL: "https://staging.example/healthz"}}
	env.Strategy = config.Strategy{Name: "canary", Canary: &config.Canary{Steps: []config.CanaryStep{
		{Weight: 10, Pause: config.D(5 * time.Minute)}, {Weight: 50, Manual: true}, {Weight: 100}}}}
	return env
}

func blueGreenEnv() *config.Environment {
	env := webhookEnv()
	env.Strategy = config.Strategy{Name: "blue-green", BlueGreen: &config.BlueGreen{PreviewURL: "https://preview.example"}}
	return env
}

func rollingEnv() *config.Environment {
	env := webhookEnv()
	env.Strategy = config.Strategy{Name: "rolling", Rolling: &config.Rolling{Instances: 5, BatchSize: 3}}
	return env
}
