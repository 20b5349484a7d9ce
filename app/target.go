package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/internal/loopback"
)

// Target is a small deploy target for the demo and end-to-end tests: a
// webhook executor endpoint (POST /hooks/<env>) that checks deploybot's
// signature with the repository's executor key and "deploys" by recording
// the SHA as live, and a health endpoint (GET /healthz/<env>) that is
// unhealthy while a SHA marked bad is live. It speaks the 202-plus-callback
// protocol: it answers 202 Accepted and then reports success by a signed
// POST to the step's callback_url (200 when there is none). It is the
// user's deployer, not a stand-in for deploybot.
type Target struct {
	URL string
	srv *loopback.Server
	key []byte // deploy.ExecutorKey of the server secret and the repository

	mu     sync.Mutex
	live   map[string]string // env → SHA
	bad    map[string]bool   // SHAs whose health check fails once live
	refuse map[string]bool   // SHAs the executor refuses (HTTP 500)
	calls  []deploy.StepPayload
	keys   []string
	hold   chan struct{} // when set, deploy calls wait for it to close
	// holdCallbacks keeps callbacks in pending instead of sending them;
	// answers are the statuses deploybot gave the callbacks sent.
	holdCallbacks bool
	pending       []Callback
	owed          chan struct{} // closed and replaced when a callback is held
	answers       []int
	changed       chan struct{} // closed and replaced on every call
	probes        int           // health requests answered
	probed        chan struct{} // closed and replaced on every health request
	onCall        func(deploy.StepPayload)
	// failWhen picks calls that answer 500 (FailWhen).
	failWhen func(deploy.StepPayload) bool
}

// NewTarget starts a target that deploys repo ("owner/repo") and verifies
// requests with that repository's key, derived from deploybot's executor
// secret.
func NewTarget(secret, repo string) (*Target, error) {
	t := &Target{key: deploy.ExecutorKey([]byte(secret), repo), live: map[string]string{}, bad: map[string]bool{},
		refuse: map[string]bool{}, changed: make(chan struct{}), probed: make(chan struct{}), owed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/{env}", t.hook)
	mux.HandleFunc("GET /healthz/{env}", t.health)
	srv, err := loopback.New(mux)
	if err != nil {
		return nil, fmt.Errorf("deploy target: %w", err)
	}
	t.srv, t.URL = srv, srv.URL
	return t, nil
}

// Close stops the target.
func (t *Target) Close() { t.srv.Close() }

// MarkUnhealthy makes the health check fail while sha is live.
func (t *Target) MarkUnhealthy(sha string) { t.mu.Lock(); t.bad[sha] = true; t.mu.Unlock() }

// MarkHealthy undoes MarkUnhealthy.
func (t *Target) MarkHealthy(sha string) { t.mu.Lock(); delete(t.bad, sha); t.mu.Unlock() }

// Refuse makes the executor answer 500 for sha.
func (t *Target) Refuse(sha string) { t.mu.Lock(); t.refuse[sha] = true; t.mu.Unlock() }

// Hold makes deploy calls block until the returned func is called.
func (t *Target) Hold() (release func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := make(chan struct{})
	t.hold = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			t.hold = nil
			t.mu.Unlock()
			close(ch)
		})
	}
}

// SetLive records sha as live in env, as a deployer outside deploybot (an
// external executor) would after deploying it.
func (t *Target) SetLive(env, sha string) { t.mu.Lock(); t.live[env] = sha; t.mu.Unlock() }

// Live returns the SHA live in env.
func (t *Target) Live(env string) string { t.mu.Lock(); defer t.mu.Unlock(); return t.live[env] }

// Calls returns the step payloads received, in order, and their idempotency keys.
func (t *Target) Calls() ([]deploy.StepPayload, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]deploy.StepPayload(nil), t.calls...), append([]string(nil), t.keys...)
}

// OnCall makes every executor call run fn first, as it arrives (before it
// is answered): a test notes what GitHub saw up to that moment.
func (t *Target) OnCall(fn func(deploy.StepPayload)) { t.mu.Lock(); t.onCall = fn; t.mu.Unlock() }

// Changed returns a channel closed at the next executor call.
func (t *Target) Changed() <-chan struct{} { t.mu.Lock(); defer t.mu.Unlock(); return t.changed }

