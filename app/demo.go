package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/internal/pacer"
)

// demoConfig is the sandbox's config with a CI gate on staging and a
// canary for production (10 %, a pause for Promote, 100 %).
var demoConfig = strings.NewReplacer(
	"    url: https://staging.shop.example\n", "    url: https://staging.shop.example\n    gates: { checks: { wait: 20m } }\n",
	"    url: https://shop.example\n", "    url: https://shop.example\n    strategy: { canary: { steps: [{ weight: 10, pause: manual }, { weight: 100 }] } }\n"+
		"    monitor: { duration: 30m, interval: 1m, on_failure: rollback, issues: { labels: [incident] } }\n",
).Replace(SandboxConfig)

// Demo runs deploybot against the built-in GitHub emulator with the default
// settings (a SQLite file in a temp dir) and prints what happens:
// /deploy waits for CI → success, then a bad version → failure → Rollback.
func Demo(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "deploybot-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// The story makes about 130 writes within seconds; real installations
	// get GitHub's 80 a minute. The emulator's installation gets ten times
	// that, so the demo shows every step rather than the pacer's waits.
	budget := pacer.DefaultLimits()
	budget.PerMinute, budget.PerHour = 10*budget.PerMinute, 10*budget.PerHour
	sb, err := NewSandbox(ctx, SandboxOptions{DatabaseURL: "sqlite:" + filepath.Join(dir, "deploybot.db"), Config: demoConfig,
		PacerLimits: &budget})
	if err != nil {
		return err
	}
	defer sb.Close()
	p := demoPrinter{out: out, start: time.Now()}
	sim, repo := sb.Sim, sb.Repo
	repo.SetPermission("alice", "maintain")

	p.say("deploybot %s is serving at %s against the GitHub emulator at %s (database: SQLite)", Version, sb.Server.URL, sim.URL)
	p.say("repository %s has .github/deploy.yml on main: environments staging (gate: CI must pass) and production", SandboxRepoFull)

	// 1. A good change goes to staging, once its CI passes.
	repo.Commit("feature/checkout", map[string]string{"checkout.go": "package shop // v1\n"}, "Add checkout")
	pr1 := repo.OpenPR("feature/checkout", "main", "alice", "Add checkout")
	good := repo.Head("feature/checkout")
	ci := repo.AddCheckRun(good, "ci/test", "in_progress", "")
	p.say("alice opens PR #%d (head %s; CI ci/test still running) and comments `/deploy staging`", pr1, good[:7])
	sim.Comment(SandboxRepoFull, pr1, "alice", "/deploy staging")
	if err := sim.WaitFor(ctx, func() bool {
		ds := sim.Deployments(SandboxRepoFull)
		return len(ds) == 1 && len(ds[0].Statuses) > 0 && strings.HasPrefix(ds[0].Statuses[len(ds[0].Statuses)-1].Description, "Waiting for")
	}); err != nil {
		return fmt.Errorf("waiting for the deployment to wait for CI: %w", err)
	}
	if err := sb.Settle(ctx); err != nil {
		return err
	}
	for _, cr := range sim.CheckRuns(SandboxRepoFull, good) {
		if strings.HasPrefix(cr.Name, "deploy/") {
			p.say("check run %-28s %-11s %s", cr.Name, cr.Status+"/"+cr.Conclusion, cr.Output.Title)
		}
	}
	before := len(sim.Requests())
	p.say("the deployment waits (status queued: %q): nothing polls; a webhook resumes it, a durable timer ends the 20m wait",
		sim.Deployments(SandboxRepoFull)[0].Statuses[len(sim.Deployments(SandboxRepoFull)[0].Statuses)-1].Description)
	p.say("CI finishes green: GitHub sends check_run and check_suite completed")
	sim.CompleteCheckRun(ci, "success")
	dep1, err := p.waitDeployment(ctx, sim, 1)
	if err != nil {
		return err
	}
	p.deployment(dep1)
	p.say("(requests between CI going green and staging being live: %d)", len(sim.Requests())-before)
	if calls, _ := sb.Target.Calls(); len(calls) > 0 {
		p.say("the deploy target answered the signed step JSON with 202 Accepted, then reported success by a signed POST to its callback_url (%s): no request was held open while it deployed", calls[0].CallbackURL)
	}

	// 2. A broken change: it deploys, but its health check fails.
	repo.Commit("feature/broken", map[string]string{"checkout.go": "package shop // v2, broken\n"}, "Refactor checkout")
	pr2 := repo.OpenPR("feature/broken", "main", "alice", "Refactor checkout")
	bad := repo.Head("feature/broken")
	sb.Target.MarkUnhealthy(bad)
	p.say("alice opens PR #%d (head %s, which will fail its health check) and comments `/deploy staging`", pr2, bad[:7])
	sim.Comment(SandboxRepoFull, pr2, "alice", "/deploy staging")
	dep2, err := p.waitDeployment(ctx, sim, 2)
	if err != nil {
		return err
	}
	p.deployment(dep2)
	if err := sb.Settle(ctx); err != nil { // the check run completes after the status
		return err
	}
	var checkRunID int64
	for _, cr := range sim.CheckRuns(SandboxRepoFull, bad) {
		if cr.Name == "deploy/staging" {
			checkRunID = cr.ID
			p.say("check run %s: %s / %s — %q; buttons: %v", cr.Name, cr.Status, cr.Conclusion, cr.Output.Title, actionLabels(cr.Actions))
		}
	}
	comments := sim.Comments(SandboxRepoFull, pr2)
	if n := len(comments); n > 0 {
		p.block("deployment record on PR #"+fmt.Sprint(pr2), comments[n-1].Body)
	}

	// 3. Rollback.
	p.say("alice presses Rollback on the deploy/staging check run")
	sim.PressRequestedAction(SandboxRepoFull, checkRunID, "alice", "rollback")
	dep3, err := p.waitDeployment(ctx, sim, 3)
	if err != nil {
		return err
	}
	p.deployment(dep3)
	if err := sb.Settle(ctx); err != nil {
		return err
	}
	p.say("live in staging now: %s (the version before the failed one: %v)", sb.Target.Live("staging")[:7], sb.Target.Live("staging") == good)
	var tags []string
	for ref := range sim.Refs(SandboxRepoFull) {
		if strings.HasPrefix(ref, "refs/tags/deploy-backup/") {
			tags = append(tags, ref)
		}
	}
	p.say("backup tags: %v", tags)

	// 4. A canary to production: 10 %, Promote, 100 %.
	dep4, err := p.canary(ctx, sb, pr1, good, "promote")
	if err != nil {
		return err
	}
	// 5. Another canary, aborted at 10 %: stable takes all traffic back.
	repo.Commit("feature/checkout", map[string]string{"checkout.go": "package shop // v3\n"}, "Tune checkout")
	v3 := repo.Head("feature/checkout")
	dep5, err := p.canary(ctx, sb, pr1, v3, "abort")
	if err != nil {
		return err
	}
	// 6. v3 again, promoted; during its monitoring window a user reports
	// an incident: the breach rolls production back by itself.
	dep6, err := p.canary(ctx, sb, pr1, v3, "promote")
	if err != nil {
		return err
	}
	repo.SetPermission("tom", "triage")
	p.say("production is being monitored for 30m; tom (triage) opens an issue labelled `incident`")
	repo.ReportIssue("tom", "Checkout times out", "incident")
	dep7, err := p.waitDeployment(ctx, sim, 7)
	if err != nil {
		return err
	}
	if err := sb.Settle(ctx); err != nil {
		return err
	}
	for _, d := range sim.Deployments(SandboxRepoFull) {
		if d.ID == dep6.ID {
			dep6 = d
		}
	}
	p.deployment(dep6)
	p.deployment(dep7)
	p.say("live in production now: %s (the version before v3: %v)", sb.Target.Live("production")[:7], sb.Target.Live("production") == good)
	writes := 0
	for _, r := range sim.Requests() {
		if r.Method != "GET" && r.Operation != "apps/create-installation-access-token" {
			writes++
		}
	}
	p.say("GitHub API requests made by deploybot: %d (%d of them writes); emulator violations: %d", len(sim.Requests()), writes, len(sim.Violations()))
	if v := sim.Violations(); len(v) > 0 {
		return fmt.Errorf("emulator recorded violations: %v", v)
	}
	if dep1.LatestState() != "success" || dep2.LatestState() != "failure" || dep3.LatestState() != "success" ||
		dep4.LatestState() != "success" || dep5.LatestState() != "failure" || dep6.LatestState() != "failure" ||
		dep7.LatestState() != "success" || dep7.Task != "deploy:rollback" {
		return fmt.Errorf("demo did not end as expected: %s, %s, %s, %s, %s, %s, %s %s", dep1.LatestState(), dep2.LatestState(),
			dep3.LatestState(), dep4.LatestState(), dep5.LatestState(), dep6.LatestState(), dep7.Task, dep7.LatestState())
	}
	p.say("done: success → failure → rollback → canary promoted → canary aborted → monitor breach rolled back, all recorded")
	return nil
}

