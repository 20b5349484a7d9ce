package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deploybot/deploybot/internal/loopback"
)

// shopAPI is the deployed shop's order API for smoke flows: it accepts an
// order posted with the right header and answers in JSON; while broken
// says so (the broken version is live) it answers the wrong state.
func shopAPI(t *testing.T, broken func() bool) *loopback.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Smoke") != "yes" || !strings.Contains(string(body), "smoke-test") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		state := "accepted"
		if broken() {
			state = "SECRET-internal-error-detail"
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"order": map[string]any{"state": state, "total": 0}})
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "Welcome to the shop") })
	srv, err := loopback.New(mux)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

const smokeConfig = `environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    rollback: { automatic: true }
    verify:
      smoke:
        - { url: SHOP/, contains: Welcome }
        - name: place an order
          url: SHOP/api/orders
          method: POST
          headers: { X-Smoke: "yes" }
          body: '{"item":"smoke-test"}'
          status: 201
          json: { order.state: accepted, order.total: 0 }
`

// The smoke flow runs after the deploy: the home page, then an order
// through the API with its JSON checked. Each result is in the record.
func TestSmokeFlowPasses(t *testing.T) {
	t.Parallel()
	shop := shopAPI(t, func() bool { return false })
	s := newStory(t, strings.ReplaceAll(smokeConfig, "SHOP", shop.URL))
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/cart", "walt")
	s.comment(pr, "walt", "/deploy staging")
	d := s.deploymentsFinished(1)[0]
	if d.LatestState() != "success" {
		t.Fatalf("deployment ended %s: %v", d.LatestState(), states(d))
	}
	record := s.deploybotComments(pr)[0]
	contains(t, "the record", record, "**Smoke tests**")
	contains(t, "the record", record, "| GET / | ✅ passed | 200 |")
	contains(t, "the record", record, "| place an order | ✅ passed | 201 |")
	contains(t, "the record", record, "2 smoke tests passed")
}

// A key flow breaks in the new version: the smoke test names the
// expectation it missed — never what the service answered — and the
// deployment fails and rolls back by itself.
func TestSmokeFailureFailsAndRollsBack(t *testing.T) {
	t.Parallel()
	var s *story
	var bad atomic.Value
	bad.Store("")
	shop := shopAPI(t, func() bool { return s.Target.Live("staging") == bad.Load().(string) })
	s = newStory(t, strings.ReplaceAll(smokeConfig, "SHOP", shop.URL))
	s.Repo.SetPermission("walt", "write")
	pr, good := s.openPR("feature/cart", "walt")
	s.comment(pr, "walt", "/deploy staging")
	s.deploymentsFinished(1)

	s.Repo.Commit("feature/cart", map[string]string{"two.txt": "2"}, "broken change")
	bad.Store(s.Repo.Head("feature/cart"))
	s.comment(pr, "walt", "/deploy staging")
	deps := s.deploymentsFinished(3)
	failed := deps[1]
	last := failed.Statuses[len(failed.Statuses)-1]
	want := `smoke test "place an order" failed: json order.state: want "accepted", got another string`
	if last.State != "failure" || last.Description != want {
		t.Errorf("final status = %s %q, want failure %q", last.State, last.Description, want)
	}
	for _, body := range s.deploybotComments(pr) {
		if strings.Contains(body, "SECRET-internal-error-detail") {
			t.Errorf("a record repeats what the service answered:\n%s", body)
		}
	}
	if rb := deps[2]; rb.Task != "deploy:rollback" || rb.SHA != good || rb.LatestState() != "success" {
		t.Errorf("third deployment = %s of %s: %s, want the automatic rollback to %s, its own smoke flow passing",
			rb.Task, short(rb.SHA), rb.LatestState(), short(good))
	}
}

// A smoke workflow: after the health checks deploybot dispatches the
// repository's smoke.yml and waits — woken by workflow_run, no requests
// meanwhile — for its run; a failed run fails the deployment.
func TestSmokeWorkflowDecides(t *testing.T) {
	t.Parallel()
	s := newStory(t, `environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    verify:
      smoke: [{ name: browser flows, workflow: smoke.yml, ref: main, timeout: 10m }]
`)
	s.Repo.AddWorkflow("smoke.yml", "Smoke")
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/cart", "walt")
	s.comment(pr, "walt", "/deploy staging")
	run := s.waitForRun(1)
	if run.Inputs["sha"] != sha || run.Inputs["environment"] != "staging" {
		t.Errorf("smoke run inputs = %v", run.Inputs)
	}
	s.settle()
	s.Sim.ResetRequests()
	s.settle()
	if n := len(s.Sim.Requests()); n != 0 {
		t.Errorf("waiting for the smoke run made %d requests", n)
	}
	s.Sim.CompleteWorkflowRun(run.ID, "success")
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" {
		t.Fatalf("deployment ended %v", states(d))
	}
	contains(t, "the record", s.deploybotComments(pr)[0], "smoke test browser flows: workflow run")

	s.Repo.Commit("feature/cart", map[string]string{"two.txt": "2"}, "second")
	s.comment(pr, "walt", "/deploy staging")
	run2 := s.waitForRun(2)
	s.Sim.CompleteWorkflowRun(run2.ID, "failure")
	deps := s.deploymentsFinished(2)
	last := deps[1].Statuses[len(deps[1].Statuses)-1]
	if last.State != "failure" || !strings.Contains(last.Description, `smoke test "browser flows" failed`) {
		t.Errorf("second deployment's final status = %s %q", last.State, last.Description)
	}
}
