package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/internal/githubsim"
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
	t.Parallel()
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
	for _, gate := range []string{"checks", "reviews", "order", "security", "dependencies",
		"migrations", "variables", "flags", "window", "artifacts"} {
		if cr := s.checkRun(sha, "deploy/production: "+gate); cr.Conclusion != "success" {
			t.Errorf("gate %s = %s/%s %q", gate, cr.Status, cr.Conclusion, cr.Output.Title)
		}
	}
	s.assertSummaryOnlyGates(sha, "production")
	calls, _ := s.Target.Calls()
	var actions []string
	for _, c := range calls {
		actions = append(actions, c.Environment+":"+c.Action)
	}
	if got := strings.Join(actions, ","); got != "staging:deploy,production:backup,production:deploy" {
		t.Errorf("executor calls = %s; the migrations backup hook must run right before the production deploy", got)
	}

	total, ops, lines := requestsByOperation(s.Sim.Requests())
	t.Logf("production deploy with all gates: %d requests: %s", total, strings.Join(lines, " "))
	// 10 gate check runs + the summary are the bulk; the gates' own reads
	// are one page each here. The budget catches a gate that reads twice.
	if total > 38 {
		t.Errorf("all-gates deploy made %d REST requests, budget 38: %s", total, strings.Join(lines, " "))
	}
	w := countWrites(s.Sim.Requests())
	t.Logf("production deploy with all gates: %d writes: %s", w.total, w)
	// The release-notes line (repos/update-release) is the release gate's
	// own promise and is not counted.
	if n := w.total - w.ops["repos/update-release"]; n > 20 {
		t.Errorf("all-gates deploy made %d writes (without the release-notes line), budget 20: %s", n, w)
	}
	if ops["checks/list-for-ref"] > 1 {
		t.Errorf("check runs were read %d times; the checks and migrations gates share one read", ops["checks/list-for-ref"])
	}
}

// writes counts the requests that create or change something on GitHub (all
// but GET and HEAD): what GitHub's secondary limits count per installation.
type writes struct {
	total int
	ops   map[string]int
}

func countWrites(reqs []githubsim.Request) writes {
	w := writes{ops: map[string]int{}}
	for _, r := range reqs {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Operation == "apps/create-installation-access-token" {
			continue
		}
		w.total++
		w.ops[r.Operation]++
	}
	return w
}

func (w writes) String() string {
	var lines []string
	for op, n := range w.ops {
		lines = append(lines, fmt.Sprintf("%s=%d", op, n))
	}
	sort.Strings(lines)
	return strings.Join(lines, " ")
}

// assertSummaryOnlyGates checks that permission and lock are rows of the
// summary deploy/<env>, not check runs of their own.
func (s *story) assertSummaryOnlyGates(sha, env string) {
	s.t.Helper()
	for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
		if cr.Name == "deploy/"+env+": permission" || cr.Name == "deploy/"+env+": lock" {
			s.t.Errorf("check run %s exists; permission and lock belong in the summary's table", cr.Name)
		}
	}
	summary := s.checkRun(sha, "deploy/"+env).Output.Summary
	contains(s.t, "summary check run", summary, "| `permission` | ✅ PASS |")
	contains(s.t, "summary check run", summary, "| `lock` | ✅ PASS |")
}

// sixGatesConfig configures the six gates of issue 9's middle budget on
// staging: checks, reviews, security, dependencies, variables, window.
const sixGatesConfig = `default_environment: staging
environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging } }
    gates:
      checks: { wait: 20m }
      reviews: { approvals: 1 }
      security: { block_on: high }
      dependencies: { block_on: critical }
      variables: [DATABASE_URL]
      window: { timezone: Europe/Berlin, allow: ["Mon-Sun 00:00-23:59"] }
    verify: { health: [{ url: TARGET/healthz/staging, interval: 1s }], timeout: 3s }
`

// A deploy with six gates configured stays within 18 writes: one check run
// per gate, created already completed, the summary created and completed,
// three statuses, the record posted and edited once, the deployment and 👀.
func TestSixGatesDeployWrites(t *testing.T) {
	t.Parallel()
	s := newStory(t, sixGatesConfig)
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("bob", "write")
	pr, sha := s.openPR("feature/six", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "completed", "success")
	s.Repo.AddReview(pr, "bob", "APPROVED")
	s.Repo.SetEnvVariable("staging", "DATABASE_URL", "postgres://db")
	s.settle()
	s.Sim.ResetRequests()
	s.comment(pr, "walt", "/deploy staging")
	d := s.deploymentsFinished(1)[0]
	if got := strings.Join(states(d), ","); got != "queued,in_progress,success" {
		t.Fatalf("statuses = %s, want queued,in_progress,success", got)
	}
	for _, gate := range []string{"checks", "reviews", "security", "dependencies", "variables", "window"} {
		if cr := s.checkRun(sha, "deploy/staging: "+gate); cr.Conclusion != "success" {
			t.Errorf("gate %s = %s/%s %q", gate, cr.Status, cr.Conclusion, cr.Output.Title)
		}
	}
	s.assertSummaryOnlyGates(sha, "staging")
	w := countWrites(s.Sim.Requests())
	t.Logf("deploy with six gates: %d writes: %s", w.total, w)
	if w.total > 18 {
		t.Errorf("six-gates deploy made %d writes, budget 18: %s", w.total, w)
	}
	// Each gate's check run is created with its conclusion: never created
	// and then completed.
	if w.ops["checks/update"] != 1 || w.ops["checks/create"] != 7 {
		t.Errorf("check run writes = %d created, %d updated; want 6 gates + summary created, the summary completed",
			w.ops["checks/create"], w.ops["checks/update"])
	}
}

// requestsByOperation counts the REST requests other than the token
// exchange, by operation, with the counts as sorted "op=n" lines.
func requestsByOperation(reqs []githubsim.Request) (total int, ops map[string]int, lines []string) {
	ops = map[string]int{}
	for _, r := range reqs {
		if r.Operation == "apps/create-installation-access-token" {
			continue
		}
		total++
		ops[r.Operation]++
	}
	for op, n := range ops {
		lines = append(lines, fmt.Sprintf("%s=%d", op, n))
	}
	sort.Strings(lines)
	return total, ops, lines
}