// canary deploys sha to production from pr as a canary and, at its pause
// for Promote, presses decision (promote or abort) on the check run.
func (p demoPrinter) canary(ctx context.Context, sb *Sandbox, pr int, sha, decision string) (githubsim.Deployment, error) {
	sim := sb.Sim
	n := len(sim.Deployments(SandboxRepoFull)) + 1
	p.say("alice comments `/deploy production` on PR #%d (%s): production rolls out as a canary", pr, sha[:7])
	sim.Comment(SandboxRepoFull, pr, "alice", "/deploy production")
	if err := sim.WaitFor(ctx, func() bool {
		for _, d := range sim.Deployments(SandboxRepoFull) {
			if d.SHA == sha && d.Environment == "production" && len(d.Statuses) > 0 &&
				strings.Contains(d.Statuses[len(d.Statuses)-1].Description, "paused for Promote") {
				return true
			}
		}
		return false
	}); err != nil {
		return githubsim.Deployment{}, fmt.Errorf("waiting for the canary to pause: %w", err)
	}
	if err := sb.Settle(ctx); err != nil {
		return githubsim.Deployment{}, err
	}
	var checkRunID int64
	for _, cr := range sim.CheckRuns(SandboxRepoFull, sha) {
		if cr.Name == "deploy/production" && cr.Status == "in_progress" {
			checkRunID = cr.ID
			p.say("paused at 10 %%: check run %s %q, buttons %v; no request is made while it waits", cr.Name, cr.Output.Title, actionLabels(cr.Actions))
		}
	}
	p.say("alice presses %s", strings.ToUpper(decision[:1])+decision[1:])
	sim.PressRequestedAction(SandboxRepoFull, checkRunID, "alice", decision)
	dep, err := p.waitDeployment(ctx, sim, n)
	if err != nil {
		return dep, err
	}
	p.deployment(dep)
	calls, _ := sb.Target.Calls()
	var steps []string
	for _, c := range calls[len(calls)-2:] {
		if c.Step.Weight != nil {
			steps = append(steps, fmt.Sprintf("%s at %d %%", c.Action, *c.Step.Weight))
		}
	}
	p.say("executor calls of this rollout: %s", strings.Join(steps, ", "))
	return dep, sb.Settle(ctx)
}

