package githubsim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"
	"github.com/gregjones/httpcache"
)

// alwaysValidate mimics go-githubapp's WithClientCaching(true, ...): it marks
// responses no-cache so httpcache revalidates them with If-None-Match.
type alwaysValidate struct{ next http.RoundTripper }

func (a alwaysValidate) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err == nil {
		resp.Header.Set("Cache-Control", "no-cache")
	}
	return resp, err
}

func TestHTTPCacheRevalidation(t *testing.T) {
	f := newFixture(t)
	itr, err := ghinstallation.New(http.DefaultTransport, f.sim.AppID(), instID, f.sim.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = strings.TrimSuffix(f.sim.URL, "/")
	cache := &httpcache.Transport{Transport: alwaysValidate{itr}, Cache: httpcache.NewMemoryCache(), MarkCachedResponses: true}
	c := clientFor(f.sim, &http.Client{Transport: cache})
	for i := 0; i < 3; i++ {
		_, _, resp, err := c.Repositories.GetContents(f.ctx, "acme", "shop", "README.md", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cached := resp.Header.Get(httpcache.XFromCache) != ""; cached != (i > 0) {
			t.Fatalf("request %d: from cache %v", i, cached)
		}
	}
	var statuses []int
	for _, r := range f.sim.Requests() {
		if r.Operation == "repos/get-content" {
			statuses = append(statuses, r.Status)
		}
	}
	if len(statuses) != 3 || statuses[0] != 200 || statuses[1] != 304 || statuses[2] != 304 {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestValidatorFlagsDrift(t *testing.T) {
	sp := getSpec()
	op, params, _ := sp.match("GET", "/repos/acme/shop/deployments/12")
	if op == nil || op.ID != "repos/get-deployment" || params["deployment_id"] != "12" {
		t.Fatalf("match: %v %v", op, params)
	}
	var problems []string
	sp.validate(sp.responseSchema(op, 200), map[string]any{"id": "x"}, "response", &problems)
	if len(problems) < 5 {
		t.Fatalf("problems %v", problems)
	}
	for _, tt := range []struct{ path, op, param, value string }{
		{"/repos/a/b/contents/dir/sub/file.yml", "repos/get-content", "path", "dir/sub/file.yml"},
		{"/repos/a/b/git/ref/tags/deploy-backup/x", "git/get-ref", "ref", "tags/deploy-backup/x"},
		{"/repos/a/b/commits/feature%2Fx/status", "repos/get-combined-status-for-ref", "ref", "feature/x"},
		{"/repos/a/b/commits/abc/check-runs", "checks/list-for-ref", "ref", "abc"},
		{"/repos/a/b/commits/abc", "repos/get-commit", "ref", "abc"},
	} {
		op, params, _ := sp.match("GET", tt.path)
		if op == nil || op.ID != tt.op || params[tt.param] != tt.value {
			t.Errorf("%s: %v %v", tt.path, op, params)
		}
	}
	_ = github.String
}

func TestDeliveryToDeadTarget(t *testing.T) {
	f := newFixture(t)
	f.sim.SetWebhookTarget("http://127.0.0.1:1/hook", "x")
	f.sim.Comment("acme/shop", f.repo.OpenIssue("bob", "x"), "bob", "hi")
	if err := f.sim.WaitForDeliveries(f.ctx); err != nil {
		t.Fatal(err)
	}
	ds := f.sim.Deliveries()
	if len(ds) != 1 || !ds[0].Delivered || ds[0].Err == "" || ds[0].Status != 0 {
		t.Fatalf("%+v", ds)
	}
}

func TestAppEndpointsAndReviews(t *testing.T) {
	f := newFixture(t)
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, f.sim.AppID(), f.sim.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	atr.BaseURL = strings.TrimSuffix(f.sim.URL, "/")
	app := clientFor(f.sim, &http.Client{Transport: atr})
	a, _, err := app.Apps.Get(f.ctx, "")
	if err != nil || a.GetSlug() != "deploybot" || a.GetID() != 7 {
		t.Fatalf("GET /app: %v %v", a, err)
	}
	in, _, err := app.Apps.FindRepositoryInstallation(f.ctx, "acme", "shop")
	if err != nil || in.GetID() != instID {
		t.Fatalf("repo installation: %v %v", in, err)
	}
	f.repo.Commit("feat", map[string]string{"a": "b"}, "feat")
	n := f.repo.OpenPR("feat", "main", "alice", "")
	f.repo.AddReview(n, "bob", "APPROVED")
	rs, _, err := f.client.PullRequests.ListReviews(f.ctx, "acme", "shop", n, nil)
	if err != nil || len(rs) != 1 || rs[0].GetState() != "APPROVED" || rs[0].GetUser().GetLogin() != "bob" || rs[0].GetCommitID() != f.repo.Head("feat") {
		t.Fatalf("reviews %v %v", rs, err)
	}
}

func TestEveryOperationHasAHandler(t *testing.T) {
	for _, op := range getSpec().ops {
		if handlers[op.ID] == nil {
			t.Errorf("no handler for %s %s (%s)", op.Method, op.Template, op.ID)
		}
	}
}
