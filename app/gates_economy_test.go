package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// allGatesConfig configures every gate on production; FLAGS is the flag
// service's URL.
const allGatesConfig = `default_environment: staging
environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    verify: { health: [{ url: TARGET/healthz/staging, interval: 1s }], timeout: 3s }
  production:
    production: true
    permission: maintain
    requires: [staging]
    executor: { webhook: { url: TARGET/hooks/production } }
    gates:
      checks: { wait: 20m }
      reviews: { approvals: 1 }
      security: { block_on: high }
      dependencies: { block_on: critical }
      migrations: { paths: ["db/migrations/**"], require_checks: [migrations], backup: { webhook: { url: TARGET/hooks/db-backup } } }
      variables: [DATABASE_URL, API_TOKEN]
      flags: { url: FLAGS, expect: { checkout.enabled: true } }
      window: { timezone: Europe/Berlin, allow: ["Mon-Sun 00:00-23:59"] }
      artifacts: { assets: [{ name: "shop-*.tar.gz", max_size: 100MB }] }
    verify: { health: [{ url: TARGET/healthz/production, interval: 1s }], timeout: 3s }
`

// With every gate configured, one production deploy of a release tag makes
// a counted number of REST requests; the figure is in BENCHMARKS.md.
func TestAllGatesDeployAPIEconomy(t *testing.T) {
	flags := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"checkout":{"enabled":true}}`)
	}))
	t.Cleanup(flags.Close)
	s := newStory(t, strings.ReplaceAll(allGatesConfig, "FLAGS", flags.URL))
	s.Repo.SetPermission("mia", "maintain")
	s.Repo.SetPermission("bob", "write")
	pr, sha := s.openPR("feature/release", "mia")
	s.Repo.Commit("feature/release", map[string]string{"db/migrations/0002_orders.sql": "ALTER TABLE orders ADD note text;"}, "migration")
	sha = s.Repo.Head("feature/release")
	s.Repo.AddCheckRun(sha, "ci/test", "completed", "success")
	s.Repo.AddCheckRun(sha, "migrations", "completed", "success")
	s.Repo.AddReview(pr, "bob", "APPROVED")
	s.Repo.SetEnvVariable("production", "DATABASE_URL", "postgres://db")
	s.Repo.SetEnvSecret("production", "API_TOKEN")
	rel := s.Repo.CreateRelease("v1.0.0", sha, "v1.0.0", "First release", false, false)
	s.Repo.AddReleaseAsset(rel, "shop-1.0.0.tar.gz", 12<<20)
	s.settle()

	s.comment(pr, "mia", "/deploy staging v1.0.0")
	s.deploymentsFinished(1)
	s.Sim.ResetRequests()
	s.comment(pr, "mia", "/deploy production v1.0.0")
	deps := s.deploymentsFinished(2)
	prod := deps[1]
	if prod.Environment != "production" || prod.LatestState() != "success" {
		t.Fatalf("production deployment = %s %v", prod.Environment, states(prod))
	}
	for _, gate := range []string{"permission", "lock", "checks", "reviews", "order", "security", "dependencies",
		"migrations", "variables", "flags", "window", "artifacts"} {
		if cr := s.checkRun(sha, "deploy/production: "+gate); cr.Conclusion != "success" {
			t.Errorf("gate %s = %s/%s %q", gate, cr.Status, cr.Conclusion, cr.Output.Title)
		}
	}
	calls, _ := s.Target.Calls()
	var actions []string
	for _, c := range calls {
		actions = append(actions, c.Environment+":"+c.Action)
	}
	if got := strings.Join(actions, ","); got != "staging:deploy,production:backup,production:deploy" {
		t.Errorf("executor calls = %s; the migrations backup hook must run right before the production deploy", got)
	}

	total, ops := 0, map[string]int{}
	for _, r := range s.Sim.Requests() {
		if r.Operation == "apps/create-installation-access-token" {
			continue
		}
		total++
		ops[r.Operation]++
	}
	var lines []string
	for op, n := range ops {
		lines = append(lines, fmt.Sprintf("%s=%d", op, n))
	}
	sort.Strings(lines)
	t.Logf("production deploy with all gates: %d requests: %s", total, strings.Join(lines, " "))
	// 12 gate check runs + the summary are the bulk; the gates' own reads
	// are one page each here. The budget catches a gate that reads twice.
	if total > 45 {
		t.Errorf("all-gates deploy made %d REST requests, budget 45: %s", total, strings.Join(lines, " "))
	}
	if ops["checks/list-for-ref"] > 1 {
		t.Errorf("check runs were read %d times; the checks and migrations gates share one read", ops["checks/list-for-ref"])
	}
}
