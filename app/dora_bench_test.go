package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

// BenchmarkDoraScrape is the delivery metrics' share of a /metrics scrape
// (SQLite unless DEPLOYBOT_TEST_DATABASE_URL is set): 10,000 deployments
// over the last 30 days in 200 repositories × 3 environments, one in seven
// failed after its execute step, read in one query and computed.
func BenchmarkDoraScrape(b *testing.B) {
	const repos, deployments = 200, 10000
	envs := []string{"staging", "production", "qa"}
	st := storetest.Open(b)
	now := time.Now()
	var ds []store.Deployment
	for i := range deployments {
		state := store.StateSuccess
		if i%7 == 3 {
			state = store.StateFailure
		}
		at := now.Add(-time.Duration(deployments-i) * 4 * time.Minute)
		ds = append(ds, store.Deployment{Repo: fmt.Sprintf("acme/service-%03d", i%repos), Environment: envs[(i/repos)%len(envs)],
			State: state, InstallationID: 1, SHA: fmt.Sprintf("%040x", i/3), RequestedBy: "alice", GitHubDeploymentID: int64(i + 1),
			CreatedAt: at, FinishedAt: at.Add(time.Minute)})
	}
	storetest.AddDeployments(b, st, ds, store.Step{Name: "gates", State: store.StepDone}, store.Step{Name: "execute", State: store.StepDone})
	reg := prometheus.NewRegistry()
	reg.MustRegister(&doraCollector{store: st, now: time.Now, logger: zerolog.Nop()})
	b.ResetTimer()
	for b.Loop() {
		families, err := reg.Gather()
		if err != nil || len(families) != 5 {
			b.Fatalf("%d families, %v", len(families), err)
		}
	}
	b.StopTimer()
	families, _ := reg.Gather()
	for _, f := range families {
		if f.GetName() == "deploybot_dora_deployments_per_day" && len(f.GetMetric()) != repos*len(envs) {
			b.Fatalf("%d series, want %d", len(f.GetMetric()), repos*len(envs))
		}
	}
}
