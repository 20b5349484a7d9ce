package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
	"github.com/deploybot/deploybot/store"
)

// The smoke step runs verify.smoke after the health checks: an ordered
// flow of requests (or commands) standing in for the key user flows. The
// first failing step fails the deployment. What the record keeps of each is
// its status, duration and the first expectation it missed — expectations
// quote the config, never the response.

// stepSmokeWorkflow dispatches one smoke workflow and waits for its run.
const stepSmokeWorkflow = "smoke-workflow"

const (
	stepSmoke       = "smoke"
	smokeTimeout    = 30 * time.Second
	smokeMaxBody    = 1 << 20
	smokeMaxResults = 50
)

// smokeResult is one smoke step's outcome, kept on the step for the record.
type smokeResult struct {
	Name     string `json:"name"`
	Status   int    `json:"status,omitempty"` // HTTP status, or the command's exit status
	Millis   int64  `json:"ms"`
	OK       bool   `json:"ok"`
	Failure  string `json:"failure,omitempty"` // the first expectation missed
	Finished bool   `json:"finished"`
}

// smoke runs the flow, stopping at the first failure.
func (r *run) smoke(ctx context.Context) (outcome, error) {
	var results []smokeResult
	for i, sc := range r.env.Verify.Smoke {
		if i >= smokeMaxResults {
			break
		}
		if sc.Workflow != nil {
			continue // a step of its own (smokeWorkflow)
		}
		start := time.Now()
		res := smokeResult{Name: smokeName(sc)}
		if sc.Command != nil {
			r.smokeCommand(ctx, sc, &res)
		} else {
			r.smokeRequest(ctx, sc, &res)
		}
		res.Millis, res.Finished = time.Since(start).Milliseconds(), true
		results = append(results, res)
		if !res.OK {
			reason := fmt.Sprintf("smoke test %q failed: %s", res.Name, res.Failure)
			return outcome{kind: outcomeFail, reason: reason, detail: reason, result: results}, nil
		}
	}
	return outcome{kind: outcomeDone, detail: fmt.Sprintf("%d smoke tests passed", len(results)), result: results}, nil
}

// smokeSteps lays out the smoke flow: one step for the requests and
// commands, then one per workflow.
func smokeSteps(smoke []config.SmokeCheck) []store.Step {
	var steps []store.Step
	direct := false
	for i, sc := range smoke {
		if sc.Workflow != nil {
			steps = append(steps, store.Step{Name: stepSmokeWorkflow, Spec: fmt.Sprintf(`{"index":%d}`, i)})
		} else {
			direct = true
		}
	}
	if direct {
		steps = append([]store.Step{{Name: stepSmoke}}, steps...)
	}
	return steps
}

// smokeWorkflow dispatches a smoke workflow (inputs deployment_id, sha,
// environment, step) and waits for its run, woken by workflow_run; its
// conclusion decides.
func (r *run) smokeWorkflow(ctx context.Context) (outcome, error) {
	var spec struct {
		Index int `json:"index"`
	}
	_ = json.Unmarshal([]byte(r.st.Spec), &spec)
	if spec.Index >= len(r.env.Verify.Smoke) || r.env.Verify.Smoke[spec.Index].Workflow == nil {
		return outcome{}, permanentError{fmt.Errorf("smoke workflow %d is not in the environment's config", spec.Index)}
	}
	sc := r.env.Verify.Smoke[spec.Index]
	o, err := r.runWorkflow(ctx, sc.Workflow, ExecSpec{Action: "smoke", Index: 1, Total: 1}, false)
	if err != nil {
		return o, err
	}
	name := sc.Name
	if name == "" {
		name = "workflow " + sc.Workflow.Workflow
	}
	switch o.kind {
	case outcomeFail:
		o.reason = fmt.Sprintf("smoke test %q failed: %s", name, o.reason)
		o.detail = o.reason
	case outcomeDone:
		o.detail = "smoke test " + name + ": " + o.detail
	}
	return o, nil
}

func smokeName(sc config.SmokeCheck) string {
	if sc.Name != "" {
		return sc.Name
	}
	if sc.Command != nil {
		return "command " + sc.Command.Argv[0]
	}
	path := "/"
	if u, err := url.Parse(sc.URL); err == nil && u.Path != "" {
		path = u.Path
	}
	return sc.Method + " " + path
}

