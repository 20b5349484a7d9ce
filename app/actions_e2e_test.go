package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/internal/githubsim"
)

// actionsConfig: qa is deployed by a GitHub Actions workflow; production is
// deployed by Actions jobs that deploybot guards as a protection rule.
const actionsConfig = `default_environment: qa
environments:
  qa:
    executor: { actions: { workflow: deploy.yml, ref: main, inputs: { region: eu }, timeout: 30m } }
  production:
    production: true
    permission: maintain
    executor: { external: {} }
    gates:
      checks: { wait: 20m }
      security: { block_on: high }
`

func (s *story) waitForRun(n int) githubsim.WorkflowRun {
	s.t.Helper()
	var runs []githubsim.WorkflowRun
	if err := s.Sim.WaitFor(s.ctx, func() bool { runs = s.Sim.WorkflowRuns(SandboxRepoFull); return len(runs) >= n }); err != nil {
		s.t.Fatalf("waiting for %d workflow runs: %v", n, err)
	}
	return runs[n-1]
}

// A writer deploys to qa; deploybot dispatches deploy.yml with the step
// as inputs, waits (no requests) until the run completes, and its
// conclusion decides. The run's URL is the statuses' log_url.
func TestActionsExecutorCompletesOnWorkflowRun(t *testing.T) {
	t.Parallel()
	s := newStory(t, actionsConfig)
	s.Repo.AddWorkflow("deploy.yml", "Deploy")
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/qa", "walt")
	s.comment(pr, "walt", "/deploy qa")

	run := s.waitForRun(1)
	s.settle()
	d := s.Sim.Deployments(SandboxRepoFull)[0]
	if run.Event != "workflow_dispatch" || run.HeadBranch != "main" {
		t.Errorf("run = %s on %s", run.Event, run.HeadBranch)
	}
	var step map[string]any
	if err := json.Unmarshal([]byte(run.Inputs["step"]), &step); err != nil || step["action"] != "deploy" || step["sha"] != sha {
		t.Errorf("step input = %q (%v)", run.Inputs["step"], err)
	}
	if run.Inputs["sha"] != sha || run.Inputs["environment"] != "qa" || run.Inputs["region"] != "eu" || run.Inputs["deployment_id"] != itoa64(d.ID) {
		t.Errorf("inputs = %v", run.Inputs)
	}
	s.Sim.ResetRequests()
	s.settle()
	if n := len(s.Sim.Requests()); n != 0 {
		t.Errorf("waiting for the run made %d requests", n)
	}

	s.Sim.CompleteWorkflowRun(run.ID, "success")
	d = s.deploymentsFinished(1)[0]
	if d.LatestState() != "success" {
		t.Fatalf("statuses = %v", states(d))
	}
	if last := d.Statuses[len(d.Statuses)-1]; !strings.Contains(last.LogURL, "/actions/runs/") {
		t.Errorf("log_url = %q, want the workflow run", last.LogURL)
	}

	pr2, _ := s.openPR("feature/qa-bad", "walt")
	s.comment(pr2, "walt", "/deploy qa")
	run2 := s.waitForRun(2)
	s.Sim.CompleteWorkflowRun(run2.ID, "failure")
	deps := s.deploymentsFinished(2)
	if deps[1].LatestState() != "failure" {
		t.Fatalf("second deployment = %v", states(deps[1]))
	}
	contains(t, "failure status", deps[1].Statuses[len(deps[1].Statuses)-1].Description, "concluded failure")
}

// An Actions job deploys to production, guarded by deploybot as a custom
// protection rule: deploybot runs the gates (not waiting on the job that
// waits on it) and approves; a critical alert gets the next run rejected.
func TestProtectionRuleApprovesAndRejects(t *testing.T) {
	t.Parallel()
	s := newStory(t, actionsConfig)
	s.Repo.SetPermission("octocat", "maintain")
	sha := s.Repo.Head("main")
	s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	run := s.Repo.AddWorkflowRun("release.yml", "push", "main", sha)
	s.Sim.AddWorkflowJob(run, "deploy-production", "in_progress", "") // the job waiting on the rule
	dep := s.Sim.RequestDeploymentProtection(SandboxRepoFull, "production", "", run)

	s.settle()
	if a := s.Sim.ProtectionAnswers(run); len(a) != 0 {
		t.Fatalf("answered while CI was pending: %+v", a)
	}
	s.Sim.CompleteCheckRun(s.checkRun(sha, "ci/test").ID, "success")
	if err := s.Sim.WaitFor(s.ctx, func() bool { return len(s.Sim.ProtectionAnswers(run)) == 1 }); err != nil {
		t.Fatal("no answer after CI passed")
	}
	a := s.Sim.ProtectionAnswers(run)[0]
	if a.State != "approved" || a.Environment != "production" || len(a.Comment) > 1024 {
		t.Fatalf("answer = %+v", a)
	}
	contains(t, "answer comment", a.Comment, "overall_status=PASS")
	s.settle()
	deps := s.Sim.Deployments(SandboxRepoFull)
	if len(deps) != 1 || deps[0].ID != dep {
		t.Fatalf("deployments = %v; deploybot must not create its own", summarize(deps))
	}
	for _, st := range deps[0].Statuses {
		if st.Creator == s.Sim.BotLogin() {
			t.Errorf("deploybot posted %s on the Actions deployment; Actions reports its own statuses", st.State)
		}
	}
	if cr := s.checkRun(sha, "deploy/production: checks"); cr.Conclusion != "success" {
		t.Errorf("checks gate = %s %q (the waiting job must not be waited for)", cr.Conclusion, cr.Output.Title)
	}

	s.Sim.CompleteWorkflowRun(run, "success") // the approved job deployed
	s.Repo.AddCodeScanningAlert("critical", "go/command-injection", "Command built from user input")
	run2 := s.Repo.AddWorkflowRun("release.yml", "push", "main", sha)
	s.Sim.RequestDeploymentProtection(SandboxRepoFull, "production", "", run2)
	if err := s.Sim.WaitFor(s.ctx, func() bool { return len(s.Sim.ProtectionAnswers(run2)) == 1 }); err != nil {
		t.Fatal("no answer for the second run")
	}
	a = s.Sim.ProtectionAnswers(run2)[0]
	if a.State != "rejected" {
		t.Fatalf("answer = %+v", a)
	}
	contains(t, "answer comment", a.Comment, "overall_status=BLOCK")
	contains(t, "answer comment", a.Comment, "code scanning #1 (critical)")
}

func itoa64(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
