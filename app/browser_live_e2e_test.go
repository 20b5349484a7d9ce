package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deploybot/deploybot/store"
)

// stayed reports whether the page kept the marker set by mark: it was
// updated in place, never reloaded.
func (p *person) stayed(marker string) bool {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.`+marker+` === true`))
	if err != nil {
		p.t.Fatalf("%s's browser: %v", p.login, err)
	}
	return ok
}

// mark sets a marker on the page that a reload would lose.
func mark(marker string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](`window.`+marker+` = true`)(ctx, t)
		return chromedp.Void{}, err
	}
}

// In a real browser, live: Alice keeps the dashboard open while she
// comments /deploy production; the deployment appears on it as it runs,
// and the canary's Promote button when it pauses, without a reload. She
// opens the record, presses Promote in another tab, and watches the
// record reach success by itself.
func TestBrowserLiveDashboardAndPromote(t *testing.T) {
	exe := needChromium(t)
	// The canary's error rate, as a metrics endpoint answers it: the
	// record page draws it.
	rates := errorRateAPI(t, "0.012", "0.018", "0.009")
	s := newStory(t, `environments:
  production:
    executor: { webhook: { url: TARGET/hooks/production } }
    strategy: { canary: { steps: [{ weight: 50, pause: manual }, { weight: 100 }] } }
    verify:
      metrics:
        interval: 1s
        count: 2
        queries:
          - { name: error_rate, web: { url: `+rates+`, json_path: data.error_rate }, max: 0.05 }
`)
	s.Repo.SetPermission("alice", "write")
	pr, sha := s.openPR("feature/live", "alice")
	browser, shots := startChromium(t, exe)

	alice := s.opens(browser, "alice", shots)
	// #live shows once the page follows the event stream.
	alice.do(chromedp.WaitVisible(chromedp.ID("live")), mark("dashboardStayed"))
	if main := alice.text("main"); !strings.Contains(main, "No deployments yet") {
		t.Fatalf("before the deploy, the dashboard shows:\n%s", main)
	}

	s.comment(pr, "alice", "/deploy production")
	production := `#environments tr[data-repo="acme/shop"][data-env="production"]`
	promote := production + ` form[action="/acme/shop/environments/production/promote"] button`
	t.Run("the deployment appears on the open dashboard, then its Promote button", func(t *testing.T) {
		alice.do(chromedp.WaitVisible(chromedp.CSS(production)))
		if row := alice.text(production); !strings.Contains(row, sha[:7]) {
			t.Errorf("the live row: %s", row)
		}
		alice.do(chromedp.WaitVisible(chromedp.CSS(promote)))
		if row := alice.text(production); !strings.Contains(row, "waiting") || !strings.Contains(row, "pause") {
			t.Errorf("paused for Promote, the row says: %s", row)
		}
		if !alice.stayed("dashboardStayed") {
			t.Error("the dashboard was reloaded instead of updated in place")
		}
		t.Logf("screenshot: %s", alice.screenshot("dashboard-paused"))
	})

	rows, err := s.App.Store.History(s.ctx, SandboxRepoFull, store.HistoryFilter{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("history %v %v", rows, err)
	}
	record := fmt.Sprintf("/%s/deployments/%d", SandboxRepoFull, rows[0].ID)
	alice.do(chromedp.Click(chromedp.CSS(production+` a[href="`+record+`"]`)), chromedp.WaitVisible(chromedp.ID("steps")),
		chromedp.WaitVisible(chromedp.ID("live")), mark("recordStayed"))
	if h1 := alice.text("h1"); !strings.Contains(h1, "waiting") {
		t.Fatalf("the record of a paused canary says %q", h1)
	}

	t.Run("Promote pressed in another tab moves the open record to success", func(t *testing.T) {
		other := alice.tab()
		other.do(chromedp.Navigate(s.Server.URL+"/"), chromedp.WaitVisible(chromedp.CSS(promote)), chromedp.Click(chromedp.CSS(promote)),
			chromedp.WaitVisible(chromedp.Search(`//main/h1[starts-with(normalize-space(.), "Promote")]`)))
		if msg := other.text("main"); !strings.Contains(msg, "Promoted") {
			t.Fatalf("pressing Promote answered:\n%s", msg)
		}
		alice.do(chromedp.WaitVisible(chromedp.CSS("h1 .state-success")))
		if !alice.stayed("recordStayed") {
			t.Error("the record was reloaded instead of updated in place")
		}
		if steps := alice.text("#steps"); !strings.Contains(steps, "verify") {
			t.Errorf("the finished record's steps:\n%s", steps)
		}
		alice.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-metric="error_rate"] svg`)))
		t.Logf("screenshot: %s", alice.screenshot("record-promoted"))
	})
	if d := s.deploymentsFinished(1)[0]; d.LatestState() != "success" {
		t.Fatalf("the canary ended %s", d.LatestState())
	}
}
