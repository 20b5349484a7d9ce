// Package web serves deploybot's pages behind sign-in with GitHub: the
// dashboard (/), a repository's history (/{owner}/{repo}) and a
// deployment's record (/{owner}/{repo}/deployments/{id}). A user sees only
// the repositories the user can read on GitHub (the user-to-server token's
// installation repositories, re-checked every AccessTTL); anything else
// answers the same 404 as what does not exist.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store"
)

// DefaultAccessTTL is how long a user's list of readable repositories is
// trusted before it is read from GitHub again.
const DefaultAccessTTL = 5 * time.Minute

// Config wires the pages.
type Config struct {
	Store  *store.Store
	Deploy *deploy.Service
	// Sign-in with GitHub: without all three the pages say how to enable it.
	ClientID, ClientSecret string
	SessionKey             []byte
	PublicURL              string // sign-in returns to PublicURL/auth/callback
	WebURL                 string // GITHUB_URL: the OAuth pages
	APIURL                 string // GITHUB_API_URL
	HTTP                   *http.Client
	Logger                 zerolog.Logger
	Now                    func() time.Time
	AccessTTL              time.Duration
}

// Server is the pages' handler.
type Server struct {
	c      Config
	mux    *http.ServeMux
	seal   *sealer
	oauth  *oauth2.Config
	origin string // scheme://host of PublicURL
	secure bool   // cookies only over https
	pages  map[string]*template.Template

	mu     sync.Mutex
	access map[string]*access // session id -> the repositories the user can read

	streams streams // the open /events streams (live.go)
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// reserved are first path segments GitHub does not allow as owners and
// deploybot's fixed routes use: never /{owner}/{repo}.
var reserved = map[string]bool{"api": true, "auth": true, "deployments": true, "metrics": true,
	"healthz": true, "readyz": true, "static": true, "setup": true, "login": true, "logout": true, "events": true}

// New builds the pages. It fails only on a malformed session key.
func New(c Config) (*Server, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = DefaultAccessTTL
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	s := &Server{c: c, mux: http.NewServeMux(), access: map[string]*access{}, streams: streams{done: make(chan struct{})}}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/{file}", http.StripPrefix("/static/", cacheable(http.FileServerFS(static))))
	if !s.enabled() {
		s.mux.HandleFunc("/", s.notEnabled)
		return s, nil
	}
	seal, err := newSealer(c.SessionKey)
	if err != nil {
		return nil, err
	}
	s.seal = seal
	pub := strings.TrimSuffix(c.PublicURL, "/")
	if u, err := url.Parse(pub); err == nil {
		s.origin, s.secure = u.Scheme+"://"+u.Host, u.Scheme == "https"
	}
	web := strings.TrimSuffix(c.WebURL, "/")
	s.oauth = &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: pub + "/auth/callback",
		Endpoint: oauth2.Endpoint{AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams}}
	s.mux.HandleFunc("GET /auth/login", s.login)
	s.mux.HandleFunc("GET /auth/callback", s.callback)
	s.mux.HandleFunc("POST /auth/logout", s.signedIn(s.logout))
	s.mux.HandleFunc("GET /{$}", s.signedIn(s.dashboard))
	s.mux.HandleFunc("GET /events", s.signedIn(s.events))
	s.mux.HandleFunc("GET /{owner}/{repo}", s.signedIn(s.repository))
	s.mux.HandleFunc("GET /{owner}/{repo}/deployments/{id}", s.signedIn(s.record))
	s.mux.HandleFunc("POST /{owner}/{repo}/environments/{env}/{action}", s.signedIn(s.envAction))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r, nil) })
	return s, nil
}

func (s *Server) enabled() bool {
	return s.c.ClientID != "" && s.c.ClientSecret != "" && len(s.c.SessionKey) >= 32
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	if first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); reserved[first] && !isOwnRoute(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func isOwnRoute(p string) bool {
	switch p {
	case "/auth/login", "/auth/callback", "/auth/logout", "/events":
		return true
	}
	return strings.HasPrefix(p, "/static/") && !strings.Contains(p[len("/static/"):], "/")
}

func cacheable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// notEnabled answers every page while sign-in is not configured.
func (s *Server) notEnabled(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusServiceUnavailable)
	s.render(w, "disabled", nil)
}

// signedIn runs h for a signed-in user who may read their repositories; a
// signed-out visitor is sent to sign in, and back here afterwards.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, no-store")
		sess := s.session(r)
		if sess == nil {
			s.toLogin(w, r)
			return
		}
		repos, checked, err := s.repositories(r.Context(), sess)
		if errors.Is(err, errSignedOut) {
			s.clearCookie(w, sessionCookie)
			s.toLogin(w, r)
			return
		}
		if err != nil {
			s.c.Logger.Warn().Err(err).Msg("read the user's repositories from GitHub")
			http.Error(w, "GitHub did not answer; try again in a moment", http.StatusBadGateway)
			return
		}
		h(w, r, &viewer{session: sess, repos: repos, checked: checked, CSRF: s.seal.csrfToken(sess.ID)})
	}
}

func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	back := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		back = "/"
	}
	http.Redirect(w, r, "/auth/login?return_to="+url.QueryEscape(back), http.StatusFound)
}

// viewer is the signed-in user of a request.
type viewer struct {
	*session
	repos   map[string]string // lower(full name) -> full name
	checked time.Time         // when GitHub last said which repos
	CSRF    string            // the token of this session's forms
}

// canRead returns the repository's full name as GitHub spells it, if the
// viewer can read it.
func (v *viewer) canRead(fullName string) (string, bool) {
	name, ok := v.repos[strings.ToLower(fullName)]
	return name, ok
}

func (s *Server) notFound(w http.ResponseWriter, _ *http.Request, v *viewer) {
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusNotFound)
	s.render(w, "notfound", page{Viewer: v, Title: "Not found"})
}

// withTimeout bounds GitHub calls made for one page.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 20*time.Second)
}
