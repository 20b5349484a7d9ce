package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// prometheusEnv makes the real-Prometheus tests mandatory (CI sets it; .ci/run
// installs the distribution's prometheus package).
const prometheusEnv = "DEPLOYBOT_TEST_PROMETHEUS"

// startPrometheus runs a real Prometheus server on a free loopback port,
// scraping target (host:port) every second, and returns its URL once it is
// ready.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv(prometheusEnv) != "" {
			t.Fatalf("%s is set but there is no prometheus binary: apt-get install prometheus", prometheusEnv)
		}
		t.Skip("no prometheus binary (apt-get install prometheus, or set " + prometheusEnv + " to require it)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: shop
    static_configs: [{ targets: ["%s"] }]
`, target)), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A test harness waiting for a child process to listen: bounded.
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("prometheus did not become ready at %s", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
