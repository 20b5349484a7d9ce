package deploy

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// The 202-plus-callback protocol of webhook executors (DESIGN.md §7): an
// executor that answers 202 reports the step's result later by a POST to
// CallbackPath on deploybot's public URL, whose body names the step by its
// idempotency key and is signed with the repository's executor key:
//
//	POST /api/executor/callback
//	X-Deploybot-Signature-256: sha256=<HMAC-SHA256(ExecutorKey(secret, "owner/repo"), body)>
//	{"idempotency_key":"deploybot-owner/repo-12-step-5","state":"success"}
//
// The key names the repository, deploybot's deployment id and the step, and
// the signature covers it, so a callback cannot be replayed onto another
// step, deployment or repository.

// CallbackPath is the route executors report results to.
const CallbackPath = "/api/executor/callback"

// MaxCallbackBody bounds a callback's body.
const MaxCallbackBody = 64 << 10

// ExecutorCallback is a verified callback: the step it reports on and its
// result. Nothing else of the body is kept.
type ExecutorCallback struct {
	IdempotencyKey string `json:"idempotency_key"`
	State          string `json:"state"` // store.CallbackSuccess or store.CallbackFailure
	step           stepKey
}

// stepKey names one step of one deployment of one repository.
type stepKey struct {
	repo string
	id   int64
	idx  int
}

func (k stepKey) String() string { return fmt.Sprintf("deploybot-%s-%d-step-%d", k.repo, k.id, k.idx) }

// parseStepKey reads an idempotency key made by (*run).idempotencyKey; only
// its exact form is accepted.
func parseStepKey(s string) (stepKey, bool) {
	rest, ok := strings.CutPrefix(s, "deploybot-")
	if !ok {
		return stepKey{}, false
	}
	i := strings.LastIndex(rest, "-step-")
	if i < 0 {
		return stepKey{}, false
	}
	idx, err := strconv.Atoi(rest[i+len("-step-"):])
	if err != nil {
		return stepKey{}, false
	}
	rest = rest[:i]
	j := strings.LastIndex(rest, "-")
	if j < 0 {
		return stepKey{}, false
	}
	id, err := strconv.ParseInt(rest[j+1:], 10, 64)
	if err != nil {
		return stepKey{}, false
	}
	k := stepKey{repo: rest[:j], id: id, idx: idx}
	owner, name, ok := strings.Cut(k.repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") || k.String() != s {
		return stepKey{}, false
	}
	return k, true
}

// ErrBadCallback is a callback whose signature does not verify (or whose
// body names no step, so no key can verify it).
var ErrBadCallback = errors.New("callback signature does not verify")

// ErrBadCallbackState is a verified callback whose state is neither
// success nor failure.
var ErrBadCallbackState = errors.New(`callback state must be "success" or "failure"`)

// VerifyCallback checks a callback body against its X-Deploybot-Signature-256
// value with the executor key of the repository its idempotency key names,
// comparing in constant time. Without a server secret nothing verifies.
func VerifyCallback(secret, body []byte, signature string) (ExecutorCallback, error) {
	var cb ExecutorCallback
	if len(secret) == 0 || json.Unmarshal(body, &cb) != nil {
		return ExecutorCallback{}, ErrBadCallback
	}
	k, ok := parseStepKey(cb.IdempotencyKey)
	if !ok || !hmac.Equal([]byte(signature), []byte(Sign(ExecutorKey(secret, k.repo), body))) {
		return ExecutorCallback{}, ErrBadCallback
	}
	if cb.State != store.CallbackSuccess && cb.State != store.CallbackFailure {
		return ExecutorCallback{}, ErrBadCallbackState
	}
	cb.step = k
	return cb, nil
}

// CallbackAnswer is what became of a verified callback.
type CallbackAnswer int

const (
	// CallbackRecorded: the result is kept and the deployment resumes.
	CallbackRecorded CallbackAnswer = iota
	// CallbackRepeated: the same result was recorded before.
	CallbackRepeated
	// CallbackUnknown: no step of a webhook executor that was called has
	// this key (answered like a wrong key: existence is not revealed).
	CallbackUnknown
	// CallbackTooLate: the step already ended otherwise (another result,
	// its deadline, the deployment's end); nothing changes.
	CallbackTooLate
)

// OnExecutorCallback records a verified callback's result for its step and
// wakes the deployment, in one transaction. The step reads the result when
// it runs (webhookStep).
func (s *Service) OnExecutorCallback(ctx context.Context, cb ExecutorCallback) (CallbackAnswer, error) {
	var answer CallbackAnswer
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		answer, err = s.checkCallback(ctx, tx, cb)
		if err != nil || answer != CallbackRecorded {
			return err
		}
		if _, err := tx.RecordExecutorCallback(ctx, cb.step.id, cb.step.idx, cb.State); err != nil {
			return err
		}
		woken, err := tx.WakeDeployment(ctx, cb.step.id)
		if err != nil {
			return err
		}
		return enqueueCurrentSteps(ctx, tx, woken)
	})
	if err != nil {
		return 0, fmt.Errorf("executor callback for deployment %d step %d: %w", cb.step.id, cb.step.idx, err)
	}
	return answer, nil
}

// checkCallback decides, in tx, whether cb may be recorded.
func (s *Service) checkCallback(ctx context.Context, tx *store.Tx, cb ExecutorCallback) (CallbackAnswer, error) {
	d, err := tx.Deployment(ctx, cb.step.id)
	if errors.Is(err, store.ErrNotFound) {
		return CallbackUnknown, nil
	}
	if err != nil {
		return 0, err
	}
	if d.Repo != cb.step.repo {
		return CallbackUnknown, nil
	}
	steps, err := tx.Steps(ctx, d.ID)
	if err != nil {
		return 0, err
	}
	if cb.step.idx < 0 || cb.step.idx >= len(steps) || !callsWebhook(d, steps[cb.step.idx].Name) || steps[cb.step.idx].Attempts == 0 {
		return CallbackUnknown, nil // no such step, or one that never called an executor
	}
	prev, err := tx.ExecutorCallback(ctx, d.ID, cb.step.idx)
	if err != nil {
		return 0, err
	}
	switch {
	case prev == cb.State:
		return CallbackRepeated, nil
	case prev != "", d.Ended(), d.Step != cb.step.idx:
		return CallbackTooLate, nil
	}
	switch steps[cb.step.idx].State {
	case store.StepDone, store.StepFailed, store.StepSkipped:
		return CallbackTooLate, nil
	}
	return CallbackRecorded, nil
}

// callsWebhook reports whether step name of d calls a webhook executor: the
// database backup hook, or an execute step of a webhook environment.
func callsWebhook(d *store.Deployment, name string) bool {
	switch name {
	case stepDBBackup:
		return true
	case stepExecute:
		var env config.Environment
		return json.Unmarshal([]byte(d.EnvConfig), &env) == nil && env.Executor.Webhook != nil
	}
	return false
}

// callbackURL is where executors report results ("" without a public URL).
func (s *Service) callbackURL() string {
	if s.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.PublicURL, "/") + CallbackPath
}
