package app

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/deploybot/deploybot/internal/githubsim"
	"github.com/deploybot/deploybot/internal/loopback"
	"github.com/deploybot/deploybot/store/storetest"
)

// replicaEnv makes the test binary a deploybot replica: `deploybot serve`
// in a process of its own, so a test can kill -9 it or send it SIGTERM.
const replicaEnv = "DEPLOYBOT_TEST_REPLICA"

// cluster is deploybot as operators run it for availability: replicas in
// processes of their own on one PostgreSQL database, behind a load balancer
// that GitHub's webhooks reach, with the emulator and a deploy target.
type cluster struct {
	t        *testing.T
	ctx      context.Context
	dbURL    string
	sim      *githubsim.Sim
	repo     *githubsim.Repo
	target   *Target
	lb       *loopback.Server
	replicas []*replica
	fanOut   bool // the balancer sends every delivery to every replica
	next     int
	mu       sync.Mutex
}

type replica struct {
	cmd    *exec.Cmd
	url    string
	logs   *bytes.Buffer
	exited chan struct{}
	mu     sync.Mutex
}

func (r *replica) log() string { r.mu.Lock(); defer r.mu.Unlock(); return r.logs.String() }

// newCluster starts n replicas with extra settings (KEY=value) and waits
// until each one serves.
func newCluster(t *testing.T, n int, fanOut bool, settings ...string) *cluster {
	t.Helper()
	return newClusterWith(t, `default_environment: staging
environments:
  staging:
    executor: { webhook: { url: TARGET/hooks/staging, timeout: 2m } }
`, n, fanOut, settings...)
}

// newClusterWith is newCluster with the repository's .github/deploy.yml
// (TARGET is the deploy target's URL).
func newClusterWith(t *testing.T, deployYML string, n int, fanOut bool, settings ...string) *cluster {
	t.Helper()
	dbURL := storetest.URL(t)
	if !strings.HasPrefix(dbURL, "postgres") {
		t.Skip("replicas share a PostgreSQL database: set " + storetest.EnvVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := &cluster{t: t, ctx: ctx, dbURL: dbURL, fanOut: fanOut}
	c.sim = githubsim.New(githubsim.Options{AppID: 1, AppSlug: "deploybot", TB: t})
	t.Cleanup(c.sim.Close)
	c.sim.AddInstallation(SandboxInstallationID, SandboxOwner)
	c.repo = c.sim.AddRepo(SandboxOwner, SandboxRepo, "main")
	c.repo.SetPermission("alice", "write")
	target, err := NewTarget(sandboxExecutorSecret, SandboxRepoFull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(target.Close)
	c.target = target
	c.repo.Commit("main", map[string]string{".github/deploy.yml": strings.ReplaceAll(deployYML, "TARGET", target.URL)}, "Add deploy config")
	lb, err := loopback.New(http.HandlerFunc(c.balance))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lb.Close)
	c.lb = lb
	for i := 0; i < n; i++ {
		c.replicas = append(c.replicas, c.startReplica(settings))
	}
	c.sim.SetWebhookTarget(lb.URL+"/api/github/hook", sandboxWebhookSecret)
	return c
}

func (c *cluster) startReplica(settings []string) *replica {
	t := c.t
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &replica{url: "http://" + addr, logs: &bytes.Buffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(os.Args[0])
	r.cmd.Env = append(os.Environ(), replicaEnv+"=1",
		"GITHUB_APP_ID="+strconv.FormatInt(c.sim.AppID(), 10),
		"GITHUB_APP_PRIVATE_KEY="+string(c.sim.PrivateKeyPEM()),
		"GITHUB_WEBHOOK_SECRET="+sandboxWebhookSecret,
		"GITHUB_API_URL="+c.sim.URL,
		"DATABASE_URL="+c.dbURL,
		"DEPLOYBOT_EXECUTOR_SECRET="+sandboxExecutorSecret,
		"DEPLOYBOT_EGRESS_ALLOW=127.0.0.0/8",
		"DEPLOYBOT_ADDR="+addr,
		"DEPLOYBOT_PUBLIC_URL="+c.lb.URL,
		"DEPLOYBOT_LOG_FORMAT=json",
	)
	r.cmd.Env = append(r.cmd.Env, settings...)
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout = io.Discard
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.logs.WriteString(line + "\n")
			r.mu.Unlock()
			if strings.Contains(line, "deploybot serving") {
				once.Do(func() { close(serving) })
			}
		}
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
		if t.Failed() {
			t.Logf("replica %d log:\n%s", r.cmd.Process.Pid, r.log())
		}
	})
	select {
	case <-serving:
	case <-r.exited:
		t.Fatalf("replica exited before serving:\n%s", r.log())
	case <-c.ctx.Done():
		t.Fatalf("replica did not start:\n%s", r.log())
	}
	return r
}

