package githubsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v62/github"
)

const instID = 4242

type fixture struct {
	sim    *Sim
	repo   *Repo
	client *github.Client
	ctx    context.Context
}

// newFixture starts a Sim (failing the test on violations) with acme/shop and
// a go-github client authenticated as the app installation via ghinstallation.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim := New(Options{AppID: 7, AppSlug: "deploybot", TB: t})
	sim.AddInstallation(instID, "acme")
	repo := sim.AddRepo("acme", "shop", "main")
	return &fixture{sim: sim, repo: repo, client: installationClient(t, sim, instID), ctx: context.Background()}
}

func installationClient(t *testing.T, sim *Sim, inst int64) *github.Client {
	t.Helper()
	tr, err := ghinstallation.New(http.DefaultTransport, sim.AppID(), inst, sim.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(sim.URL, "/")
	return clientFor(sim, &http.Client{Transport: tr})
}

func clientFor(sim *Sim, hc *http.Client) *github.Client {
	c := github.NewClient(hc)
	u, _ := url.Parse(sim.URL)
	c.BaseURL = u
	return c
}

// token fetches an installation token for raw HTTP requests.
func (f *fixture) token(t *testing.T) string {
	t.Helper()
	tr, err := ghinstallation.New(http.DefaultTransport, f.sim.AppID(), instID, f.sim.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(f.sim.URL, "/")
	tok, err := tr.Token(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fixture) raw(t *testing.T, method, path, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, strings.TrimSuffix(f.sim.URL, "/")+path, strings.NewReader(body))
	req.Header.Set("Authorization", "token "+f.token(t))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func signJWT(t *testing.T, key *rsa.PrivateKey, iss any, iat, exp time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "iat": iat.Unix(), "exp": exp.Unix()})
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenExchange(t *testing.T) {
	f := newFixture(t)
	key, err := x509.ParsePKCS1PrivateKey(func() []byte { b, _ := pem.Decode(f.sim.PrivateKeyPEM()); return b.Bytes }())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now()
	tests := []struct {
		name string
		jwt  string
		want int
	}{
		{"good, numeric iss", signJWT(t, key, 7, now.Add(-30*time.Second), now.Add(9*time.Minute)), 201},
		{"good, string iss", signJWT(t, key, "7", now, now.Add(10*time.Minute)), 201},
		{"wrong key", signJWT(t, other, 7, now, now.Add(5*time.Minute)), 401},
		{"wrong app id", signJWT(t, key, 8, now, now.Add(5*time.Minute)), 401},
		{"expired", signJWT(t, key, 7, now.Add(-20*time.Minute), now.Add(-11*time.Minute)), 401},
		{"too long", signJWT(t, key, 7, now, now.Add(30*time.Minute)), 401},
		{"garbage", "not.a.jwt", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.sim.URL+"app/installations/4242/access_tokens", nil)
			req.Header.Set("Authorization", "Bearer "+tt.jwt)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.want, body)
			}
			if tt.want != 201 {
				return
			}
			tok, _ := body["token"].(string)
			c := clientFor(f.sim, &http.Client{Transport: &bearerTransport{tok}})
			if _, _, err := c.Repositories.Get(f.ctx, "acme", "shop"); err != nil {
				t.Fatalf("token does not work: %v", err)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		c := clientFor(f.sim, http.DefaultClient)
		_, resp, err := c.Repositories.Get(f.ctx, "acme", "shop")
		if err == nil || resp.StatusCode != 401 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("other installation cannot see repo", func(t *testing.T) {
		f.sim.AddInstallation(99, "other")
		_, resp, err := installationClient(t, f.sim, 99).Repositories.Get(f.ctx, "acme", "shop")
		if err == nil || resp.StatusCode != 404 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ghinstallation", func(t *testing.T) {
		r, _, err := f.client.Repositories.Get(f.ctx, "acme", "shop")
		if err != nil || r.GetFullName() != "acme/shop" || r.GetDefaultBranch() != "main" {
			t.Fatalf("got %v, %v", r, err)
		}
	})
}

type bearerTransport struct{ tok string }

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "token "+b.tok)
	return http.DefaultTransport.RoundTrip(r)
}

