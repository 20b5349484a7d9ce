package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store"
)

// The executor protocol of DESIGN.md §7 from the deployer's side: the
// target answers 202 Accepted and reports the result later by a signed
// POST to callback_url. These stories hold the target's callbacks so the
// test decides when (and what) it reports.

// accepted deploys pr to staging with the target holding its callbacks, and
// returns the n-th callback it owes once deploybot waits for it (every job
// done but the durable timer).
func (s *story) accepted(pr, n int) Callback {
	s.t.Helper()
	s.comment(pr, "walt", "/deploy staging")
	pending, err := s.Target.PendingCallbacks(s.ctx, n)
	if err != nil {
		s.t.Fatal(err)
	}
	s.settle()
	return pending[n-1]
}

// report sends the target's callback for cb with state and checks deploybot's answer.
func (s *story) report(cb Callback, state string, want int) {
	s.t.Helper()
	code, err := s.Target.SendCallback(s.ctx, cb, state)
	if err != nil || code != want {
		s.t.Fatalf("callback %s: answered %d (%v), want %d", state, code, err, want)
	}
}

// post sends a callback body with a signature of the test's choosing.
func (s *story) post(body []byte, signature string) int {
	s.t.Helper()
	code, err := PostCallback(s.ctx, s.Server.URL+deploy.CallbackPath, body, signature)
	if err != nil {
		s.t.Fatal(err)
	}
	return code
}

