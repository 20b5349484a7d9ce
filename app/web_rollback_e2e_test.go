package app

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/store"
)

// A deploy fails its health check; its record page offers Rollback, and
// pressing it is `/rollback staging` by the signed-in user: someone who
// cannot read the repository gets 404, a reader is refused as the command
// refuses, a writer's press rolls back to the version live before.
func TestRollbackFromTheRecordPage(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("rita", "read")
	s.Sim.AddRepo(SandboxOwner, "secret", "main").SetPermission("mallory", "read")
	_, good := s.deployPR("feature/good", "walt", 1)
	pr, bad := s.openPR("feature/bad", "walt")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr, "walt", "/deploy staging")
	if failed := s.deploymentsFinished(2)[1]; failed.LatestState() != "failure" {
		t.Fatalf("bad deploy = %v", states(failed))
	}
	rows, err := s.App.Store.History(s.ctx, SandboxRepoFull, store.HistoryFilter{State: store.StateFailure})
	if err != nil || len(rows) != 1 {
		t.Fatalf("failed deployments %v %v", rows, err)
	}
	record := fmt.Sprintf("/%s/deployments/%d", SandboxRepoFull, rows[0].ID)
	rollback := "/acme/shop/environments/staging/rollback"

	rita := s.signIn("rita")
	page := rita.sees(record)
	contains(t, "the failed record", page, `action="`+rollback+`"`)
	contains(t, "the failed record", page, `name="back" value="`+record+`"`)
	contains(t, "the dashboard", rita.sees("/"), `action="`+rollback+`"`)

	t.Run("a user who cannot read the repository gets 404", func(t *testing.T) {
		mallory := s.signIn("mallory")
		if status, _ := mallory.post(rollback, url.Values{"csrf": {csrf(t, mallory.sees("/"))}}); status != http.StatusNotFound {
			t.Fatalf("mallory's Rollback: %d", status)
		}
	})
	t.Run("a reader is refused as /rollback refuses", func(t *testing.T) {
		status, body := rita.post(rollback, url.Values{"csrf": {csrf(t, page)}, "back": {record}})
		if status != http.StatusForbidden || !strings.Contains(body, "you can&#39;t roll back `staging`") {
			t.Fatalf("rita's Rollback: %d\n%s", status, body)
		}
		contains(t, "the refusal", body, `<a id="back" href="`+record+`">`)
	})
	t.Run("without the page's CSRF token nothing happens", func(t *testing.T) {
		walt := s.signIn("walt")
		if status, _ := walt.post(rollback, url.Values{"csrf": {csrf(t, page)}}); status != http.StatusForbidden {
			t.Fatalf("walt's Rollback with rita's token: %d", status)
		}
	})
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 2 {
		t.Fatalf("refused presses created deployments (%d)", n)
	}

	walt := s.signIn("walt")
	status, body := walt.post(rollback, url.Values{"csrf": {csrf(t, walt.sees(record))}, "back": {record}})
	if status != http.StatusOK || !strings.Contains(body, "Rolling back `staging` to `"+good[:7]+"`") {
		t.Fatalf("walt's Rollback: %d\n%s", status, body)
	}
	contains(t, "the answer", body, `<a id="back" href="`+record+`">`)
	rb := s.deploymentsFinished(3)[2]
	if rb.Task != "deploy:rollback" || rb.SHA != good || rb.LatestState() != "success" {
		t.Fatalf("rollback = task %s sha %s %v, want %s", rb.Task, rb.SHA, states(rb), good)
	}
	if p := payloadDeploybot(t, rb); p["trigger"] != "web" || p["requested_by"] != "walt" {
		t.Errorf("payload = %v", p)
	}
	if s.Target.Live("staging") != good {
		t.Errorf("live = %s, want %s", s.Target.Live("staging"), good)
	}
	t.Run("once rolled back, nothing is left to roll back to", func(t *testing.T) {
		if page := walt.sees(record); strings.Contains(page, `action="`+rollback+`"`) {
			t.Errorf("the failed record still offers Rollback")
		}
		rows, err := s.App.Store.History(s.ctx, SandboxRepoFull, store.HistoryFilter{Limit: 1})
		if err != nil || len(rows) != 1 || rows[0].Task != "deploy:rollback" {
			t.Fatalf("newest deployment %v %v", rows, err)
		}
		page := walt.sees(fmt.Sprintf("/%s/deployments/%d", SandboxRepoFull, rows[0].ID))
		contains(t, "the rollback's record", page, "walt via web on #")
		if strings.Contains(page, `action="`+rollback+`"`) {
			t.Errorf("the rollback's record offers Rollback with nothing before it")
		}
	})
}

