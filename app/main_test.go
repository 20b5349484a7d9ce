package app

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"testing"
)

// defaultParallel is how many tests marked t.Parallel run at once when
// `go test` is given no -parallel. The stories mostly wait on timers (River
// moves due jobs every few seconds, steps retry after a second) rather than
// on the CPU: a serial run of this package used ~55 s of CPU in ~380 s. The
// figures behind the number are in BENCHMARKS.md ("Test suite wall time").
const defaultParallel = 8

func TestMain(m *testing.M) {
	if os.Getenv(replicaEnv) == "1" {
		// What main.go does.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := Main(ctx, []string{"serve"}, os.LookupEnv, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "deploybot:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	flag.Parse()
	raiseParallel()
	os.Exit(m.Run())
}

// raiseParallel sets -test.parallel to defaultParallel (or GOMAXPROCS when
// larger) unless the user chose it. Fuzzing is left alone: there the flag
// counts fuzz workers, processes that do use the CPU.
func raiseParallel() {
	chosen := false
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "test.parallel", "test.fuzz", "test.fuzzworker":
			chosen = true
		}
	})
	if !chosen {
		_ = flag.Set("test.parallel", strconv.Itoa(max(defaultParallel, runtime.GOMAXPROCS(0))))
	}
}
