package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/internal/pacer"
	"github.com/deploybot/deploybot/store/storetest"
)

// pacerScale runs GitHub's minute in 2.5 s: the hour is 150 s, 15 minutes
// are 37.5 s.
const pacerScale = 24

// threeEnvConfig gives a repository three environments deployed by its own
// target, without gates or health checks: a plain deploy each.
const threeEnvConfig = `default_environment: dev
environments:
  dev: { executor: { webhook: { url: TARGET/hooks/dev } } }
  qa: { executor: { webhook: { url: TARGET/hooks/qa } } }
  staging: { executor: { webhook: { url: TARGET/hooks/staging } } }
`

// Sixty people type /deploy within the same minute, in twenty repositories
// of one installation, three environments each, so no deployment queues
// behind another. GitHub allows the installation 80 writes a minute and 500
// an hour, and refuses more with a 403. deploybot never gets that 403: its
// pacer drops the writes nobody needs (👀, queued and in_progress statuses,
// intermediate record edits) and makes the others wait their turn, final
// ones first. Within 15 minutes every deployment has its final status, its
// check run's conclusion and its final record.
// Serial: sixty deploys load the CPU and the pacer's windows are timed.
func TestSixtyDeploysInAMinuteStayUnderSecondaryLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("a scaled quarter of an hour")
	}
	sb, pulls, limits, ctx := sixtyDeploys(t, false)
	minute := limits.Minute
	start := time.Now()
	for _, env := range []string{"dev", "qa", "staging"} {
		for _, p := range pulls {
			sb.Sim.Comment(p.repo, p.number, "walt", "/deploy "+env)
		}
	}
	// Every deployment ends within 15 (scaled) minutes of the commands.
	deadline, stop := context.WithTimeout(ctx, 15*minute)
	defer stop()
	var final int
	err := sb.Sim.WaitFor(deadline, func() bool {
		final = finishedDeploys(sb, pulls)
		return final == 60
	})
	elapsed := time.Since(start)
	if err != nil {
		pc := sb.App.Pacer
		for _, pri := range pacer.Priorities {
			t.Logf("%s: sent %d, waited %d, deferred %d, dropped %d", pri,
				pc.Count(pri, pacer.Sent), pc.Count(pri, pacer.Waited), pc.Count(pri, pacer.Deferred), pc.Count(pri, pacer.Dropped))
		}
		t.Logf("emulator: %+v", sb.Sim.SecondaryLimitStats())
		t.Fatalf("after 15 minutes, %d of 60 deployments have their final status and record: %v", final, err)
	}
	if err := sb.Settle(ctx); err != nil {
		t.Fatal(err)
	}

	st := sb.Sim.SecondaryLimitStats()
	if st.Refused != 0 {
		t.Errorf("GitHub refused %d writes for the secondary limit; want none", st.Refused)
	}
	for _, p := range pulls {
		deps := sb.Sim.Deployments(p.repo)
		if len(deps) != 3 {
			t.Errorf("%s has %d deployments, want dev, qa and staging", p.repo, len(deps))
		}
		for _, d := range deps {
			if d.SHA != p.sha || d.LatestState() != "success" {
				t.Errorf("%s %s: %s at %s, want success at %s", p.repo, d.Environment, d.LatestState(), d.SHA, p.sha)
			}
			for _, cr := range sb.Sim.CheckRuns(p.repo, p.sha) {
				if cr.Name == "deploy/"+d.Environment && (cr.Status != "completed" || cr.Conclusion != "success") {
					t.Errorf("%s check run %s = %s/%s", p.repo, cr.Name, cr.Status, cr.Conclusion)
				}
			}
			body := finalRecord(sb.Sim, p.repo, p.number, d)
			for _, word := range []string{"in progress", "⏳", "| running |", "| pending |", "queued"} {
				if strings.Contains(body, word) {
					t.Errorf("%s %s: the final record still says %q:\n%s", p.repo, d.Environment, word, body)
				}
			}
		}
		concluded := 0
		for _, cr := range sb.Sim.CheckRuns(p.repo, p.sha) {
			switch cr.Name {
			case "deploy/dev", "deploy/qa", "deploy/staging":
				if cr.Conclusion == "success" {
					concluded++
				}
			}
		}
		if concluded != 3 {
			t.Errorf("%s: %d deploy check runs concluded, want 3", p.repo, concluded)
		}
	}

	writes := st.Writes[SandboxInstallationID]
	reads := 0
	for _, r := range sb.Sim.Requests() {
		if r.Method == "GET" && r.Time.After(start) {
			reads++
		}
	}
	p := sb.App.Pacer
	var dropped, deferred, waited int64
	var lines []string
	for _, pri := range pacer.Priorities {
		dropped += p.Count(pri, pacer.Dropped)
		deferred += p.Count(pri, pacer.Deferred)
		waited += p.Count(pri, pacer.Waited)
		lines = append(lines, fmt.Sprintf("%s: sent %d, waited %d, deferred %d, dropped %d", pri,
			p.Count(pri, pacer.Sent), p.Count(pri, pacer.Waited), p.Count(pri, pacer.Deferred), p.Count(pri, pacer.Dropped)))
	}
	perDeploy := float64(writes) / 60
	t.Logf("60 deploys in one installation: %d writes sent (%.2f per deploy → %.0f deploys/hour at 500 writes/hour), "+
		"%d dropped, %d deferred (job snoozed), %d waited inline, 403s: %d; last final status and record after %.1f scaled minutes; %d reads",
		writes, perDeploy, 500/perDeploy, dropped, deferred, waited, st.Refused, elapsed.Seconds()/minute.Seconds(), reads)
	t.Logf("by priority: %s", strings.Join(lines, "; "))
	if dropped == 0 || deferred == 0 {
		t.Errorf("%d writes dropped, %d deferred: the test put no pressure on the budget", dropped, deferred)
	}
	// The operator sees the same in /metrics.
	resp, err := http.Get(sb.Server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		fmt.Sprintf(`deploybot_github_writes_total{outcome="dropped",priority="droppable"} %d`, p.Count(pacer.Droppable, pacer.Dropped)),
		fmt.Sprintf(`deploybot_github_writes_total{outcome="deferred",priority="normal"} %d`, p.Count(pacer.Normal, pacer.Deferred)),
		fmt.Sprintf(`deploybot_github_writes_total{outcome="sent",priority="final"} %d`, p.Count(pacer.Final, pacer.Sent)),
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}