var chartPoint = regexp.MustCompile(`<circle class="(point|breach)" cx="[0-9.]+" cy="[0-9.]+" r="2.5"><title>[0-9:]+: ([0-9.]+)`)

// The analysis step's measurements appear on the record page as a chart:
// one point per measurement with its value, and the max as a dashed line.
func TestAnalysisChartOnTheRecordPage(t *testing.T) {
	t.Parallel()
	rates := errorRateAPI(t, "0.01", "0.03", "0.02")
	s := newStory(t, `environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    verify:
      metrics:
        interval: 1s
        count: 3
        queries:
          - { name: errors, web: { url: `+rates+`, json_path: data.error_rate }, max: 0.05 }
`)
	s.Repo.SetPermission("walt", "write")
	s.deployPR("feature/x", "walt", 1)
	rows, err := s.App.Store.History(s.ctx, SandboxRepoFull, store.HistoryFilter{})
	if err != nil || len(rows) != 1 || rows[0].State != store.StateSuccess {
		t.Fatalf("deployments %v %v", rows, err)
	}
	page := s.signIn("walt").sees(fmt.Sprintf("/%s/deployments/%d", SandboxRepoFull, rows[0].ID))
	contains(t, "record", page, `<tr class="metric" data-metric="errors">`)
	contains(t, "record", page, `<title>errors: within bounds</title>`)
	contains(t, "record", page, `stroke-dasharray="4 3"><title>max 0.05</title></line>`)
	var values []string
	for _, m := range chartPoint.FindAllStringSubmatch(page, -1) {
		values = append(values, m[2])
	}
	if got := strings.Join(values, ","); got != "0.01,0.03,0.02" {
		t.Errorf("the chart's points are %q, want the three measurements:\n%s", got, page)
	}
}

// A canary paused for Promote: its record page offers Promote and Abort
// (no Rollback while it is in flight); Promote pressed there goes on and
// the answer links back to the record.
func TestPromoteFromTheRecordPage(t *testing.T) {
	t.Parallel()
	s := newStory(t, canaryConfig)
	s.Repo.SetPermission("alice", "write")
	pr, _ := s.openPR("feature/search", "alice")
	s.comment(pr, "alice", "/deploy production")
	s.paused()
	var id int64
	if err := s.Sim.WaitFor(s.ctx, func() bool {
		rows, err := s.App.Store.History(s.ctx, SandboxRepoFull, store.HistoryFilter{State: store.StateWaiting})
		if err != nil || len(rows) != 1 {
			return false
		}
		id = rows[0].ID
		return true
	}); err != nil {
		t.Fatalf("the canary is not waiting: %v", err)
	}
	record := fmt.Sprintf("/%s/deployments/%d", SandboxRepoFull, id)
	alice := s.signIn("alice")
	page := alice.sees(record)
	var buttons []string
	for _, m := range regexp.MustCompile(`action="/acme/shop/environments/production/(\w+)"`).FindAllStringSubmatch(page, -1) {
		buttons = append(buttons, m[1])
	}
	if got := strings.Join(buttons, ","); got != "promote,abort" {
		t.Fatalf("the paused canary's record offers %q, want promote,abort", got)
	}
	status, body := alice.post("/acme/shop/environments/production/promote", url.Values{"csrf": {csrf(t, page)}, "back": {record}})
	if status != http.StatusOK || !strings.Contains(body, "Promoted") {
		t.Fatalf("alice's Promote: %d\n%s", status, body)
	}
	contains(t, "the answer", body, `<a id="back" href="`+record+`">`)
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" {
		t.Fatalf("canary ended %s", d.LatestState())
	}
}