func TestSpecViolations(t *testing.T) {
	f := newFixture(t)
	sha := f.repo.Head("main")
	f.repo.Commit("main", nil, "second")
	id, _, err := f.client.Repositories.CreateDeployment(f.ctx, "acme", "shop", &github.DeploymentRequest{Ref: github.String("main"), RequiredContexts: &[]string{}})
	if err != nil {
		t.Fatal(err)
	}
	cid := f.sim.Comment("acme/shop", f.repo.OpenIssue("alice", "x"), "alice", "hi")
	tests := []struct {
		name, method, path, body string
		want                     int
		problem                  string
	}{
		{"unknown path", "GET", "/repos/acme/shop/deployz", "", 404, "no such operation"},
		{"not emulated", "GET", "/repos/acme/shop/tags", "", 404, "not emulated"},
		{"wrong method", "DELETE", "/repos/acme/shop/check-runs/1", "", 404, "method not allowed"},
		{"bad status state", "POST", "/repos/acme/shop/deployments/" + itoa(id.GetID()) + "/statuses", `{"state":"done"}`, 422, "is not one of"},
		{"check run without name", "POST", "/repos/acme/shop/check-runs", `{"head_sha":"` + sha + `"}`, 422, `"name" is required`},
		{"bad reaction", "POST", "/repos/acme/shop/issues/comments/" + itoa(cid) + "/reactions", `{"content":"thumbsup"}`, 422, "is not one of"},
		{"wrong type", "POST", "/repos/acme/shop/deployments", `{"ref":"main","auto_merge":"no"}`, 422, "want boolean"},
		{"bad enum query", "GET", "/repos/acme/shop/commits/main/check-runs?status=done", "", 422, "query parameter status"},
		{"bad integer query", "GET", "/repos/acme/shop/deployments?per_page=ten", "", 422, "not an integer"},
		{"not json", "POST", "/repos/acme/shop/deployments", `{"ref":`, 400, "not JSON"},
		{"too many actions", "POST", "/repos/acme/shop/check-runs", `{"name":"x","head_sha":"` + sha + `","actions":[` + strings.Repeat(`{"label":"a","description":"b","identifier":"c"},`, 3) + `{"label":"a","description":"b","identifier":"c"}]}`, 422, "more than 3"},
		{"long label", "POST", "/repos/acme/shop/check-runs", `{"name":"x","head_sha":"` + sha + `","actions":[{"label":"123456789012345678901","description":"b","identifier":"c"}]}`, 422, "longer than 20"},
		{"long action description", "POST", "/repos/acme/shop/check-runs", `{"name":"x","head_sha":"` + sha + `","actions":[{"label":"Rollback","description":"` + strings.Repeat("d", 41) + `","identifier":"rollback"}]}`, 422, "longer than 40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sim.ResetViolations()
			resp, body := f.raw(t, tt.method, tt.path, tt.body, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			v := f.sim.Violations()
			if len(v) != 1 || !strings.Contains(v[0].Error(), tt.problem) {
				t.Fatalf("violations %v, want one containing %q", v, tt.problem)
			}
			if tt.want == 422 && !strings.Contains(string(body), `Invalid request.\n\n`) {
				t.Fatalf("body %s", body)
			}
		})
	}
	f.sim.ResetViolations()
	if len(f.sim.CheckRuns("acme/shop", "")) != 0 {
		t.Fatal("rejected check runs were stored")
	}
}

