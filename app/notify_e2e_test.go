package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/deploybot/deploybot/internal/loopback"
)

// chat is a Slack-compatible incoming webhook that records the messages.
type chat struct {
	mu     sync.Mutex
	texts  []string
	status int
}

func newChat(t *testing.T, status int) (*chat, string) {
	c := &chat{status: status}
	srv, err := loopback.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Text string `json:"text"`
		}
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &m) != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.texts = append(c.texts, m.Text)
		c.mu.Unlock()
		w.WriteHeader(c.status)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return c, srv.URL + "/services/T0/B0/x"
}

func (c *chat) messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.texts...)
}

// The team's channel hears about production: the canary starting, waiting
// for Promote and succeeding; then a broken version failing and being
// rolled back. One message per event.
func TestNotificationsToTheTeamsChannel(t *testing.T) {
	t.Parallel()
	channel, hook := newChat(t, http.StatusOK)
	s := newStory(t, `notify: { webhook: `+hook+` }
environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { canary: { steps: [{ weight: 10, pause: manual }, { weight: 100 }] } }
    rollback: { automatic: true }
    verify:
      timeout: 2s
      health: [{ url: TARGET/healthz/production, status: 200, interval: 1s }]
`)
	s.Repo.SetPermission("maya", "write")
	pr, sha := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy production")
	s.paused()
	s.Sim.PressRequestedAction(SandboxRepoFull, s.checkRun(sha, "deploy/production").ID, "maya", "promote")
	s.deploymentsFinished(1)
	got := channel.messages()
	want := []string{"🚀 Deploying `" + sha[:7] + "` to *production* in acme/shop (by @maya)",
		"⏸️ Waiting for Promote: `" + sha[:7] + "`", "✅ Deployed `" + sha[:7] + "` to *production*"}
	if len(got) != len(want) {
		t.Fatalf("messages = %q", got)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) || !strings.Contains(got[i], "|record>") {
			t.Errorf("message %d = %q, want it to start with %q and link the record", i, got[i], w)
		}
	}

	// A broken version fails its health check at 10 %: the canary undoes
	// itself. Then someone rolls back by command.
	s.Repo.Commit("feature/one", map[string]string{"two.txt": "2"}, "broken")
	bad := s.Repo.Head("feature/one")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr, "maya", "/deploy production")
	s.deploymentsFinished(2)
	s.comment(pr, "maya", "/rollback production")
	s.deploymentsFinished(3)
	got = channel.messages()[3:]
	var kinds []string
	for _, m := range got {
		kinds = append(kinds, strings.Fields(m)[0])
	}
	if strings.Join(kinds, " ") != "🚀 ❌ 🚀 ↩️" {
		t.Errorf("messages of the broken version and the rollback = %q", got)
	}
	if len(got) > 1 && !strings.Contains(got[1], "health check") {
		t.Errorf("the failure message does not say why: %q", got[1])
	}
}

// A channel that refuses the message changes nothing about the deploy.
func TestARefusedNotificationNeverFailsADeploy(t *testing.T) {
	t.Parallel()
	channel, hook := newChat(t, http.StatusForbidden)
	s := newStory(t, `environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    notify: { webhook: `+hook+`, events: [succeeded] }
`)
	s.Repo.SetPermission("maya", "write")
	pr, _ := s.openPR("feature/one", "maya")
	s.comment(pr, "maya", "/deploy staging")
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" {
		t.Errorf("deployment ended %s", d.LatestState())
	}
	if got := channel.messages(); len(got) != 1 || !strings.HasPrefix(got[0], "✅ Deployed") {
		t.Errorf("messages = %q, want the one succeeded message (tried once: a 403 is not retried)", got)
	}
}
