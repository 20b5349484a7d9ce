package githubsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/deploybot/deploybot/internal/loopback"
)

// TB is the part of testing.TB the emulator uses (*testing.T satisfies
// it); the demo runs the emulator without the testing package.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
}

// Options configures a Sim. Every field is optional.
type Options struct {
	AppID   int64  // default 1
	AppSlug string // default "deploybot"
	AppName string // default AppSlug
	// TB, when set, makes the Sim close itself and fail the test if any
	// violation was recorded, at t.Cleanup.
	TB TB
	// Now is the clock used for timestamps of resources (created_at...).
	// Authentication (JWT, token expiry) always uses the wall clock, because
	// clients sign JWTs with the wall clock.
	Now func() time.Time
	// WebURL is the base of html_url links; default "https://github.com/".
	WebURL string
	// WebhookURL and WebhookSecret can also be set later by SetWebhookTarget.
	WebhookURL    string
	WebhookSecret string
	// Events the app is subscribed to; nil means every event.
	Events []string
	// PrivateKey for the app; a 2048-bit key is generated when nil.
	PrivateKey *rsa.PrivateKey
}

// Sim is a stateful, in-process GitHub emulator serving the REST API on URL.
type Sim struct {
	// URL is the API root with a trailing slash, e.g. "http://127.0.0.1:1234/".
	URL string

	opts   Options
	srv    *loopback.Server
	key    *rsa.PrivateKey
	keyPEM []byte
	spec   *spec
	hookID int64

	rounds rounds // round trips and emulated latency (rounds.go)

	mu            sync.Mutex
	changed       chan struct{}
	ids           map[string]int64
	installations map[int64]*Installation
	tokens        map[string]*token
	users         map[string]*user
	repos         map[string]*Repo
	commits       map[string]*commit
	deployments   []*Deployment
	checkRuns     []*CheckRun
	suites        map[string]int64
	comments      []*Comment
	reactions     []*Reaction
	statuses      []*CommitStatus
	requests      []Request
	violations    []error
	faults        []*Fault
	rate          map[string]*rateState
	secondary     *secondary          // SetSecondaryLimits; nil: not enforced
	runs          []*WorkflowRun      // GitHub Actions workflow runs, oldest first
	gates         []*protectionGate   // custom deployment protection rule requests
	answers       []*ProtectionAnswer // answers to gates, oldest first

	webHost *webState // GitHub's web pages (webhost.go)

	hookURL    string
	hookSecret string
	queue      []*Delivery
	deliveries []*Delivery
	wake       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
	wg         sync.WaitGroup
	hookClient *http.Client
}

// Installation is an installation of the app on an account.
type Installation struct {
	ID      int64
	Account string
}

type user struct {
	ID    int64
	Login string
	Type  string // User, Organization, Bot
}

type commit struct {
	SHA     string
	Parents []string
	Tree    map[string]string
	Message string
	Author  string
	Time    time.Time
	Seq     int64 // creation order: a commit's parents have smaller Seq
}

// New starts a Sim on a local httptest server.
func New(opts Options) *Sim {
	if opts.AppID == 0 {
		opts.AppID = 1
	}
	if opts.AppSlug == "" {
		opts.AppSlug = "deploybot"
	}
	if opts.AppName == "" {
		opts.AppName = opts.AppSlug
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	if opts.WebURL == "" {
		opts.WebURL = "https://github.com/"
	}
	if !strings.HasSuffix(opts.WebURL, "/") {
		opts.WebURL += "/"
	}
	key := opts.PrivateKey
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	}
	s := &Sim{
		opts:          opts,
		key:           key,
		keyPEM:        pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		spec:          getSpec(),
		changed:       make(chan struct{}),
		ids:           map[string]int64{},
		installations: map[int64]*Installation{},
		tokens:        map[string]*token{},
		users:         map[string]*user{},
		repos:         map[string]*Repo{},
		commits:       map[string]*commit{},
		suites:        map[string]int64{},
		rate:          map[string]*rateState{},
		hookURL:       opts.WebhookURL,
		hookSecret:    opts.WebhookSecret,
		wake:          make(chan struct{}, 1),
		done:          make(chan struct{}),
		hookClient:    &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	s.hookID = s.nextID("hook")
	s.userLocked(s.botLogin()).Type = "Bot"
	srv, err := loopback.New(s)
	if err != nil {
		panic(fmt.Sprintf("githubsim: %v", err)) // no free loopback port: nothing can run
	}
	s.srv = srv
	s.URL = s.srv.URL + "/"
	s.wg.Add(1)
	go s.deliverLoop()
	if tb := opts.TB; tb != nil {
		tb.Helper()
		tb.Cleanup(func() {
			s.Close()
			s.AssertNoViolations(tb)
		})
	}
	return s
}

// Close stops the webhook sender and the HTTP server. Pending deliveries are
// dropped. Close is idempotent.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		s.hookClient.CloseIdleConnections()
		s.srv.Close()
		s.closeWeb()
	})
}

