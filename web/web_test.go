package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store/storetest"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTestServer(t *testing.T, c Config) *Server {
	t.Helper()
	c.Store = storetest.Open(t)
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPagesSayHowToEnableSignIn(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, path := range []string{"/", "/acme/shop", "/acme/shop/deployments/1", "/auth/login"} {
		t.Run(path, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "DEPLOYBOT_SESSION_KEY") {
				t.Fatalf("%d\n%s", w.Code, w.Body)
			}
		})
	}
}

func TestCookiesAndCSRF(t *testing.T) {
	now := time.Now()
	s := newTestServer(t, Config{ClientID: "id", ClientSecret: "secret", SessionKey: testKey,
		PublicURL: "https://deploybot.example", WebURL: "https://github.example/", Now: func() time.Time { return now }})
	t.Run("login cookies are Secure, HttpOnly and Lax behind https", func(t *testing.T) {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/auth/login?return_to=//evil.example", nil))
		c := w.Result().Cookies()
		if len(c) != 1 || !c[0].Secure || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode {
			t.Fatalf("cookies %+v", c)
		}
		var st signInState
		if err := s.seal.open(stateCookie, c[0].Value, &st); err != nil || st.Return != "/" {
			t.Fatalf("state %+v %v: an off-site return_to must become /", st, err)
		}
		loc, _ := url.Parse(w.Header().Get("Location"))
		if loc.Host != "github.example" || loc.Query().Get("state") != st.State ||
			loc.Query().Get("redirect_uri") != "https://deploybot.example/auth/callback" {
			t.Fatalf("to GitHub: %s", loc)
		}
	})
	sess := &session{ID: "sid", Login: "alice", Token: "ghu_x", Expires: now.Add(time.Hour)}
	sealed, _ := s.seal.seal(sessionCookie, sess)
	for name, tc := range map[string]struct {
		value string
		ok    bool
	}{
		"sealed":                  {sealed, true},
		"tampered":                {sealed[:len(sealed)-2] + "AA", false},
		"the state cookie's seal": {func() string { v, _ := s.seal.seal(stateCookie, sess); return v }(), false},
		"expired":                 {func() string { e := *sess; e.Expires = now; v, _ := s.seal.seal(sessionCookie, &e); return v }(), false},
		"sealed under another key": {func() string {
			o, _ := newSealer([]byte(strings.Repeat("k", 32)))
			v, _ := o.seal(sessionCookie, sess)
			return v
		}(), false},
		"not base64": {"%%%", false},
	} {
		t.Run("session cookie "+name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: tc.value})
			if got := s.session(r) != nil; got != tc.ok {
				t.Fatalf("accepted = %v, want %v", got, tc.ok)
			}
		})
	}
	token := s.seal.csrfToken(sess.ID)
	for name, tc := range map[string]struct {
		form, origin string
		ok           bool
	}{
		"right token":             {token, "", true},
		"right token, our origin": {token, "https://deploybot.example", true},
		"foreign origin":          {token, "https://evil.example", false},
		"no token":                {"", "", false},
		"another session's token": {s.seal.csrfToken("other"), "", false},
	} {
		t.Run("csrf "+name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/auth/logout", strings.NewReader(url.Values{"csrf": {tc.form}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if got := s.seal.checkCSRF(r, sess, s.origin); got != tc.ok {
				t.Fatalf("accepted = %v, want %v", got, tc.ok)
			}
		})
	}
}
