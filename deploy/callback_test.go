package deploy

import (
	"errors"
	"testing"
)

func TestParseStepKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		ok   bool
		want stepKey
	}{
		{"deploybot-acme/shop-12-step-5", true, stepKey{"acme/shop", 12, 5}},
		{"deploybot-my-org/my-repo-1-step-0", true, stepKey{"my-org/my-repo", 1, 0}},
		{"deploybot-acme/shop-12-step-05", false, stepKey{}},
		{"deploybot-acme/shop-+12-step-5", false, stepKey{}},
		{"deploybot-acme/shop-12-step-", false, stepKey{}},
		{"deploybot-acme-12-step-5", false, stepKey{}},
		{"deploybot-acme/shop/x-12-step-5", false, stepKey{}},
		{"deploybot-/shop-12-step-5", false, stepKey{}},
		{"acme/shop-12-step-5", false, stepKey{}},
		{"", false, stepKey{}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			got, ok := parseStepKey(tc.key)
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseStepKey(%q) = %+v, %v; want %+v, %v", tc.key, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// A callback verifies only with the executor key of the repository its
// idempotency key names, and only for the exact body signed.
func TestVerifyCallback(t *testing.T) {
	secret := []byte("server-executor-secret")
	body := []byte(`{"idempotency_key":"deploybot-acme/shop-12-step-5","state":"success"}`)
	good := Sign(ExecutorKey(secret, "acme/shop"), body)
	for _, tc := range []struct {
		name   string
		secret []byte
		body   []byte
		sig    string
		err    error
	}{
		{"signed with the repository's key", secret, body, good, nil},
		{"no server secret", nil, body, Sign(ExecutorKey(nil, "acme/shop"), body), ErrBadCallback},
		{"another repository's key", secret, body, Sign(ExecutorKey(secret, "acme/other"), body), ErrBadCallback},
		{"the server secret itself", secret, body, Sign(secret, body), ErrBadCallback},
		{"another step's body", secret, []byte(`{"idempotency_key":"deploybot-acme/shop-12-step-6","state":"success"}`), good, ErrBadCallback},
		{"another state", secret, []byte(`{"idempotency_key":"deploybot-acme/shop-12-step-5","state":"failure"}`), good, ErrBadCallback},
		{"no signature", secret, body, "", ErrBadCallback},
		{"unknown state, signed", secret, []byte(`{"idempotency_key":"deploybot-acme/shop-12-step-5","state":"ok"}`),
			Sign(ExecutorKey(secret, "acme/shop"), []byte(`{"idempotency_key":"deploybot-acme/shop-12-step-5","state":"ok"}`)), ErrBadCallbackState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb, err := VerifyCallback(tc.secret, tc.body, tc.sig)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && (cb.step != stepKey{"acme/shop", 12, 5} || cb.State != "success") {
				t.Errorf("callback = %+v", cb)
			}
		})
	}
}