type demoPrinter struct {
	out   io.Writer
	start time.Time
}

func (p demoPrinter) say(format string, args ...any) {
	fmt.Fprintf(p.out, "[%6.2fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

func (p demoPrinter) block(title, body string) {
	p.say("%s:", title)
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		fmt.Fprintf(p.out, "           │ %s\n", line)
	}
}

// waitDeployment waits for the n-th deployment to reach a final state.
func (p demoPrinter) waitDeployment(ctx context.Context, sim *githubsim.Sim, n int) (githubsim.Deployment, error) {
	var dep githubsim.Deployment
	err := sim.WaitFor(ctx, func() bool {
		ds := sim.Deployments(SandboxRepoFull)
		for _, d := range ds {
			if countBefore(ds, d.ID) == n-1 {
				switch d.LatestState() {
				case "success", "failure", "error":
					dep = d
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return dep, fmt.Errorf("waiting for deployment %d: %w", n, err)
	}
	return dep, nil
}

func countBefore(ds []githubsim.Deployment, id int64) int {
	n := 0
	for _, d := range ds {
		if d.ID < id {
			n++
		}
	}
	return n
}

func (p demoPrinter) deployment(d githubsim.Deployment) {
	p.say("GitHub deployment %d (%s, task %s, %s) statuses:", d.ID, d.Environment, d.Task, d.SHA[:7])
	for _, st := range d.Statuses {
		extra := ""
		if st.EnvironmentURL != "" {
			extra += " environment_url=" + st.EnvironmentURL
		}
		fmt.Fprintf(p.out, "           → %-11s %s%s\n", st.State, st.Description, extra)
	}
}

func actionLabels(actions []githubsim.CheckRunAction) []string {
	var out []string
	for _, a := range actions {
		out = append(out, a.Label)
	}
	return out
}