func itoa(n int64) string {
	return strings.TrimSpace(strings.Replace(string(must(json.Marshal(n))), `"`, "", -1))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestConditionalRequests(t *testing.T) {
	f := newFixture(t)
	resp, body := f.raw(t, "GET", "/repos/acme/shop", "", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !strings.HasPrefix(etag, `W/"`) || resp.Header.Get("Cache-Control") == "" || len(body) == 0 {
		t.Fatalf("first: %d %q", resp.StatusCode, etag)
	}
	remaining := resp.Header.Get("X-RateLimit-Remaining")
	resp, body = f.raw(t, "GET", "/repos/acme/shop", "", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("X-RateLimit-Remaining") != remaining {
		t.Fatalf("second: %d %q remaining %s (was %s)", resp.StatusCode, body, resp.Header.Get("X-RateLimit-Remaining"), remaining)
	}
	f.repo.OpenIssue("alice", "bug") // open_issues_count changes
	resp, _ = f.raw(t, "GET", "/repos/acme/shop", "", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 200 {
		t.Fatalf("after change: %d", resp.StatusCode)
	}
	n304 := 0
	for _, r := range f.sim.Requests() {
		if r.Status == 304 && r.Operation == "repos/get" {
			n304++
		}
	}
	if n304 != 1 {
		t.Fatalf("304s logged: %d", n304)
	}
}

func TestContentsRefsAndPulls(t *testing.T) {
	f := newFixture(t)
	main1 := f.repo.Commit("main", map[string]string{".github/deploy.yml": "v1"}, "config")
	f.repo.Commit("main", map[string]string{".github/deploy.yml": "v2"}, "config 2")
	f.repo.Commit("feature/x", map[string]string{"app.go": "package app"}, "feature")
	f.repo.Tag("v1.0.0", main1)
	for _, tt := range []struct{ ref, want string }{{"", "v2"}, {"main", "v2"}, {"v1.0.0", "v1"}, {main1, "v1"}, {main1[:7], "v1"}, {"feature/x", "v2"}} {
		t.Run("contents@"+tt.ref, func(t *testing.T) {
			fc, _, _, err := f.client.Repositories.GetContents(f.ctx, "acme", "shop", ".github/deploy.yml", &github.RepositoryContentGetOptions{Ref: tt.ref})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := fc.GetContent(); got != tt.want {
				t.Fatalf("got %q", got)
			}
		})
	}
	_, _, resp, err := f.client.Repositories.GetContents(f.ctx, "acme", "shop", "missing.yml", nil)
	if err == nil || resp.StatusCode != 404 {
		t.Fatalf("missing file: %v", err)
	}
	ref, _, err := f.client.Git.CreateRef(f.ctx, "acme", "shop", &github.Reference{Ref: github.String("refs/tags/deploy-backup/staging/20260101-120000"), Object: &github.GitObject{SHA: github.String(main1)}})
	if err != nil || ref.GetObject().GetSHA() != main1 {
		t.Fatal(err)
	}
	if _, resp, err := f.client.Git.CreateRef(f.ctx, "acme", "shop", &github.Reference{Ref: github.String("refs/tags/deploy-backup/staging/20260101-120000"), Object: &github.GitObject{SHA: github.String(main1)}}); err == nil || resp.StatusCode != 422 {
		t.Fatalf("duplicate ref: %v", err)
	}
	got, _, err := f.client.Git.GetRef(f.ctx, "acme", "shop", "tags/deploy-backup/staging/20260101-120000")
	if err != nil || got.GetObject().GetSHA() != main1 {
		t.Fatalf("get ref: %v", err)
	}
	refs, _, err := f.client.Git.ListMatchingRefs(f.ctx, "acme", "shop", &github.ReferenceListOptions{Ref: "tags/deploy-backup/"})
	if err != nil || len(refs) != 1 {
		t.Fatalf("matching refs: %v %v", refs, err)
	}
	br, _, err := f.client.Repositories.GetBranch(f.ctx, "acme", "shop", "feature/x", 0)
	if err != nil || br.GetCommit().GetSHA() != f.repo.Head("feature/x") {
		t.Fatalf("branch: %v", err)
	}
	cm, _, err := f.client.Repositories.GetCommit(f.ctx, "acme", "shop", "v1.0.0", nil)
	if err != nil || cm.GetSHA() != main1 {
		t.Fatalf("commit: %v", err)
	}

	fork := f.sim.AddRepo("mallory", "shop", "main")
	evil := fork.Commit("evil", map[string]string{"app.go": "rm -rf"}, "evil")
	n := f.repo.OpenForkPR(fork, "evil", "main", "mallory", "Innocent")
	pr, _, err := f.client.PullRequests.Get(f.ctx, "acme", "shop", n)
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetHead().GetSHA() != evil || pr.GetHead().GetRepo().GetFullName() != "mallory/shop" || pr.GetBase().GetRef() != "main" || pr.GetHead().GetRef() != "evil" {
		t.Fatalf("fork PR: head %s %s base %s", pr.GetHead().GetSHA(), pr.GetHead().GetRepo().GetFullName(), pr.GetBase().GetRef())
	}
}

func TestPermissionMapping(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ role, permission string }{
		{"admin", "admin"}, {"maintain", "write"}, {"write", "write"}, {"triage", "read"}, {"read", "read"}, {"none", "none"},
	} {
		t.Run(tt.role, func(t *testing.T) {
			f.sim.SetPermission("acme/shop", "user-"+tt.role, tt.role)
			lvl, _, err := f.client.Repositories.GetPermissionLevel(f.ctx, "acme", "shop", "user-"+tt.role)
			if err != nil {
				t.Fatal(err)
			}
			if lvl.GetPermission() != tt.permission || lvl.GetUser().GetRoleName() != tt.role {
				t.Fatalf("permission %q role_name %q", lvl.GetPermission(), lvl.GetUser().GetRoleName())
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	f := newFixture(t)
	f.sim.FailNext("GET", "/repos/acme/shop", 2, 502, nil)
	for i := 0; i < 2; i++ {
		if _, resp, err := f.client.Repositories.Get(f.ctx, "acme", "shop"); err == nil || resp.StatusCode != 502 {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := f.client.Repositories.Get(f.ctx, "acme", "shop"); err != nil {
		t.Fatal(err)
	}
	reset := time.Now().Add(time.Minute).Unix()
	f.sim.FailNext("", "/repos/acme/shop/deployments", 1, 403, http.Header{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {itoa(reset)}})
	_, _, err := f.client.Repositories.ListDeployments(f.ctx, "acme", "shop", nil)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || !strings.Contains(rle.Message, "API rate limit exceeded") {
		t.Fatalf("want RateLimitError, got %T %v", err, err)
	}
	f.sim.FailNext("GET", "/repos/acme/shop/commits/", 1, 403, http.Header{"Retry-After": {"1"}})
	// A fresh client: go-github remembers the primary limit from above.
	_, _, err = installationClient(t, f.sim, instID).Repositories.GetCombinedStatus(f.ctx, "acme", "shop", "main", nil)
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != time.Second {
		t.Fatalf("want AbuseRateLimitError, got %T %v", err, err)
	}
}

func TestWaitFor(t *testing.T) {
	f := newFixture(t)
	n := f.repo.OpenIssue("alice", "x")
	go func() {
		time.Sleep(20 * time.Millisecond)
		f.sim.Comment("acme/shop", n, "alice", "hello")
	}()
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := f.sim.WaitFor(ctx, func() bool { return len(f.sim.Comments("acme/shop", n)) == 1 }); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(f.ctx, 30*time.Millisecond)
	defer cancel2()
	if err := f.sim.WaitFor(short, func() bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

// hookSink receives webhooks and checks their signature.
type hookSink struct {
	t      *testing.T
	secret string
	status int
	events chan received
}

type received struct {
	event, delivery string
	payload         []byte
	header          http.Header
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	payload, err := github.ValidatePayload(r, []byte(h.secret))
	if err != nil {
		h.t.Errorf("bad signature: %v", err)
		w.WriteHeader(400)
		return
	}
	h.events <- received{github.WebHookType(r), github.DeliveryID(r), payload, r.Header.Clone()}
	w.WriteHeader(h.status)
}

func newSink(t *testing.T, sim *Sim) *hookSink {
	h := &hookSink{t: t, secret: "s3cret", status: 202, events: make(chan received, 100)}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	sim.SetWebhookTarget(srv.URL+"/api/github/hook", h.secret)
	return h
}

func (h *hookSink) next(t *testing.T) (received, any) {
	t.Helper()
	select {
	case r := <-h.events:
		ev, err := github.ParseWebHook(r.event, r.payload)
		if err != nil {
			t.Fatal(err)
		}
		for _, leftover := range []string{"Codertocat", "Hello-World", "electron", "api.github.com"} {
			if bytes.Contains(r.payload, []byte(leftover)) {
				t.Errorf("%s payload still contains example data %q", r.event, leftover)
			}
		}
		return r, ev
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook")
	}
	return received{}, nil
}
