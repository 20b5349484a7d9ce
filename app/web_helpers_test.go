package app

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is one person's web browser: its own cookies, on deploybot and
// on the emulated GitHub.
type browser struct {
	t      *testing.T
	s      *story
	client *http.Client
	login  string
}

// newBrowser opens a browser that has signed in to nothing yet.
func (s *story) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, s: s, client: &http.Client{Jar: jar}}
}

// signIn opens deploybot as login: deploybot sends the browser to GitHub,
// which asks who it is, then back.
func (s *story) signIn(login string) *browser {
	s.t.Helper()
	b := s.newBrowser()
	b.login = login
	status, body := b.get("/")
	form := regexp.MustCompile(`name="return_to" value="([^"]+)"`).FindStringSubmatch(body)
	if status != http.StatusOK || form == nil {
		s.t.Fatalf("opening deploybot signed out did not reach GitHub's sign-in form: %d\n%s", status, body)
	}
	resp, err := b.client.PostForm(s.Sim.WebHostURL()+"session", url.Values{"login": {login}, "return_to": {html.UnescapeString(form[1])}})
	if err != nil {
		s.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="login">`+login+`<`) {
		s.t.Fatalf("signing in as %s ended at %s with %d:\n%s", login, resp.Request.URL, resp.StatusCode, page)
	}
	return b
}

// get loads a deploybot page (following redirects).
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.client.Get(b.s.Server.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post submits a form to deploybot.
func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	resp, err := b.client.PostForm(b.s.Server.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sees loads a page that must answer 200 and returns it.
func (b *browser) sees(path string) string {
	b.t.Helper()
	status, body := b.get(path)
	if status != http.StatusOK {
		b.t.Fatalf("%s opened %s: %d\n%s", b.login, path, status, body)
	}
	return body
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token off a page.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

// noRedirects is a client that shows each redirect instead of following it.
func noRedirects(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func newStoryBrowserJar(t *testing.T) http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}
