package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/deploy"
)

// The callback route's answers, in order against one waiting step: no
// detail for anything unverified, 404 for steps that are not there (as for
// a wrong key), 204 once recorded and for repeats, 409 once the step ended.
func TestExecutorCallbackAnswers(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	s.Target.HoldCallbacks()
	pr, _ := s.openPR("feature/x", "walt")
	cb := s.accepted(pr, 1)
	id, idx := stepOf(t, cb.Key)
	key := repoKey(SandboxRepoFull)
	withKey := func(body []byte) string { return deploy.Sign(key, body) }
	none := func([]byte) string { return "" }
	result := func(k, state string) string { return string(CallbackBody(k, state)) }
	otherStep := fmt.Sprintf("deploybot-%s-%d-step-%d", SandboxRepoFull, id, 0)
	unknown := fmt.Sprintf("deploybot-%s-%d-step-%d", SandboxRepoFull, id+100, idx)
	noncanonical := strings.Replace(cb.Key, "-step-", "-step-0", 1)
	huge := `{"idempotency_key":"` + cb.Key + `","state":"success","pad":"` + strings.Repeat("x", deploy.MaxCallbackBody) + `"}`

	for _, tc := range []struct {
		name string
		body string
		sig  func(body []byte) string
		want int
	}{
		{"no signature", result(cb.Key, "success"), none, 401},
		{"signature of another body", result(cb.Key, "success"), func([]byte) string { return withKey([]byte("{}")) }, 401},
		{"signature without sha256= prefix", result(cb.Key, "success"),
			func(b []byte) string { return strings.TrimPrefix(withKey(b), "sha256=") }, 401},
		{"not JSON", "state=success", withKey, 401},
		{"key in another form", result(noncanonical, "success"), withKey, 401},
		{"too large", huge, withKey, 413},
		{"unknown state", result(cb.Key, "done"), withKey, 400},
		{"unknown deployment", result(unknown, "success"), withKey, 404},
		{"a step that calls no executor", result(otherStep, "success"), withKey, 404},
		{"success", result(cb.Key, "success"), withKey, 204},
		{"the same again", result(cb.Key, "success"), withKey, 204},
		{"another result after it", result(cb.Key, "failure"), withKey, 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := PostCallback(s.ctx, s.Server.URL+deploy.CallbackPath, []byte(tc.body), tc.sig([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.want {
				t.Errorf("answered %d, want %d", code, tc.want)
			}
		})
	}
	if deps := s.deploymentsFinished(1); deps[0].LatestState() != "success" {
		t.Fatalf("deployment ended %v", states(deps[0]))
	}
	if strings.Contains(strings.Join(s.deploybotComments(pr), "\n"), "xxxx") {
		t.Error("callback text reached the record")
	}
}
