package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/githubsim"
)

func TestVariables(t *testing.T) {
	for _, tc := range []struct {
		name   string
		seed   func(f *simFixture)
		names  []string
		want   Verdict
		reason []string
		detail []string
	}{
		{"variable and secret", func(f *simFixture) {
			f.repo.SetEnvVariable("production", "REGION", "eu")
			f.repo.SetEnvSecret("production", "DATABASE_URL")
		}, []string{"REGION", "DATABASE_URL"}, Pass,
			[]string{"REGION and DATABASE_URL present in GitHub environment `production`"}, []string{"| `REGION` | variable |", "| `DATABASE_URL` | secret |"}},
		{"names compare case-insensitively", func(f *simFixture) {
			f.repo.SetEnvSecret("production", "database_url")
		}, []string{"Database_Url"}, Pass, nil, nil},
		{"missing", func(f *simFixture) {
			f.repo.SetEnvVariable("production", "REGION", "eu")
			f.repo.SetEnvSecret("staging", "DATABASE_URL") // another environment
		}, []string{"REGION", "DATABASE_URL"}, Block,
			[]string{"DATABASE_URL is missing from GitHub environment `production`", "Settings → Environments → production"},
			[]string{"| `DATABASE_URL` | ⛔ missing |", "Add `DATABASE_URL` as a variable or a secret"}},
		{"several missing", func(f *simFixture) { f.repo.AddEnvironment("production") }, []string{"A", "B", "C"}, Block,
			[]string{"A, B and C are missing", "add them as variables or secrets"}, nil},
		{"no environment", func(*simFixture) {}, []string{"DATABASE_URL"}, Block,
			[]string{"GitHub environment `production` does not exist; create it in Settings → Environments → production and add DATABASE_URL"}, nil},
		{"many pages", func(f *simFixture) {
			for i := range 45 {
				f.repo.SetEnvVariable("production", fmt.Sprintf("VAR_%02d", i), "x")
			}
			for i := range 130 {
				f.repo.SetEnvSecret("production", fmt.Sprintf("SECRET_%03d", i))
			}
		}, []string{"VAR_44", "SECRET_129"}, Pass, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			tc.seed(f)
			r := eval(t, Variables{Names: tc.names}, f.input(&config.Environment{Name: "production"}, f.sha))
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), want %s", r.Verdict, r.Reason, tc.want)
			}
			for _, x := range tc.reason {
				if !strings.Contains(r.Reason, x) {
					t.Errorf("reason %q lacks %q", r.Reason, x)
				}
			}
			for _, x := range tc.detail {
				if !strings.Contains(r.Detail, x) {
					t.Errorf("detail %q lacks %q", r.Detail, x)
				}
			}
		})
	}

	t.Run("secrets are not listed when variables suffice", func(t *testing.T) {
		f := newSim(t)
		f.repo.SetEnvVariable("production", "REGION", "eu")
		eval(t, Variables{Names: []string{"REGION"}}, f.input(&config.Environment{Name: "production"}, f.sha))
		for _, req := range f.sim.Requests() {
			if strings.HasSuffix(req.Path, "/secrets") {
				t.Errorf("unneeded request %s %s", req.Method, req.Path)
			}
		}
	})
	t.Run("environment name with a space", func(t *testing.T) {
		f := newSim(t)
		f.repo.SetEnvSecret("eu west", "DATABASE_URL")
		r := eval(t, Variables{Names: []string{"DATABASE_URL"}}, f.input(&config.Environment{Name: "eu west"}, f.sha))
		if r.Verdict != Pass {
			t.Fatalf("%s %q", r.Verdict, r.Reason)
		}
	})
	t.Run("app lacks the permission", func(t *testing.T) {
		f := newSim(t)
		f.repo.AddEnvironment("production")
		f.sim.Inject(githubsim.Fault{Method: "GET", PathPrefix: "/repos/acme/shop/environments/production/secrets", N: 1, Status: 403,
			Body: `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}`})
		r := eval(t, Variables{Names: []string{"DATABASE_URL"}}, f.input(&config.Environment{Name: "production"}, f.sha))
		if r.Verdict != Block || !strings.Contains(r.Reason, "may not read the secrets") || !strings.Contains(r.Detail, `"Secrets: read"`) {
			t.Fatalf("%s %q\n%s", r.Verdict, r.Reason, r.Detail)
		}
	})
	for _, tc := range []struct {
		name, prefix string
		status       int
	}{
		{"variables fail", "/repos/acme/shop/environments/production/variables", 500},
		{"secrets fail", "/repos/acme/shop/environments/production/secrets", 502},
		{"secondary rate limit", "/repos/acme/shop/environments/production/variables", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			f.repo.AddEnvironment("production")
			f.sim.FailNext("GET", tc.prefix, 1, tc.status, nil)
			r, err := Variables{Names: []string{"DATABASE_URL"}}.Evaluate(context.Background(), f.input(&config.Environment{Name: "production"}, f.sha))
			if err == nil {
				t.Fatalf("no error; %s %q", r.Verdict, r.Reason)
			}
		})
	}
}