// waitingStep returns the state of deployment id and its current step.
func (s *story) waitingStep(id int64) (string, store.Step) {
	s.t.Helper()
	d, err := s.App.Store.Deployment(s.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	steps, err := s.App.Store.Steps(s.ctx, id)
	if err != nil || d.Step >= len(steps) {
		s.t.Fatalf("steps of %d: %v", id, err)
	}
	return d.State, steps[d.Step]
}

// stepOf reads the deployment id and step index from an idempotency key.
func stepOf(t *testing.T, key string) (id int64, idx int) {
	t.Helper()
	rest, ok := strings.CutPrefix(key, "deploybot-"+SandboxRepoFull+"-")
	if _, err := fmt.Sscanf(rest, "%d-step-%d", &id, &idx); err != nil || !ok {
		t.Fatalf("idempotency key %q: %v", key, err)
	}
	return id, idx
}

func repoKey(repo string) []byte { return deploy.ExecutorKey([]byte(sandboxExecutorSecret), repo) }

// The executor answers 202; deploybot waits without a single request to
// GitHub (a durable timer at the deadline is all that is left), then the
// signed callback reports success and the deployment completes.
func TestExecutorAcceptsThenReportsSuccess(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	s.Target.HoldCallbacks()
	pr, sha := s.openPR("feature/slow-deploy", "walt")
	cb := s.accepted(pr, 1)
	if cb.URL != s.Server.URL+deploy.CallbackPath {
		t.Errorf("callback_url = %q, want deploybot's public URL + %s", cb.URL, deploy.CallbackPath)
	}
	calls, keys := s.Target.Calls()
	if len(calls) != 1 || calls[0].CallbackURL != cb.URL || keys[0] != cb.Key {
		t.Fatalf("executor calls %+v keys %v", calls, keys)
	}

	s.Sim.ResetRequests()
	s.settle()
	if n := len(s.Sim.Requests()); n != 0 {
		t.Errorf("deploybot made %d GitHub requests while the executor worked: %v", n, s.Sim.Requests())
	}
	if n, err := s.App.Store.ScheduledJobs(s.ctx, deploy.WakeArgs{}.Kind()); err != nil || n != 1 {
		t.Errorf("durable timers = %d (%v), want 1 (the executor's deadline)", n, err)
	}
	id, _ := stepOf(t, cb.Key)
	if state, st := s.waitingStep(id); state != store.StateWaiting || st.Name != "execute" {
		t.Errorf("deployment %s at step %s, want waiting at execute", state, st.Name)
	}
	if d := s.Sim.Deployments(SandboxRepoFull)[0]; d.LatestState() != "in_progress" {
		t.Errorf("status while the executor works = %v", states(d))
	}

	s.report(cb, "success", 204)
	deps := s.deploymentsFinished(1)
	if deps[0].LatestState() != "success" || s.Target.Live("staging") != sha {
		t.Fatalf("deployment ended %v, live %q", states(deps[0]), s.Target.Live("staging"))
	}
	s.report(cb, "success", 204) // a repeat is idempotent
	s.report(cb, "failure", 409) // and a finished step changes no more
	if deps := s.Sim.Deployments(SandboxRepoFull); deps[0].LatestState() != "success" {
		t.Errorf("late callback changed the deployment: %v", states(deps[0]))
	}
	if calls, _ := s.Target.Calls(); len(calls) != 1 {
		t.Errorf("executor called %d times, want once", len(calls))
	}
}

// The executor reports failure: the deployment fails and says only that
// (nothing of the callback but its state is kept).
func TestExecutorReportsFailure(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	s.Target.HoldCallbacks()
	pr, _ := s.openPR("feature/doomed", "walt")
	cb := s.accepted(pr, 1)
	body := []byte(`{"idempotency_key":"` + cb.Key + `","state":"failure","detail":"DATABASE_PASSWORD=SECRET-VALUE"}`)
	if code := s.post(body, deploy.Sign(repoKey(SandboxRepoFull), body)); code != 204 {
		t.Fatalf("failure callback answered %d", code)
	}
	deps := s.deploymentsFinished(1)
	last := deps[0].Statuses[len(deps[0].Statuses)-1]
	if last.State != "failure" || !strings.Contains(last.Description, "executor reported failure") {
		t.Fatalf("final status %s %q, want failure: executor reported failure", last.State, last.Description)
	}
	for _, c := range s.deploybotComments(pr) {
		if strings.Contains(c, "SECRET-VALUE") {
			t.Errorf("the callback's text reached the record:\n%s", c)
		}
	}
}

// An executor that accepts and never reports fails at its deadline, woken
// by the durable timer (a 2s timeout here).
func TestExecutorThatNeverReportsFailsAtTheDeadline(t *testing.T) {
	t.Parallel()
	s := newStory(t, strings.ReplaceAll(SandboxConfig, "url: TARGET/hooks/staging", "url: TARGET/hooks/staging, timeout: 2s"))
	s.Repo.SetPermission("walt", "write")
	s.Target.HoldCallbacks()
	pr, _ := s.openPR("feature/silent", "walt")
	s.accepted(pr, 1)
	deps := s.deploymentsFinished(1)
	last := deps[0].Statuses[len(deps[0].Statuses)-1]
	if last.State != "failure" || !strings.Contains(last.Description, "the executor reported no result within 2s") {
		t.Fatalf("final status %s %q", last.State, last.Description)
	}
}

// Callbacks that are not the executor's own for this step change nothing:
// a forged signature, another repository's key, a step of another
// deployment or another step of this one.
func TestForeignCallbacksAreRefused(t *testing.T) {
	t.Parallel()
	s := newStory(t, strings.Replace(SandboxConfig, "    executor: { webhook: { url: TARGET/hooks/staging } }\n",
		"    executor: { webhook: { url: TARGET/hooks/staging } }\n"+
			"    gates: { migrations: { paths: [\"db/**\"], backup: { webhook: { url: TARGET/hooks/db-backup } } } }\n", 1))
	s.Repo.SetPermission("walt", "write")
	s.Target.HoldCallbacks()

	// Deployment 1 changes a migration: the database backup hook and the
	// executor both answer 202 and report by callback.
	pr1, _ := s.openPR("feature/one", "walt")
	s.Repo.Commit("feature/one", map[string]string{"db/0002_orders.sql": "ALTER TABLE orders ADD note text;"}, "migration")
	first := s.accepted(pr1, 1)
	if calls, _ := s.Target.Calls(); len(calls) != 1 || calls[0].Step.Action != "backup" {
		t.Fatalf("first call %+v, want the backup hook", calls)
	}
	firstBody := CallbackBody(first.Key, "success")
	firstSig := deploy.Sign(repoKey(SandboxRepoFull), firstBody)
	if code := s.post(firstBody, firstSig); code != 204 {
		t.Fatalf("step 1 callback answered %d", code)
	}
	pending, err := s.Target.PendingCallbacks(s.ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	s.settle()
	second := pending[1]
	id1, idx1 := stepOf(t, first.Key)
	if id, idx := stepOf(t, second.Key); id != id1 || idx == idx1 {
		t.Fatalf("second step key %q, first %q", second.Key, first.Key)
	}
	// The backup's callback again, while the deploy step waits: a repeat
	// for the backup step (answered as such), nothing for the deploy step.
	if code := s.post(firstBody, firstSig); code != 204 {
		t.Errorf("the backup step's callback repeated: %d, want 204", code)
	}
	if code := s.post(CallbackBody(first.Key, "failure"), deploy.Sign(repoKey(SandboxRepoFull), CallbackBody(first.Key, "failure"))); code != 409 {
		t.Errorf("another result for the finished backup step: %d, want 409", code)
	}
	if state, st := s.waitingStep(id1); state != store.StateWaiting || st.Index == idx1 {
		t.Errorf("after the replay: %s at step %d", state, st.Index)
	}
	s.report(second, "success", 204)
	if deps := s.deploymentsFinished(1); deps[0].LatestState() != "success" {
		t.Fatalf("deployment 1 ended %v", states(deps[0]))
	}

	// Deployment 2 waits for its executor (the backup hook first: the
	// migration it lacks is live).
	pr2, _ := s.openPR("feature/two", "walt")
	cb := s.accepted(pr2, 3)
	id2, _ := stepOf(t, cb.Key)
	_, waiting := s.waitingStep(id2)
	body := CallbackBody(cb.Key, "success")
	otherRepoKey := repoKey(SandboxOwner + "/other")
	otherRepoBody := CallbackBody(strings.Replace(cb.Key, SandboxRepoFull, SandboxOwner+"/other", 1), "success")
	for _, tc := range []struct {
		name      string
		body      []byte
		signature string
		want      int
	}{
		{"no signature", body, "", 401},
		{"signed with the server secret itself", body, deploy.Sign([]byte(sandboxExecutorSecret), body), 401},
		{"signed with another repository's key", body, deploy.Sign(otherRepoKey, body), 401},
		{"another repository naming this deployment", otherRepoBody, deploy.Sign(otherRepoKey, otherRepoBody), 404},
		{"deployment 1's signature on deployment 2's body", body, firstSig, 401},
		{"deployment 1's step replayed", firstBody, firstSig, 204}, // a repeat for deployment 1
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := s.post(tc.body, tc.signature); code != tc.want {
				t.Errorf("answered %d, want %d", code, tc.want)
			}
			if state, st := s.waitingStep(id2); state != store.StateWaiting || st.Index != waiting.Index || st.State != store.StepPending {
				t.Errorf("deployment 2 is %s at %s (%s), want waiting at %s", state, st.Name, st.State, waiting.Name)
			}
		})
	}
	s.report(cb, "success", 204)
	pending, err = s.Target.PendingCallbacks(s.ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	s.report(pending[3], "success", 204)
	if deps := s.deploymentsFinished(2); deps[1].LatestState() != "success" {
		t.Fatalf("deployment 2 ended %v", states(deps[1]))
	}
}

// deploybot restarts while the executor works: the wait and the result are
// in the database, so the callback still completes the deployment.
func TestRestartWhileTheExecutorWorks(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	s.Target.HoldCallbacks()
	pr, sha := s.openPR("feature/long", "walt")
	cb := s.accepted(pr, 1)
	if err := s.Restart(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.report(cb, "success", 204)
	deps := s.deploymentsFinished(1)
	if deps[0].LatestState() != "success" || s.Target.Live("staging") != sha {
		t.Fatalf("after restart: %v", states(deps[0]))
	}
	if calls, _ := s.Target.Calls(); len(calls) != 1 {
		t.Errorf("executor called %d times across the restart, want once", len(calls))
	}
}