// smokeRequest makes one request of the flow and checks its expectations.
func (r *run) smokeRequest(ctx context.Context, sc config.SmokeCheck, res *smokeResult) {
	h := http.Header{"User-Agent": {"deploybot-smoke"}}
	for k, v := range sc.Headers {
		h.Set(k, v)
	}
	call := egress.Call{Method: sc.Method, URL: sc.URL, Header: h, Timeout: smokeTimeout}
	if sc.Body != "" {
		call.Body = []byte(sc.Body)
	}
	if sc.Contains != "" || len(sc.JSON) > 0 {
		call.MaxBody = smokeMaxBody
	}
	resp, err := r.svc.httpClient().Do(ctx, call)
	var refusal *egress.Refused
	switch {
	case errors.As(err, &refusal):
		res.Failure = "not called: " + refusal.Reason
		return
	case err != nil:
		res.Failure = "unreachable: " + err.Error()
		return
	}
	res.Status = resp.Status
	want := sc.Status
	if want == 0 {
		want = http.StatusOK
	}
	if resp.Status != want {
		res.Failure = fmt.Sprintf("HTTP %d, want %d", resp.Status, want)
		return
	}
	if sc.Contains != "" && !bytes.Contains(resp.Body, []byte(sc.Contains)) {
		res.Failure = fmt.Sprintf("the body lacks %q", sc.Contains)
		return
	}
	if len(sc.JSON) > 0 && !gjson.ValidBytes(resp.Body) {
		res.Failure = "the body is not JSON"
		return
	}
	for _, path := range slices.Sorted(maps.Keys(sc.JSON)) {
		if miss := jsonMismatch(gjson.GetBytes(resp.Body, path), sc.JSON[path]); miss != "" {
			res.Failure = fmt.Sprintf("json %s: want %s, %s", path, quoteJSON(sc.JSON[path]), miss)
			return
		}
	}
	res.OK = true
}

// jsonMismatch compares a value found in a response with the one expected
// and describes a difference by kind only: the response's values are not
// repeated anywhere.
func jsonMismatch(got gjson.Result, want any) string {
	if !got.Exists() {
		return "the path is absent"
	}
	kind := map[gjson.Type]string{gjson.Null: "null", gjson.False: "a boolean", gjson.True: "a boolean",
		gjson.Number: "a number", gjson.String: "a string", gjson.JSON: "an object or array"}[got.Type]
	switch w := want.(type) {
	case nil:
		if got.Type == gjson.Null {
			return ""
		}
	case string:
		if got.Type == gjson.String && got.Str == w {
			return ""
		}
		if got.Type == gjson.String {
			return "got another string"
		}
	case float64:
		if got.Type == gjson.Number && got.Num == w {
			return ""
		}
		if got.Type == gjson.Number {
			return "got another number"
		}
	case bool:
		if (got.Type == gjson.True || got.Type == gjson.False) && got.Bool() == w {
			return ""
		}
		if got.Type == gjson.True || got.Type == gjson.False {
			return "got the other boolean"
		}
	}
	return "got " + kind
}

func quoteJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// smokeCommand runs a command of the flow; exit 0 passes.
func (r *run) smokeCommand(ctx context.Context, sc config.SmokeCheck, res *smokeResult) {
	if r.svc.Commands == nil {
		res.Failure = "commands are off on this server (DEPLOYBOT_ALLOW_COMMANDS)"
		return
	}
	env := []string{"DEPLOY_ENVIRONMENT=" + r.d.Environment, "DEPLOY_SHA=" + r.d.SHA, "DEPLOY_REF=" + r.d.Ref,
		"DEPLOY_REPOSITORY=" + r.d.Repo, "DEPLOY_ACTION=smoke"}
	out, err := r.svc.Commands.Run(ctx, sc.Command.Argv, nil, env, sc.Command.Timeout.Duration)
	switch {
	case err != nil:
		res.Failure = "could not be started (" + err.Error() + "): check its argv and that the program exists on the deploybot host"
	case out.TimedOut:
		res.Failure = "did not finish in time"
	case !out.OK():
		res.Status, res.Failure = out.ExitCode, fmt.Sprintf("exited %d", out.ExitCode)
	default:
		res.OK = true
	}
}

// smokeTable is the record's table of smoke results ("" when none ran).
func smokeTable(steps []store.Step) string {
	for _, st := range steps {
		if st.Name != stepSmoke || st.Result == "" || st.Result == "{}" {
			continue
		}
		var results []smokeResult
		if json.Unmarshal([]byte(st.Result), &results) != nil || len(results) == 0 {
			return ""
		}
		var b strings.Builder
		b.WriteString("\n**Smoke tests**\n\n| test | result | status | duration |\n|---|---|---|---|\n")
		for _, res := range results {
			verdict := "✅ passed"
			if !res.OK {
				verdict = "⛔ " + res.Failure
			}
			status := "—"
			if res.Status != 0 {
				status = fmt.Sprint(res.Status)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %d ms |\n", cell(res.Name), cell(verdict), status, res.Millis)
		}
		return b.String()
	}
	return ""
}
