package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store/storetest"
)

// commandStory is a story whose staging environment deploys with a script
// on deploybot's host; allow is DEPLOYBOT_ALLOW_COMMANDS.
func commandStory(t *testing.T, allow bool, script string) (*story, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "deploy.sh")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(script, "DIR", dir)), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := `environments:
  staging:
    executor: { command: { argv: ["` + path + `", "--env", "staging"], timeout: 1m } }
`
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	sb, err := NewSandbox(ctx, SandboxOptions{TB: t, DatabaseURL: storetest.URL(t), Logger: &logger, Config: cfg, AllowCommands: allow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return &story{t: t, Sandbox: sb, ctx: ctx}, dir
}

// An operator allows commands; a team deploys staging with its own script.
// The script gets the step on stdin and DEPLOY_* variables, and none of
// deploybot's secrets; what it prints is on the record page, masked, and
// never on the pull request.
func TestCommandExecutorDeploysWithTheTeamsScript(t *testing.T) {
	t.Parallel()
	s, dir := commandStory(t, true, `#!/bin/sh
cat > DIR/step.json
env > DIR/env.txt
echo "deploying $DEPLOY_SHA to $DEPLOY_ENVIRONMENT ($1 $2)"
echo "oops, printed the secret `+sandboxExecutorSecret+`" >&2
`)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/cart", "walt")
	s.comment(pr, "walt", "/deploy staging")
	d := s.deploymentsFinished(1)[0]
	if d.LatestState() != "success" {
		t.Fatalf("deployment ended %s: %v", d.LatestState(), states(d))
	}

	var step deploy.StepPayload
	b, _ := os.ReadFile(filepath.Join(dir, "step.json"))
	if err := json.Unmarshal(b, &step); err != nil || step.Action != "deploy" || step.SHA != sha || step.Environment != "staging" {
		t.Errorf("step JSON on stdin = %s (%v)", b, err)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env.txt"))
	for _, want := range []string{"DEPLOY_SHA=" + sha, "DEPLOY_ENVIRONMENT=staging", "DEPLOY_ACTION=deploy", "DEPLOY_REF=feature/cart", "DEPLOY_IDEMPOTENCY_KEY=deploybot-"} {
		contains(t, "the command's environment", string(env), want)
	}
	for _, secret := range []string{sandboxExecutorSecret, sandboxWebhookSecret, "GITHUB_APP_PRIVATE_KEY", "DEPLOYBOT_"} {
		if strings.Contains(string(env), secret) {
			t.Errorf("the command's environment holds %q:\n%s", secret, env)
		}
	}

	for _, body := range s.deploybotComments(pr) {
		if strings.Contains(body, "deploying "+sha) || strings.Contains(body, "oops") {
			t.Errorf("the PR record shows the command's output:\n%s", body)
		}
		contains(t, "the PR record", body, "the command exited 0")
	}
	logURL := d.Statuses[len(d.Statuses)-1].LogURL
	u, err := url.Parse(logURL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.Server.URL + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rec deploy.PublicRecord
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &rec); err != nil || len(rec.ExecutorOutput) != 1 {
		t.Fatalf("record page = %d %s", resp.StatusCode, raw)
	}
	out := rec.ExecutorOutput[0].Output
	contains(t, "the kept output", out, "deploying "+sha+" to staging (--env staging)")
	contains(t, "the kept output", out, "printed the secret ***")
	if strings.Contains(string(raw), sandboxExecutorSecret) {
		t.Errorf("the record page shows the executor secret")
	}
}

// A failing script fails the deployment with its exit status.
func TestCommandExecutorFailureEndsTheDeployment(t *testing.T) {
	t.Parallel()
	s, _ := commandStory(t, true, "#!/bin/sh\necho 'image not found' >&2\nexit 7\n")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/cart", "walt")
	s.comment(pr, "walt", "/deploy staging")
	d := s.deploymentsFinished(1)[0]
	last := d.Statuses[len(d.Statuses)-1]
	if last.State != "failure" || !strings.Contains(last.Description, "exited 7") || strings.Contains(last.Description, "image not found") {
		t.Errorf("final status = %s %q, want failure naming the exit status only", last.State, last.Description)
	}
}

// A server that does not allow commands says exactly that, and deploys nothing.
func TestCommandExecutorRefusedWhenTheServerDoesNotAllowIt(t *testing.T) {
	t.Parallel()
	s, dir := commandStory(t, false, "#!/bin/sh\ntouch DIR/ran\n")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/cart", "walt")
	s.comment(pr, "walt", "/deploy staging")
	s.settle()
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
		t.Errorf("%d deployments created", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the command ran")
	}
	replies := s.deploybotComments(pr)
	if len(replies) != 1 || !strings.Contains(replies[0], "DEPLOYBOT_ALLOW_COMMANDS=true") {
		t.Errorf("replies = %q, want one naming DEPLOYBOT_ALLOW_COMMANDS=true", replies)
	}
}
