package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// recordServer is a Server over a fresh store whose records come from a
// deploy.Service reading that store.
func recordServer(t *testing.T) (*Server, *store.Store) {
	t.Helper()
	st := storetest.Open(t)
	s, err := New(Config{Store: st, Deploy: &deploy.Service{Store: st}, ClientID: "id", ClientSecret: "secret",
		SessionKey: testKey, PublicURL: "https://d.example"})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

var t0 = time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)

// seeded is a deployment of acme/shop to staging for seed: its state,
// the version live before it, the step it is at and its steps' states.
type seeded struct {
	state, previous string
	task            string
	step            int
	steps           []store.Step
}

func (d seeded) add(t *testing.T, st *store.Store, n int) *store.Deployment {
	t.Helper()
	row := store.Deployment{Repo: "acme/shop", Environment: "staging", State: d.state, Task: d.task, Step: d.step,
		SHA: fmt.Sprintf("%040x", n+1), PreviousSHA: d.previous, RequestedBy: "alice", InstallationID: 1}
	if row.Done() {
		row.FinishedAt = t0.Add(time.Duration(n) * time.Minute)
	}
	steps := d.steps
	if steps == nil {
		steps = []store.Step{{Name: "gates", State: store.StepDone}, {Name: "execute", State: store.StepDone}, {Name: "finish", State: store.StepDone}}
	}
	return storetest.AddDeployments(t, st, []store.Deployment{row}, steps...)[0]
}

var actionButton = regexp.MustCompile(`action="/acme/shop/environments/staging/(\w+)"`)

// The record page offers the buttons the deployment's phase allows; each
// is a form with the session's CSRF token and the record to come back to.
func TestRecordButtonsPerPhase(t *testing.T) {
	sha := func(n int) string { return fmt.Sprintf("%040x", n) }
	paused := []store.Step{{Name: "execute", State: store.StepDone}, {Name: "pause", State: store.StepPending}, {Name: "finish"}}
	for _, tc := range []struct {
		name    string
		history []seeded // oldest first; the last one's record is opened
		open    int      // which record is opened, 1-based (0: the last)
		want    []string
	}{
		{name: "waiting at a pause: Promote and Abort", history: []seeded{{state: store.StateWaiting, step: 1, steps: paused}},
			want: []string{"promote", "abort"}},
		{name: "waiting at an inconclusive analysis: Promote and Abort", history: []seeded{{state: store.StateWaiting, step: 1,
			steps: []store.Step{{Name: "execute", State: store.StepDone}, {Name: "analysis"}, {Name: "finish"}}}},
			want: []string{"promote", "abort"}},
		{name: "waiting for its gates: Abort only", history: []seeded{{state: store.StateWaiting, step: 0,
			steps: []store.Step{{Name: "gates"}, {Name: "execute"}, {Name: "finish"}}}},
			want: []string{"abort"}},
		{name: "running: Abort", history: []seeded{{state: store.StateRunning, step: 1, steps: paused}}, want: []string{"abort"}},
		{name: "queued: nothing (Abort would stop the one ahead)", history: []seeded{{state: store.StateQueued}}},
		{name: "the newest success, with a version before it: Rollback",
			history: []seeded{{state: store.StateSuccess}, {state: store.StateSuccess, previous: sha(1)}}, want: []string{"rollback"}},
		{name: "an older success: nothing", open: 1,
			history: []seeded{{state: store.StateSuccess, previous: sha(9)}, {state: store.StateSuccess, previous: sha(1)}}},
		{name: "the first success in the environment: nothing to roll back to",
			history: []seeded{{state: store.StateSuccess}}},
		{name: "a failure that ran its executor: Rollback",
			history: []seeded{{state: store.StateSuccess}, {state: store.StateFailure, previous: sha(1)}}, want: []string{"rollback"}},
		{name: "a failure stopped at its gates changed nothing: nothing on it",
			history: []seeded{{state: store.StateSuccess}, {state: store.StateSuccess, previous: sha(1)},
				{state: store.StateFailure, steps: []store.Step{{Name: "gates", State: store.StepFailed}, {Name: "execute", State: store.StepSkipped}, {Name: "finish", State: store.StepDone}}}}},
		{name: "…but the live one it did not replace offers Rollback", open: 2,
			history: []seeded{{state: store.StateSuccess}, {state: store.StateSuccess, previous: sha(1)},
				{state: store.StateFailure, steps: []store.Step{{Name: "gates", State: store.StepFailed}, {Name: "execute", State: store.StepSkipped}, {Name: "finish", State: store.StepDone}}}},
			want: []string{"rollback"}},
		{name: "the newest success while another is in flight: nothing", open: 2,
			history: []seeded{{state: store.StateSuccess}, {state: store.StateSuccess, previous: sha(1)}, {state: store.StateQueued}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st := recordServer(t)
			var ds []*store.Deployment
			for i, h := range tc.history {
				ds = append(ds, h.add(t, st, i))
			}
			view := len(ds) - 1
			if tc.open > 0 {
				view = tc.open - 1
			}
			get := signedInAs(t, s, "acme/shop")
			path := fmt.Sprintf("/acme/shop/deployments/%d", ds[view].ID)
			status, body := get(path)
			if status != http.StatusOK {
				t.Fatalf("%s: %d\n%s", path, status, body)
			}
			var got []string
			for _, m := range actionButton.FindAllStringSubmatch(body, -1) {
				got = append(got, m[1])
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("buttons %v, want %v", got, tc.want)
			}
			if len(got) > 0 && (!strings.Contains(body, `name="csrf" value="`) || !strings.Contains(body, `name="back" value="`+path+`"`)) {
				t.Errorf("the buttons lack the CSRF token or the way back:\n%s", body)
			}
		})
	}
}

