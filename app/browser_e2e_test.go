package app

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deploybot/deploybot/store"
)

// chromium finds a Chromium or Chrome binary (CI installs Debian's
// chromium package).
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needChromium returns the Chromium to drive, or skips the test.
func needChromium(t *testing.T) string {
	t.Helper()
	exe := chromium()
	if exe == "" {
		t.Skip("no chromium binary: install Debian's chromium package (apt-get install -y chromium); CI does")
	}
	return exe
}

// startChromium starts a headless Chromium for the test and a directory
// for its screenshots (kept, so a reviewer can look at them).
func startChromium(t *testing.T, exe string) (context.Context, string) {
	t.Helper()
	shots, err := os.MkdirTemp("", "deploybot-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 720))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil { // start Chromium (no deadline: it lives as long as this)
		t.Fatalf("start %s: %v", exe, err)
	}
	return browser, shots
}

// tab opens another tab of the person's browser (same cookies).
func (p *person) tab() *person {
	p.t.Helper()
	ctx, _ := chromedp.NewContext(p.ctx)
	if err := chromedp.Do(ctx); err != nil {
		p.t.Fatal(err)
	}
	return &person{t: p.t, s: p.s, ctx: ctx, login: p.login, shots: p.shots}
}

// person is someone at a browser: a browser context of its own (cookies
// apart from everyone else's) in one headless Chromium.
type person struct {
	t     *testing.T
	s     *story
	ctx   context.Context
	login string
	shots string
}

// do runs browser actions within 30 seconds.
func (p *person) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s's browser: %v", p.login, err)
	}
}

func (p *person) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("%s's browser: read %s: %v", p.login, sel, err)
	}
	return s
}

func (p *person) title() string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		p.t.Fatalf("%s's browser: title: %v", p.login, err)
	}
	return s
}

// screenshot saves the page as a PNG and returns its path.
func (p *person) screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(p.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// opens signs in through the emulator's GitHub sign-in page.
func (s *story) opens(browser context.Context, login, shots string) *person {
	s.t.Helper()
	ctx, _ := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	p := &person{t: s.t, s: s, ctx: ctx, login: login, shots: shots}
	if err := chromedp.Do(ctx); err != nil { // open the tab (no deadline: it lives as long as ctx)
		s.t.Fatal(err)
	}
	p.do(chromedp.Navigate(s.Server.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("signin")), // GitHub asks who this is
		chromedp.SendKeys(chromedp.ID("login"), login),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS("header .who")))
	if who := p.text("header .who"); !strings.Contains(who, login) {
		s.t.Fatalf("signed in as %q, want %s", who, login)
	}
	return p
}

// In a real browser: Alice signs in through GitHub's pages, sees her
// deployment on the dashboard, opens its record and the history; Mallory
// sees neither the repository nor its record, also by direct URL.
func TestBrowserSignInDashboardAndAccess(t *testing.T) {
	exe := needChromium(t)
	s := newStory(t, "")
	s.Repo.SetPermission("alice", "write")
	s.Sim.AddRepo(SandboxOwner, "secret", "main").SetPermission("mallory", "read")
	pr, sha := s.openPR("feature", "alice")
	s.comment(pr, "alice", "/deploy staging")
	s.deploymentsFinished(1)
	rows, err := s.App.Store.History(s.ctx, SandboxRepoFull, store.HistoryFilter{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("history %v %v", rows, err)
	}
	record := fmt.Sprintf("/%s/deployments/%d", SandboxRepoFull, rows[0].ID)

	browser, shots := startChromium(t, exe)
	alice := s.opens(browser, "alice", shots)
	var taken []string
	t.Run("alice sees her deployment on the dashboard", func(t *testing.T) {
		alice.do(chromedp.WaitVisible(chromedp.ID("environments")))
		table := alice.text("#environments")
		if !strings.Contains(table, "acme/shop") || !strings.Contains(table, sha[:7]) {
			t.Fatalf("dashboard:\n%s", table)
		}
		taken = append(taken, alice.screenshot("dashboard"))
	})
	t.Run("alice opens the record and the history", func(t *testing.T) {
		alice.do(chromedp.Click(chromedp.CSS(`#environments a[href="`+record+`"]`)), chromedp.WaitVisible(chromedp.ID("steps")))
		if steps := alice.text("#steps"); !strings.Contains(steps, "verify") {
			t.Errorf("steps:\n%s", steps)
		}
		taken = append(taken, alice.screenshot("record"))
		alice.do(chromedp.Navigate(s.Server.URL+"/acme/shop"), chromedp.WaitVisible(chromedp.ID("history")))
		taken = append(taken, alice.screenshot("history"))
	})

	mallory := s.opens(browser, "mallory", shots)
	t.Run("mallory sees neither the repository nor its record", func(t *testing.T) {
		if main := mallory.text("main"); strings.Contains(main, "acme/shop") {
			t.Errorf("mallory's dashboard:\n%s", main)
		}
		for _, path := range []string{record, "/acme/shop"} {
			mallory.do(chromedp.Navigate(s.Server.URL + path))
			if title := mallory.title(); title != "Not found · deploybot" {
				t.Errorf("mallory at %s sees %q", path, title)
			}
		}
		taken = append(taken, mallory.screenshot("not-found"))
	})
	t.Logf("screenshots: %s", strings.Join(taken, " "))
}
