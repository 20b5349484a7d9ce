package deploy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// webhookRun is an execute step of a deployment stored in st, calling url.
func webhookRun(t *testing.T, st *store.Store, publicURL string, startedAgo time.Duration) *run {
	t.Helper()
	ctx := context.Background()
	d := &store.Deployment{RequestKey: t.Name(), Repo: "acme/shop", InstallationID: 1, Environment: "staging",
		Ref: "main", SHA: "abc", Task: TaskDeploy, Trigger: "comment", RequestedBy: "walt", Strategy: "direct",
		State: store.StateRunning, EnvConfig: "{}"}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		d, _, err = tx.CreateDeployment(ctx, d, []store.Step{{Name: stepExecute, State: store.StepRunning, Attempts: 1}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	steps, err := st.Steps(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: st, HTTP: testHTTP(), ExecutorSecret: []byte("s"), PublicURL: publicURL}
	r := &run{svc: svc, d: d, steps: steps, st: &steps[0]}
	r.st.Attempts, r.st.StartedAt = 1, svc.now().Add(-startedAgo)
	return r
}

// One webhook step, by the executor's answer and what it reported.
func TestWebhookStepOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int           // the executor's answer
		silent    bool          // it gives none within the request's bound
		publicURL string        // deploybot's
		callback  string        // a result recorded before the step runs
		accepted  bool          // the executor answered 202 earlier
		ago       time.Duration // since the step started
		kind      outcomeKind
		want      string // in the detail
		calls     int
	}{
		{name: "200 is done", status: 200, kind: outcomeDone, want: "executor answered HTTP 200", calls: 1},
		{name: "201 is done", status: 201, kind: outcomeDone, want: "HTTP 201", calls: 1},
		{name: "204 is done", status: 204, kind: outcomeDone, want: "HTTP 204", calls: 1},
		{name: "202 waits for the callback", status: 202, publicURL: "https://deploybot.example", kind: outcomeAwait, want: "waiting for its result", calls: 1},
		{name: "202 without a public URL fails", status: 202, kind: outcomeFail, want: "no DEPLOYBOT_PUBLIC_URL", calls: 1},
		{name: "203 fails", status: 203, kind: outcomeFail, want: "executor answered HTTP 203", calls: 1},
		{name: "500 fails", status: 500, kind: outcomeFail, want: "executor answered HTTP 500", calls: 1},
		{name: "no answer in time", silent: true, kind: outcomeFail, want: "must answer 202 Accepted at once and report its result to callback_url", calls: 1},
		{name: "reported success", callback: "success", accepted: true, kind: outcomeDone, want: "executor reported success"},
		{name: "reported failure", callback: "failure", accepted: true, kind: outcomeFail, want: "executor reported failure"},
		{name: "accepted, still running", accepted: true, ago: time.Minute, kind: outcomeAwait, want: "waiting"},
		{name: "accepted, past the deadline", accepted: true, ago: 31 * time.Minute, kind: outcomeFail, want: "the executor reported no result within 30m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			var got StepPayload
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				_ = json.NewDecoder(r.Body).Decode(&got)
				if tc.silent {
					<-stop // no answer
					return
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			defer close(stop)
			st := storetest.Open(t)
			r := webhookRun(t, st, tc.publicURL, tc.ago)
			if tc.accepted {
				r.st.Result = mustJSON(waitState{AcceptedAt: r.st.StartedAt})
			}
			if tc.callback != "" {
				err := st.InTx(context.Background(), func(tx *store.Tx) error {
					_, err := tx.RecordExecutorCallback(context.Background(), r.d.ID, r.st.Index, tc.callback)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			cfg := &config.WebhookExecutor{URL: srv.URL, Timeout: config.D(30 * time.Minute)}
			if tc.silent {
				cfg.Timeout = config.D(200 * time.Millisecond) // the request's bound is min(timeout, 5m)
			}
			o, err := r.webhookStep(context.Background(), cfg, ExecSpec{Action: "deploy"}, "executor")
			if err != nil {
				t.Fatal(err)
			}
			if o.kind != tc.kind || !strings.Contains(o.detail, tc.want) {
				t.Errorf("outcome %d %q, want %d containing %q", o.kind, o.detail, tc.kind, tc.want)
			}
			if calls != tc.calls {
				t.Errorf("executor called %d times, want %d", calls, tc.calls)
			}
			if o.kind == outcomeAwait && !tc.accepted && o.after <= 0 {
				t.Error("waiting without a durable timer at the deadline")
			}
			if want := map[bool]string{true: tc.publicURL + CallbackPath}[tc.publicURL != ""]; calls > 0 && got.CallbackURL != want {
				t.Errorf("callback_url = %q, want %q", got.CallbackURL, want)
			}
		})
	}
}