// recordActions never offers anything on a dry run (its record is not
// shown either: 404).
func TestNoButtonsOnADryRun(t *testing.T) {
	for _, state := range []string{store.StateWaiting, store.StateRunning, store.StateSuccess} {
		d := &store.Deployment{Task: deploy.TaskDryRun, State: state, FinishedAt: t0}
		if got := recordActions(d, []store.Step{{Name: "pause"}}, true); got != nil {
			t.Errorf("%s dry run: %v", state, got)
		}
	}
	s, st := recordServer(t)
	d := seeded{state: store.StateSuccess, task: deploy.TaskDryRun, previous: fmt.Sprintf("%040x", 7)}.add(t, st, 0)
	if status, _ := signedInAs(t, s, "acme/shop")(fmt.Sprintf("/acme/shop/deployments/%d", d.ID)); status != http.StatusNotFound {
		t.Fatalf("a dry run's record: %d", status)
	}
}

// The environment table offers Rollback next to the newest deployment
// that changed the environment, when it had a version before it and
// nothing is in flight.
func TestRollbackOnTheEnvironmentTable(t *testing.T) {
	dep := func(id int64, previous string) *store.Deployment {
		return &store.Deployment{ID: id, SHA: fmt.Sprintf("%040x", id), PreviousSHA: previous}
	}
	old := fmt.Sprintf("%040x", 99)
	for _, tc := range []struct {
		name string
		cell store.EnvStatus
		want string
	}{
		{"nothing deployed", store.EnvStatus{}, ""},
		{"the first deploy succeeded", store.EnvStatus{Live: dep(1, "")}, ""},
		{"the first deploy failed", store.EnvStatus{LastFailure: dep(1, "")}, ""},
		{"a later deploy succeeded", store.EnvStatus{Live: dep(2, old)}, "live"},
		{"a later deploy failed", store.EnvStatus{Live: dep(1, ""), LastFailure: dep(2, fmt.Sprintf("%040x", 1))}, "failure"},
		{"a failure before the live one", store.EnvStatus{Live: dep(3, old), LastFailure: dep(2, old)}, "live"},
		{"a failure at its gates after the live one", store.EnvStatus{Live: dep(3, old), LastFailure: dep(4, "")}, "live"},
		{"something in flight", store.EnvStatus{Live: dep(2, old), InFlight: []store.InFlight{{Deployment: dep(3, "")}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rollbackOn(&tc.cell); got != tc.want {
				t.Fatalf("rollbackOn = %q, want %q", got, tc.want)
			}
		})
	}
}

// The record page draws each analysed metric as an SVG chart with its
// limit dashed, and lists the health checks and smoke tests.
func TestRecordShowsVerification(t *testing.T) {
	s, st := recordServer(t)
	env := config.Environment{Name: "staging", Verify: config.Verify{Metrics: &config.Metrics{Queries: []config.MetricQuery{
		{Name: "errors", Max: val(0.05)}, {Name: "latency", Baseline: &config.Baseline{MaxIncrease: 0.2}}}}}}
	envJSON, _ := json.Marshal(env)
	row := store.Deployment{Repo: "acme/shop", Environment: "staging", State: store.StateFailure, SHA: strings.Repeat("a", 40),
		RequestedBy: "alice", InstallationID: 1, EnvConfig: string(envJSON), FinishedAt: t0}
	d := storetest.AddDeployments(t, st, []store.Deployment{row},
		store.Step{Name: "execute", State: store.StepDone}, store.Step{Name: "verify", State: store.StepDone},
		store.Step{Name: "smoke", State: store.StepDone}, store.Step{Name: "analysis", State: store.StepFailed}, store.Step{Name: "finish"})[0]
	results := map[int]string{
		1: `{"checks":[{"url":"https://shop.example/healthz?token=REDACTED","attempts":2,"ok":true,"last":"HTTP 200"}]}`,
		2: `[{"name":"GET /cart","status":200,"ms":12,"ok":true,"finished":true},{"name":"POST /checkout","status":500,"ms":30,"ok":false,"failure":"status 500, want 201","finished":true}]`,
		3: `{"baseline_taken":true,"baseline":{"latency":100},"measurements":[
			{"at":"2026-01-02T12:00:00Z","values":{"errors":{"v":0.01,"cond":"≤ 0.05"},"latency":{"v":110,"cond":"≤ 120 (baseline 100 + 20% + 0)"}}},
			{"at":"2026-01-02T12:00:30Z","values":{"errors":{"v":0.2,"breach":true,"cond":"≤ 0.05"},"latency":{"no_data":true}}}]}`,
	}
	for i, r := range results {
		if err := st.UpdateStep(t.Context(), store.Step{DeploymentID: d.ID, Index: i, State: store.StepDone, Result: r}); err != nil {
			t.Fatal(err)
		}
	}
	status, body := signedInAs(t, s, "acme/shop")(fmt.Sprintf("/acme/shop/deployments/%d", d.ID))
	if status != http.StatusOK {
		t.Fatalf("%d\n%s", status, body)
	}
	for _, want := range []string{
		`<tr class="metric" data-metric="errors">`,
		`<svg class="metric-chart" role="img" width="240" height="64" viewBox="0 0 240 64"><title>errors: breached</title>`,
		// 0.01 … 0.2 with the max at 0.05: the dashed max line at y = 6 + (0.2-0.05)/0.19 × 52
		`<line class="limit" x1="0" x2="240" y1="47.1" y2="47.1" stroke-dasharray="4 3"><title>max 0.05</title></line>`,
		`<polyline points="6,58 234,6"`,
		`<circle class="breach" cx="234" cy="6" r="2.5"><title>12:00:30: 0.2 (breach)</title></circle>`,
		`<title>latency: within bounds</title>`,
		`<title>allowed 120 (baseline 100)</title>`,
		`<line class="baseline"`,
		`<title>12:00:30: no data</title>`,
		`<table id="health">`, `<code>https://shop.example/healthz?token=REDACTED</code>`, `HTTP 200`,
		`<table id="smoke">`, `GET /cart`, `status 500, want 201`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the record lacks %s\n", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("page:\n%s", body)
	}
}

// A record without verification shows no empty sections.
func TestRecordWithoutVerification(t *testing.T) {
	s, st := recordServer(t)
	d := seeded{state: store.StateSuccess}.add(t, st, 0)
	_, body := signedInAs(t, s, "acme/shop")(fmt.Sprintf("/acme/shop/deployments/%d", d.ID))
	for _, absent := range []string{`id="metrics"`, `id="health"`, `id="smoke"`, `<svg`, `id="actions"`} {
		if strings.Contains(body, absent) {
			t.Errorf("the record shows %s", absent)
		}
	}
}

// Rollback is one of the environment actions (it needs the CSRF token
// like the others); an action that is not one is 404.
func TestRollbackIsAnEnvironmentAction(t *testing.T) {
	s, _ := recordServer(t)
	sess := &session{ID: "sid", Login: "alice", Token: "ghu_x", Expires: time.Now().Add(time.Hour)}
	s.access[sess.ID] = &access{repos: map[string]string{"acme/shop": "acme/shop"}, checked: s.c.Now()}
	cookie, err := s.seal.seal(sessionCookie, sess)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/acme/shop/environments/staging/rollback", http.StatusForbidden}, // no CSRF token: refused before anything runs
		{"/acme/shop/environments/staging/explode", http.StatusNotFound},
		{"/acme/other/environments/staging/rollback", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := httptest.NewRequest("POST", tc.path, strings.NewReader("back=%2F"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("%d, want %d\n%s", w.Code, tc.want, w.Body)
			}
		})
	}
}
