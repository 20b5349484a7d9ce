package app

import (
	"errors"
	"io"
	"net/http"

	"github.com/deploybot/deploybot/deploy"
)

// executorCallback receives a webhook executor's result for a step it
// answered 202 (DESIGN.md §7): a bounded body, verified in constant time
// with the executor key of the repository the body names, then recorded by
// the pipeline. Answers carry no detail: 401 for any signature that does
// not verify, 404 for a step that is not there (or not this repository's),
// 204 once recorded or repeated, 409 when the step already ended otherwise.
func (a *App) executorCallback(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, deploy.MaxCallbackBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	cb, err := deploy.VerifyCallback(a.Deploy.ExecutorSecret, body, r.Header.Get(deploy.SignatureHeader))
	switch {
	case errors.Is(err, deploy.ErrBadCallbackState):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, "signature does not match", http.StatusUnauthorized)
		return
	}
	answer, err := a.Deploy.OnExecutorCallback(r.Context(), cb)
	if err != nil {
		a.Logger.Error().Err(err).Msg("record executor callback")
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	switch answer {
	case deploy.CallbackRecorded, deploy.CallbackRepeated:
		w.WriteHeader(http.StatusNoContent)
	case deploy.CallbackUnknown:
		http.Error(w, "no such step", http.StatusNotFound)
	default:
		http.Error(w, "the step has already ended", http.StatusConflict)
	}
}