// Probes returns how many health requests the target answered, and a
// channel closed at the next one.
func (t *Target) Probes() (int, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.probes, t.probed
}

func (t *Target) hook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if !hmac.Equal([]byte(r.Header.Get(deploy.SignatureHeader)), []byte(deploy.Sign(t.key, body))) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p deploy.StepPayload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	t.mu.Lock()
	onCall := t.onCall
	t.mu.Unlock()
	if onCall != nil {
		onCall(p)
	}
	t.mu.Lock()
	t.calls = append(t.calls, p)
	t.keys = append(t.keys, r.Header.Get(deploy.IdempotencyHeader))
	close(t.changed)
	t.changed = make(chan struct{})
	hold, refuse := t.hold, t.refuse[p.SHA] || (t.failWhen != nil && t.failWhen(p))
	t.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if refuse {
		http.Error(w, "deploy of "+p.SHA[:7]+" failed: image not found", http.StatusInternalServerError)
		return
	}
	t.mu.Lock()
	t.live[r.PathValue("env")] = p.SHA
	cb := Callback{URL: p.CallbackURL, Key: r.Header.Get(deploy.IdempotencyHeader)}
	held := t.holdCallbacks
	if held && cb.URL != "" {
		t.pending = append(t.pending, cb)
		close(t.owed)
		t.owed = make(chan struct{})
	}
	t.mu.Unlock()
	if cb.URL == "" {
		_, _ = io.WriteString(w, `{"ok":true}`) // 200: done
		return
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"ok":true,"status":"deploying"}`)
	if !held {
		// The deploy "runs" after the answer, then reports.
		go func() { _, _ = t.SendCallback(context.Background(), cb, "success") }()
	}
}

// Callback is a result the target owes deploybot: where to send it and the
// step's idempotency key.
type Callback struct{ URL, Key string }

// HoldCallbacks makes the target keep the callbacks it owes (see
// PendingCallbacks) instead of sending them.
func (t *Target) HoldCallbacks() { t.mu.Lock(); t.holdCallbacks = true; t.mu.Unlock() }

// PendingCallbacks waits until the target holds at least n callbacks and
// returns them, oldest first.
func (t *Target) PendingCallbacks(ctx context.Context, n int) ([]Callback, error) {
	for {
		t.mu.Lock()
		pending, owed := append([]Callback(nil), t.pending...), t.owed
		t.mu.Unlock()
		if len(pending) >= n {
			return pending, nil
		}
		select {
		case <-owed:
		case <-ctx.Done():
			return pending, fmt.Errorf("waiting for %d callbacks (have %d): %w", n, len(pending), ctx.Err())
		}
	}
}

// CallbackAnswers returns the statuses deploybot answered the target's
// callbacks with, in order.
func (t *Target) CallbackAnswers() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]int(nil), t.answers...)
}

// CallbackBody is the body reporting state for the step with idempotency key.
func CallbackBody(key, state string) []byte {
	b, _ := json.Marshal(map[string]string{"idempotency_key": key, "state": state})
	return b
}

// SendCallback reports state ("success" or "failure") for cb, signed with
// the target's repository key, and returns deploybot's answer.
func (t *Target) SendCallback(ctx context.Context, cb Callback, state string) (int, error) {
	body := CallbackBody(cb.Key, state)
	code, err := PostCallback(ctx, cb.URL, body, deploy.Sign(t.key, body))
	if err == nil {
		t.mu.Lock()
		t.answers = append(t.answers, code)
		t.mu.Unlock()
	}
	return code, err
}

// PostCallback POSTs a callback body with signature to url and returns the
// answer's status.
func PostCallback(ctx context.Context, url string, body []byte, signature string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(deploy.SignatureHeader, signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("callback: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func (t *Target) health(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	sha := t.live[r.PathValue("env")]
	bad := t.bad[sha]
	t.probes++
	close(t.probed)
	t.probed = make(chan struct{})
	t.mu.Unlock()
	if sha == "" || bad {
		http.Error(w, "unhealthy", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ok "+sha)
}

// FailWhen makes executor calls for which fail returns true answer 500
// (a rolling batch that does not come up, say).
func (t *Target) FailWhen(fail func(deploy.StepPayload) bool) {
	t.mu.Lock()
	t.failWhen = fail
	t.mu.Unlock()
}