type sixtyPull struct {
	repo   string
	number int
	sha    string
}

// sixtyDeploys starts a sandbox whose minute lasts 2.5 s, with twenty
// repositories of three environments and a pull request in each, and an
// emulator enforcing GitHub's secondary limits on the same scale.
func sixtyDeploys(t *testing.T, noPacer bool) (*Sandbox, []sixtyPull, pacer.Limits, context.Context) {
	t.Helper()
	limits := pacer.DefaultLimits().Scaled(pacerScale)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	sb, err := NewSandbox(ctx, SandboxOptions{TB: t, DatabaseURL: storetest.URL(t), Logger: &logger,
		PacerLimits: &limits, NoPacer: noPacer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	var pulls []sixtyPull
	for i := range 20 {
		name := fmt.Sprintf("svc%02d", i)
		repo, _, err := sb.AddRepo(name, threeEnvConfig)
		if err != nil {
			t.Fatal(err)
		}
		repo.SetPermission("walt", "write")
		repo.Commit("feature", map[string]string{"app.txt": name}, "change "+name)
		pulls = append(pulls, sixtyPull{SandboxOwner + "/" + name, repo.OpenPR("feature", "main", "walt", "Change "+name), repo.Head("feature")})
	}
	if err := sb.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	sb.Sim.SetSecondaryLimits(githubsim.SecondaryLimits{PerMinute: 80, PerHour: 500, Minute: limits.Minute, Hour: limits.Hour})
	return sb, pulls, limits, ctx
}

// finishedDeploys counts the deployments with their success status and
// final record.
func finishedDeploys(sb *Sandbox, pulls []sixtyPull) int {
	n := 0
	for _, p := range pulls {
		for _, d := range sb.Sim.Deployments(p.repo) {
			if d.LatestState() == "success" && finalRecord(sb.Sim, p.repo, p.number, d) != "" {
				n++
			}
		}
	}
	return n
}

// The baseline for BENCHMARKS.md (DEPLOYBOT_PACER_BASELINE=1): the same
// sixty deploys without the pacer, for the same 15 scaled minutes.
// Serial, like the paced run it is measured against.
func TestSixtyDeploysWithoutPacerBaseline(t *testing.T) {
	if os.Getenv("DEPLOYBOT_PACER_BASELINE") == "" {
		t.Skip("a measurement for BENCHMARKS.md; set DEPLOYBOT_PACER_BASELINE=1")
	}
	sb, pulls, limits, ctx := sixtyDeploys(t, true)
	for _, env := range []string{"dev", "qa", "staging"} {
		for _, p := range pulls {
			sb.Sim.Comment(p.repo, p.number, "walt", "/deploy "+env)
		}
	}
	deadline, stop := context.WithTimeout(ctx, 15*limits.Minute)
	defer stop()
	_ = sb.Sim.WaitFor(deadline, func() bool { return finishedDeploys(sb, pulls) == 60 })
	st := sb.Sim.SecondaryLimitStats()
	t.Logf("without the pacer, after 15 scaled minutes: %d of 60 deployments final, %d writes admitted, %d refused with 403",
		finishedDeploys(sb, pulls), st.Writes[SandboxInstallationID], st.Refused)
}

// finalRecord is the record comment of GitHub deployment d when it is
// final: it shows the end state and the SHA ("" otherwise).
func finalRecord(sim *githubsim.Sim, repo string, pr int, d githubsim.Deployment) string {
	for _, c := range sim.Comments(repo, pr) {
		if c.User != sim.BotLogin() || !strings.Contains(c.Body, fmt.Sprintf("GitHub deployment %d ", d.ID)) {
			continue
		}
		if strings.Contains(c.Body, fmt.Sprintf("✅ `%s` is live in **%s**", d.SHA[:7], d.Environment)) &&
			strings.Contains(c.Body, "`"+d.SHA+"`") {
			return c.Body
		}
	}
	return ""
}
