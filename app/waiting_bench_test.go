package app

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/deploy"
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
	pr, sha := s.openPR("feature/many", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "in_progress", "")

	base, baseRequests := s.idle()

	start := time.Now()
	for i := range n {
		s.comment(pr, "walt", fmt.Sprintf("/deploy e%04d", i))
	}
	err = s.Sim.WaitFor(s.ctx, func() bool {
		ds := s.Sim.Deployments(SandboxRepoFull)
		if len(ds) < n {
			return false
		}
		for _, d := range ds {
			if len(d.Statuses) == 0 || !strings.Contains(d.Statuses[len(d.Statuses)-1].Description, "Waiting for ci/test") {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("waiting for %d deployments to wait for CI: %v", n, err)
	}
	s.settle()
	setup := time.Since(start)
	timers, err := s.App.Store.ScheduledJobs(s.ctx, deploy.WakeArgs{}.Kind())
	if err != nil || timers != n {
		t.Fatalf("durable timers = %d (%v), want %d", timers, err, n)
	}

	loaded, requests := s.idle()
	if requests != 0 || baseRequests != 0 {
		t.Errorf("GitHub requests while idle: %d with %d waiting, %d with none", requests, n, baseRequests)
	}
	t.Logf("%d deployments brought to wait for CI in %s (%s)", n, setup.Round(time.Millisecond), s.App.Store.Dialect())
	t.Logf("idle %s | 0 waiting | %d waiting", idleFor, n)
	t.Logf("GitHub requests | %d | %d", baseRequests, requests)
	t.Logf("goroutines | %d | %d", base.goroutines, loaded.goroutines)
	t.Logf("heap in use (after GC) | %.1f MiB | %.1f MiB", mib(base.heapInuse), mib(loaded.heapInuse))
	t.Logf("VmRSS | %.1f MiB | %.1f MiB", float64(base.rssKiB)/1024, float64(loaded.rssKiB)/1024)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
