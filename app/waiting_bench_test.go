package app

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// WaitingBenchEnv enables TestIdleWhileDeploymentsWaitForCI (a figure for
// BENCHMARKS.md, not a check `go test ./...` runs): its value is how many
// deployments wait, e.g. DEPLOYBOT_BENCH_WAITING=1000.
const WaitingBenchEnv = "DEPLOYBOT_BENCH_WAITING"

// idleFor is the idle period each figure is measured over.
const idleFor = 3 * time.Second

// processFigures is what the process holds at one moment.
type processFigures struct {
	goroutines int
	heapInuse  uint64 // after a GC
	rssKiB     int64  // VmRSS
}

func measureProcess(t *testing.T) processFigures {
	t.Helper()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return processFigures{goroutines: runtime.NumGoroutine(), heapInuse: m.HeapInuse, rssKiB: vmRSS(t)}
}

func vmRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// idle measures the process, lets idleFor pass and returns the figures and
// the GitHub requests deploybot made meanwhile.
func (s *story) idle() (processFigures, int) {
	s.t.Helper()
	s.settle()
	s.Sim.ResetRequests()
	before := measureProcess(s.t)
	select {
	case <-time.After(idleFor):
	case <-s.ctx.Done():
		s.t.Fatal(s.ctx.Err())
	}
	s.settle()
	after := measureProcess(s.t)
	return processFigures{goroutines: max(before.goroutines, after.goroutines),
		heapInuse: max(before.heapInuse, after.heapInuse), rssKiB: max(before.rssKiB, after.rssKiB)}, len(s.Sim.Requests())
}

// manyEnvironmentsConfig has n environments e0000…, each gated on CI.
func manyEnvironmentsConfig(n int) string {
	var b strings.Builder
	b.WriteString("environments:\n")
	for i := range n {
		fmt.Fprintf(&b, "  e%04d: { executor: { webhook: { url: TARGET/hooks/e%04d } }, gates: { checks: { wait: 20m } } }\n", i, i)
	}
	return b.String()
}

// N deployments wait for CI (store.StateWaiting, each with its durable
// timer), driven through the real pipeline by `/deploy` on a commit whose
// CI is pending, one environment each (so none queues behind another).
// Over an idle period deploybot makes no GitHub request; goroutines and
// memory are measured next to the same process with none waiting. The
// emulator and the deploy target live in the same process: their state is
// part of the heap and RSS figures.
// Serial: it measures the process (goroutines, memory).
func TestIdleWhileDeploymentsWaitForCI(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(WaitingBenchEnv))
	if n <= 0 {
		t.Skipf("set %s=1000 to measure (figure for BENCHMARKS.md)", WaitingBenchEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	// Pacing is not what is measured here: the writes of bringing n
	// deployments to wait go unpaced.
	sb, err := NewSandbox(ctx, SandboxOptions{TB: t, DatabaseURL: storetest.URL(t), Logger: &logger, Config: manyEnvironmentsConfig(n), NoPacer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	s := &story{t: t, Sandbox: sb, ctx: ctx}
	s.Repo.SetPermission("walt", "write")
	// One pull request per deployment, each on its own commit with CI
	// pending (deployments of one commit would all read its check runs).
	prs := make([]int, n)
	for i := range n {
		var sha string
		prs[i], sha = s.openPR(fmt.Sprintf("feature/f%04d", i), "walt")
		s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")
	}

	base, baseRequests := s.idle()

	start := time.Now()
	driven := min(n, maxDriven)
	for i := range driven {
		s.comment(prs[i], "walt", fmt.Sprintf("/deploy e%04d", i))
	}
	// Every deployment waits once each has its durable timer.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for timers := 0; timers < driven; {
		select {
		case <-tick.C:
		case <-s.ctx.Done():
			t.Fatalf("waiting for %d deployments to wait for CI: %d timers", n, timers)
		}
		if timers, err = s.App.Store.ScheduledJobs(s.ctx, deploy.WakeArgs{}.Kind()); err != nil {
			t.Fatal(err)
		}
	}
	s.settle()
	setup := time.Since(start)
	s.seedWaiting(driven, n)
	if timers, err := s.App.Store.ScheduledJobs(s.ctx, deploy.WakeArgs{}.Kind()); err != nil || timers != n {
		t.Fatalf("durable timers = %d (%v), want %d", timers, err, n)
	}
	for _, d := range s.Sim.Deployments(SandboxRepoFull) {
		if last := d.Statuses[len(d.Statuses)-1]; !strings.Contains(last.Description, "Waiting for ci/test") {
			t.Fatalf("deployment %d: %s %q, want waiting for ci/test", d.ID, last.State, last.Description)
		}
	}

	loaded, requests := s.idle()
	if path := os.Getenv(WaitingBenchEnv + "_HEAP"); path != "" { // a heap profile of the loaded process
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if requests != 0 || baseRequests != 0 {
		t.Errorf("GitHub requests while idle: %d with %d waiting, %d with none", requests, n, baseRequests)
	}
	t.Logf("%d deployments brought to wait for CI by /deploy in %s, %d more seeded like them (%s)",
		driven, setup.Round(time.Millisecond), n-driven, s.App.Store.Dialect())
	t.Logf("idle %s | 0 waiting | %d waiting", idleFor, n)
	t.Logf("GitHub requests | %d | %d", baseRequests, requests)
	t.Logf("goroutines | %d | %d", base.goroutines, loaded.goroutines)
	t.Logf("heap in use (after GC) | %.1f MiB | %.1f MiB", mib(base.heapInuse), mib(loaded.heapInuse))
	t.Logf("VmRSS | %.1f MiB | %.1f MiB", float64(base.rssKiB)/1024, float64(loaded.rssKiB)/1024)
}

// maxDriven is how many deployments the benchmark drives through the
// pipeline: about 13 requests each, within the 5,000 requests an hour the
// emulator (like GitHub) allows one installation.
const maxDriven = 250

// seedWaiting adds deployments driven…n-1 to the store as the pipeline
// leaves a deployment waiting for CI: a copy of deployment 1's rows (state
// waiting at its gates step) for environment e<i>, with its durable timer.
func (s *story) seedWaiting(driven, n int) {
	s.t.Helper()
	tmpl, err := s.App.Store.Deployment(s.ctx, 1)
	if err != nil {
		s.t.Fatal(err)
	}
	steps, err := s.App.Store.Steps(s.ctx, tmpl.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	if tmpl.State != store.StateWaiting {
		s.t.Fatalf("template deployment is %s", tmpl.State)
	}
	err = s.App.Store.InTx(s.ctx, func(tx *store.Tx) error {
		for i := driven; i < n; i++ {
			d := *tmpl
			d.ID, d.RequestKey, d.Environment = 0, fmt.Sprintf("seeded-%d", i), fmt.Sprintf("e%04d", i)
			created, _, err := tx.CreateDeployment(s.ctx, &d, steps)
			if err != nil {
				return err
			}
			if err := tx.Enqueue(s.ctx, deploy.WakeArgs{DeploymentID: created.ID},
				&river.InsertOpts{ScheduledAt: time.Now().Add(20 * time.Minute)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