// balance forwards a webhook delivery to a live replica (the next one that
// accepts a connection), or to every replica when fanOut is set.
func (c *cluster) balance(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	start := c.next
	c.next++
	c.mu.Unlock()
	if c.fanOut {
		var wg sync.WaitGroup
		codes := make([]int, len(c.replicas))
		for i, rep := range c.replicas {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i] = forward(r, body, rep.url) }()
		}
		wg.Wait()
		w.WriteHeader(codes[0])
		return
	}
	for i := range c.replicas {
		rep := c.replicas[(start+i)%len(c.replicas)]
		if code := forward(r, body, rep.url); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	http.Error(w, "no replica", http.StatusBadGateway)
}

// forward sends the delivery to one replica and returns its status (0: it
// did not answer).
func forward(r *http.Request, body []byte, base string) int {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// leaseHolder returns the replica holding the lease of a running step.
func (c *cluster) leaseHolder() *replica {
	c.t.Helper()
	conn, err := pgx.Connect(c.ctx, c.dbURL)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(c.ctx)
	var owner string
	if err := conn.QueryRow(c.ctx, `SELECT owner FROM step_leases`).Scan(&owner); err != nil {
		c.t.Fatalf("read the step lease: %v", err)
	}
	// owner is host:pid:random/run
	parts := strings.Split(owner, ":")
	if len(parts) < 3 {
		c.t.Fatalf("lease owner %q names no process", owner)
	}
	pid, _ := strconv.Atoi(parts[1])
	for _, r := range c.replicas {
		if r.cmd.Process.Pid == pid {
			return r
		}
	}
	c.t.Fatalf("lease owner %q is none of the replicas", owner)
	return nil
}

// deployHeld comments /deploy on a new PR and returns once the deploy
// target holds the executor call, with the PR and its head.
func (c *cluster) deployHeld() (release func(), pr int, sha string) {
	c.t.Helper()
	release = c.target.Hold()
	c.t.Cleanup(release)
	called := c.target.Changed()
	c.repo.Commit("feature", map[string]string{"f.txt": "f"}, "feature")
	sha = c.repo.Head("feature")
	pr = c.repo.OpenPR("feature", "main", "alice", "Feature")
	c.sim.Comment(SandboxRepoFull, pr, "alice", "/deploy")
	select {
	case <-called:
	case <-c.ctx.Done():
		c.t.Fatal("the executor was never called")
	}
	return release, pr, sha
}

// deploymentSucceeds waits for the one deployment to report success and
// for its deploy/<env> check run to complete.
func (c *cluster) deploymentSucceeds(ctx context.Context) githubsim.Deployment {
	c.t.Helper()
	var deps []githubsim.Deployment
	err := c.sim.WaitFor(ctx, func() bool {
		deps = c.sim.Deployments(SandboxRepoFull)
		if len(deps) != 1 || deps[0].LatestState() != "success" {
			return false
		}
		for _, cr := range c.sim.CheckRuns(SandboxRepoFull, deps[0].SHA) {
			if cr.Name == "deploy/"+deps[0].Environment && cr.Status == "completed" {
				return true
			}
		}
		return false
	})
	if err == nil {
		err = c.sim.WaitForDeliveries(ctx)
	}
	if err != nil {
		c.t.Fatalf("deployment did not succeed: %v (%v)", err, summarize(deps))
	}
	return c.sim.Deployments(SandboxRepoFull)[0]
}