// PrivateKeyPEM returns the app's private key (PKCS#1 PEM), as GitHub lets
// an app owner download it.
func (s *Sim) PrivateKeyPEM() []byte { return append([]byte(nil), s.keyPEM...) }

// AppID returns the app id.
func (s *Sim) AppID() int64 { return s.opts.AppID }

// BotLogin returns the app's bot user login, "<slug>[bot]".
func (s *Sim) BotLogin() string { return s.botLogin() }

func (s *Sim) botLogin() string { return s.opts.AppSlug + "[bot]" }

func (s *Sim) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

var idBases = map[string]int64{
	"hook": 480000000, "user": 1010000, "repo": 700100000, "issue": 2100000000,
	"pull": 1800000000, "comment": 2300000000, "reaction": 240000000,
	"deployment": 1500000000, "deployment_status": 3200000000, "check_run": 21000000000,
	"check_suite": 19000000000, "review": 1900000000, "status": 31000000000, "delivery_hook": 1,
	"release": 150000000, "release_asset": 170000000,
	"workflow": 61000000, "workflow_run": 11900000000,
}

// nextID returns GitHub-looking, incrementing ids per kind. Needs s.mu or
// construction.
func (s *Sim) nextID(kind string) int64 {
	if s.ids[kind] == 0 {
		s.ids[kind] = idBases[kind] + 1
	}
	s.ids[kind] += 7
	return s.ids[kind]
}

func (s *Sim) userLocked(login string) *user {
	k := strings.ToLower(login)
	if u, ok := s.users[k]; ok {
		return u
	}
	u := &user{ID: s.nextID("user"), Login: login, Type: "User"}
	if strings.HasSuffix(login, "[bot]") {
		u.Type = "Bot"
	}
	s.users[k] = u
	return u
}

// notifyLocked wakes WaitFor callers. Needs s.mu.
func (s *Sim) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor blocks until cond returns true or ctx is done. cond is evaluated
// now and after every change of state (requests served, deliveries made,
// helpers called); it must not block and may call the Sim's inspection
// methods.
func (s *Sim) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("githubsim: condition not met: %w", ctx.Err())
		case <-ch:
		}
	}
}

// AddInstallation installs the app on account (a user or organization).
// Repositories of that owner added with AddRepo belong to it.
func (s *Sim) AddInstallation(id int64, account string) *Installation {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := &Installation{ID: id, Account: account}
	s.installations[id] = inst
	s.notifyLocked()
	return inst
}

func (s *Sim) installationFor(owner string) *Installation {
	for _, in := range s.installations {
		if strings.EqualFold(in.Account, owner) {
			return in
		}
	}
	return nil
}

// Violation records a problem found by the Sim; it is an error.
type Violation struct {
	Method, Path string
	Operation    string
	Problem      string
}

func (v *Violation) Error() string {
	op := v.Operation
	if op == "" {
		op = "?"
	}
	return fmt.Sprintf("githubsim: %s %s (%s): %s", v.Method, v.Path, op, v.Problem)
}

func (s *Sim) violateLocked(method, path, op, problem string) {
	s.violations = append(s.violations, &Violation{Method: method, Path: path, Operation: op, Problem: problem})
}

// Violations returns every violation of GitHub's API description seen so far:
// requests GitHub would reject or that do not exist, and responses of the
// emulator that drift from the description.
func (s *Sim) Violations() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.violations...)
}

// AssertNoViolations fails tb for each recorded violation.
func (s *Sim) AssertNoViolations(tb TB) {
	tb.Helper()
	for _, v := range s.Violations() {
		tb.Errorf("%v", v)
	}
}

// ResetViolations forgets the recorded violations (for tests that provoke
// them on purpose).
func (s *Sim) ResetViolations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = nil
}

func gitSHA(parts ...string) string {
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
