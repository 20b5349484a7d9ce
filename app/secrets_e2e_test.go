package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/deploybot/deploybot/deploy"
	"github.com/deploybot/deploybot/store/storetest"
)

// Planted secrets: values only the repository's services, its GitHub
// environment or the operator hold. None may surface anywhere GitHub users
// or log readers look.
const (
	plantedExecutorToken = "PLANTED-executor-query-token-51c2"
	plantedHealthKey     = "PLANTED-health-query-key-90ab"
	plantedFlagValue     = "PLANTED-flag-service-content-7d1e"
	plantedVariable      = "PLANTED-environment-variable-3f66"
)

const secretsStoryConfig = `default_environment: staging
environments:
  staging:
    executor: { webhook: { url: 'TARGET/hooks/staging?token=` + plantedExecutorToken + `' } }
    verify:
      timeout: 3s
      health: [{ url: 'TARGET/healthz/staging?key=` + plantedHealthKey + `', status: 200, interval: 1s }]
  production:
    production: true
    permission: maintain
    executor: { webhook: { url: 'TARGET/hooks/production?token=` + plantedExecutorToken + `' } }
    gates:
      variables: [DATABASE_URL]
      flags: { url: 'FLAGS/state.json?key=` + plantedHealthKey + `', expect: { checkout.enabled: true } }
`

// syncBuffer collects every log line deploybot writes, at every level.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A whole deploy story — success, a failed deploy, the Rollback button, and
// a production deploy blocked by a flag service — then every log line,
// comment, check run and deployment status is searched for the App's key,
// the installation tokens, the webhook and executor secrets and the
// planted environment secrets: zero hits.
func TestNoSecretReachesLogsCommentsChecksOrStatuses(t *testing.T) {
	t.Parallel()
	flags := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"checkout":{"enabled":"` + plantedFlagValue + `"}}`))
	}))
	defer flags.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	logs := &syncBuffer{}
	logger := zerolog.New(logs).Level(zerolog.TraceLevel)
	sb, err := NewSandbox(ctx, SandboxOptions{TB: t, DatabaseURL: storetest.URL(t), Logger: &logger,
		Config: strings.ReplaceAll(secretsStoryConfig, "FLAGS", flags.URL)})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	s := &story{t: t, Sandbox: sb, ctx: ctx}
	s.Repo.AddEnvironment("production")
	s.Repo.SetEnvVariable("production", "DATABASE_URL", "postgres://app:"+plantedVariable+"@db/shop")
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("mia", "maintain")

	pr1, good := s.openPR("feature/cart", "walt")
	s.comment(pr1, "walt", "/deploy staging")
	s.deploymentsFinished(1)
	pr2, bad := s.openPR("feature/broken", "walt")
	s.Target.MarkUnhealthy(bad)
	s.comment(pr2, "walt", "/deploy staging")
	s.deploymentsFinished(2)
	s.Sim.PressRequestedAction(SandboxRepoFull, s.checkRun(bad, "deploy/staging").ID, "walt", "rollback")
	s.deploymentsFinished(3)
	s.comment(pr1, "mia", "/deploy production")
	deps := s.deploymentsFinished(4)
	if got := deps[3].LatestState(); got != "failure" {
		t.Fatalf("the flag gate should block production, deployment ended %s", got)
	}

	secrets := map[string]string{
		"webhook secret":          sandboxWebhookSecret,
		"executor secret":         sandboxExecutorSecret,
		"repository executor key": hex.EncodeToString(deploy.ExecutorKey([]byte(sandboxExecutorSecret), SandboxRepoFull)),
		"executor URL token":      plantedExecutorToken,
		"health/flags URL key":    plantedHealthKey,
		"flag service content":    plantedFlagValue,
		"environment variable":    plantedVariable,
		"App private key (body)":  pemBody(t, s.Sim.PrivateKeyPEM()),
	}
	tokens := s.Sim.IssuedTokens()
	if len(tokens) == 0 {
		t.Fatal("the emulator issued no installation token; the story did not run")
	}
	for i, tok := range tokens {
		secrets["installation token "+string(rune('A'+i))] = tok
	}

	surfaces := map[string]string{"logs": logs.String()}
	for _, pr := range []int{pr1, pr2} {
		for _, c := range s.Sim.Comments(SandboxRepoFull, pr) {
			surfaces["comments"] += c.Body + "\n"
		}
	}
	for _, sha := range []string{good, bad} {
		for _, cr := range s.Sim.CheckRuns(SandboxRepoFull, sha) {
			surfaces["check runs"] += strings.Join([]string{cr.Name, cr.Output.Title, cr.Output.Summary, cr.Output.Text, cr.DetailsURL, cr.ExternalID}, "\n")
		}
	}
	for _, d := range s.Sim.Deployments(SandboxRepoFull) {
		surfaces["deployments"] += string(d.Payload) + d.Description + "\n"
		for _, st := range d.Statuses {
			surfaces["statuses"] += strings.Join([]string{st.Description, st.EnvironmentURL, st.LogURL}, "\n")
		}
	}
	if !strings.Contains(surfaces["check runs"], "flags") || !strings.Contains(surfaces["comments"], "Rollback") {
		t.Fatalf("the story's surfaces are missing what it did:\n%s", surfaces["comments"])
	}
	for what, secret := range secrets {
		for where, text := range surfaces {
			if strings.Contains(text, secret) {
				t.Errorf("%s found in %s", what, where)
			}
		}
	}
}

// pemBody is the first base64 line of a PEM block: enough to recognise
// the key anywhere without matching its fixed header.
func pemBody(t *testing.T, pem []byte) string {
	t.Helper()
	lines := strings.Split(string(pem), "\n")
	if len(lines) < 3 || len(lines[1]) < 40 {
		t.Fatalf("unexpected PEM shape")
	}
	return lines[1]
}
