package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

// webhookStep runs a step through a webhook executor (the environment's, or
// the migrations gate's backup hook, named who in records). 200, 201 and
// 204 mean done; 202 means accepted and still running: the step waits,
// parked with a durable timer at its deadline, for the executor's signed
// callback (OnExecutorCallback records it and wakes the deployment), or
// fails when the timeout passes. Anything else fails the step. No request
// is held open longer than MaxExecutorRequest.
func (r *run) webhookStep(ctx context.Context, cfg *config.WebhookExecutor, spec ExecSpec, who string) (outcome, error) {
	w := r.waitState()
	timeout := cfg.Timeout.Duration
	if timeout <= 0 {
		timeout = defaultExecutorTimeout
	}
	reported, err := r.svc.Store.ExecutorCallback(ctx, r.d.ID, r.st.Index)
	if err != nil {
		return outcome{}, err
	}
	switch reported {
	case store.CallbackSuccess:
		return outcome{kind: outcomeDone, detail: who + " reported success", result: w}, nil
	case store.CallbackFailure:
		return outcome{kind: outcomeFail, reason: who + " reported failure", detail: who + " reported failure", result: w}, nil
	}
	if w.AcceptedAt.IsZero() {
		payload := r.stepJSON(spec)
		payload.CallbackURL = r.svc.callbackURL()
		res, err := r.svc.webhookExecutor().Run(ctx, cfg, payload, r.idempotencyKey())
		var noAnswer *NoAnswerError
		switch {
		case errors.As(err, &noAnswer):
			return fail(fmt.Sprintf("%s did not answer within %s: an executor that needs longer must answer 202 Accepted "+
				"at once and report its result to callback_url", who, config.D(noAnswer.Within))), nil
		case err != nil:
			if r.st.Attempts < 3 {
				return outcome{}, err // transport error: retry with the same idempotency key
			}
			return fail(fmt.Sprintf("%s unreachable after %d attempts: %v", who, r.st.Attempts, err)), nil
		case res.Status == http.StatusAccepted && payload.CallbackURL == "":
			return fail(who + " answered HTTP 202 (accepted, still running), but this deploybot has no " +
				"DEPLOYBOT_PUBLIC_URL for its callback; ask the operator to set it"), nil
		case res.Status == http.StatusAccepted:
			w.AcceptedAt = r.svc.now()
		case res.Done():
			return outcome{kind: outcomeDone, detail: who + " answered " + res.Summary(), result: res}, nil
		default:
			return outcome{kind: outcomeFail, reason: who + " answered " + res.Summary(), detail: who + " answered " + res.Summary(), result: res}, nil
		}
	}
	deadline := r.st.StartedAt.Add(timeout)
	if !r.svc.now().Before(deadline) {
		reason := fmt.Sprintf("the %s reported no result within %s", who, config.D(timeout))
		return outcome{kind: outcomeFail, reason: reason, detail: reason, result: w}, nil
	}
	return r.await(w, deadline, who+" accepted the step; waiting for its result"), nil
}
