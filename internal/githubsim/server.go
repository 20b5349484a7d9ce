package githubsim

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request is one API request served by the Sim.
type Request struct {
	Method        string
	Path          string // unescaped URL path, e.g. /repos/acme/shop/deployments
	Query         url.Values
	Operation     string // operationId from GitHub's description, "" if unknown
	Status        int
	Authenticated bool // a valid JWT or installation token was presented
	Installation  int64
	Time          time.Time
	// Round is the round trip the request belonged to (rounds.go): requests
	// served at the same time share one.
	Round int
}

// Fault makes matching requests fail; see Sim.Inject.
type Fault struct {
	Method     string // "" matches any method
	PathPrefix string // matched against the unescaped URL path
	N          int    // number of requests to fail
	Status     int
	Header     http.Header
	Body       string // default: a GitHub-like message for Status
	// AfterApply lets the request take effect (state changes, webhooks)
	// and then replaces its answer: GitHub did the work, the answer was
	// lost (a 502 from a proxy, a dropped connection). A request the
	// emulator refuses (422, 404, a rate limit) gets its own answer and
	// does not consume the fault.
	AfterApply bool
}

// FailNext makes the next n requests whose method and path prefix match
// answer status with the given extra headers. For 403/429 the body is
// GitHub's primary rate-limit message when headers set
// X-RateLimit-Remaining: 0, else its secondary rate-limit message.
func (s *Sim) FailNext(method, pathPrefix string, n, status int, headers http.Header) {
	s.Inject(Fault{Method: method, PathPrefix: pathPrefix, N: n, Status: status, Header: headers})
}

// FailAfterApply makes the next n requests whose method and path prefix
// match take effect and then answer status: the effect happened, its
// answer was lost.
func (s *Sim) FailAfterApply(method, pathPrefix string, n, status int) {
	s.Inject(Fault{Method: method, PathPrefix: pathPrefix, N: n, Status: status, AfterApply: true})
}

// Inject adds a fault. Faults are consumed in the order they were added.
func (s *Sim) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Requests returns the request log.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests clears the request log.
func (s *Sim) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

type call struct {
	s      *Sim
	r      *http.Request
	op     *operation
	params map[string]string
	q      url.Values
	body   map[string]any
	raw    any
	tok    *token
	repo   *Repo
	user   string      // the user of a user-to-server token (oauth.go)
	extra  http.Header // extra response headers set by handlers
}

type handlerFunc func(*call) (int, any)

var handlers map[string]handlerFunc

func init() {
	handlers = map[string]handlerFunc{
		"apps/create-installation-access-token":   handleAccessToken,
		"apps/get-authenticated":                  handleGetApp,
		"repos/get":                               handleGetRepo,
		"repos/get-content":                       handleGetContent,
		"pulls/get":                               handleGetPull,
		"repos/get-collaborator-permission-level": handleGetPermission,
		"reactions/create-for-issue-comment":      handleCreateReaction,
		"reactions/list-for-issue-comment":        handleListReactions,
		"issues/get":                              handleGetIssue,
		"issues/create-comment":                   handleCreateComment,
		"issues/list-comments":                    handleListComments,
		"issues/get-comment":                      handleGetComment,
		"issues/update-comment":                   handleUpdateComment,
		"checks/create":                           handleCreateCheckRun,
		"checks/update":                           handleUpdateCheckRun,
		"checks/get":                              handleGetCheckRun,
		"checks/list-for-ref":                     handleListCheckRuns,
		"repos/create-commit-status":              handleCreateStatus,
		"repos/get-combined-status-for-ref":       handleCombinedStatus,
		"repos/create-deployment":                 handleCreateDeployment,
		"repos/list-deployments":                  handleListDeployments,
		"repos/get-deployment":                    handleGetDeployment,
		"repos/create-deployment-status":          handleCreateDeploymentStatus,
		"repos/list-deployment-statuses":          handleListDeploymentStatuses,
		"git/create-ref":                          handleCreateRef,
		"git/get-ref":                             handleGetRef,
		"git/list-matching-refs":                  handleMatchingRefs,
		"repos/get-commit":                        handleGetCommit,
		"repos/get-branch":                        handleGetBranch,
		"apps/get-repo-installation":              handleRepoInstallation,
		"pulls/list-reviews":                      handleListReviews,
		"repos/compare-commits-with-basehead":     handleCompare,
		"code-scanning/list-alerts-for-repo":      handleListCodeScanningAlerts,
		"secret-scanning/list-alerts-for-repo":    handleListSecretScanningAlerts,
		"dependabot/list-alerts-for-repo":         handleListDependabotAlerts,
		"actions/list-environment-variables":      handleListEnvVariables,
		"actions/list-environment-secrets":        handleListEnvSecrets,
		"repos/list-releases":                     handleListReleases,
		"repos/get-latest-release":                handleLatestRelease,
		"repos/get-release-by-tag":                handleReleaseByTag,
		"repos/get-release":                       handleGetRelease,
		"repos/update-release":                    handleUpdateRelease,
		"repos/list-release-assets":               handleListReleaseAssets,
		"actions/list-repo-workflows":             handleListWorkflows,
		"actions/get-workflow":                    handleGetWorkflow,
		"actions/create-workflow-dispatch":        handleDispatch,
		"actions/list-workflow-runs":              handleListWorkflowRuns,
		"actions/list-workflow-runs-for-repo":     handleListRepoRuns,
		"actions/get-workflow-run":                handleGetRun,
		"actions/review-custom-gates-for-run":     handleReviewGates,

		"repos/list-pull-requests-associated-with-commit": handleCommitPulls,

		"apps/create-from-manifest":                           handleManifestConversion,
		"users/get-authenticated":                             handleGetAuthenticatedUser,
		"apps/list-installations-for-authenticated-user":      handleUserInstallations,
		"apps/list-installation-repos-for-authenticated-user": handleUserInstallationRepos,
	}
}

const docsURL = "https://docs.github.com/rest"

func apiError(status int, message string) (int, any) {
	return status, map[string]any{"message": message, "documentation_url": docsURL, "status": strconv.Itoa(status)}
}

func notFound() (int, any) { return apiError(http.StatusNotFound, "Not Found") }

// invalid answers 422 like GitHub does for a request it rejects; it records a
// violation because the client sent something GitHub refuses.
func (c *call) invalid(problem string) (int, any) {
	c.s.violateLocked(c.r.Method, c.r.URL.Path, c.op.ID, problem)
	return apiError(http.StatusUnprocessableEntity, "Invalid request.\n\n"+problem)
}

func (c *call) validationFailed(resource, field, code, message string) (int, any) {
	e := map[string]any{"resource": resource, "field": field, "code": code}
	if message != "" {
		e["message"] = message
	}
	return http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": []any{e}, "documentation_url": docsURL, "status": "422"}
}

// ServeHTTP serves the emulated REST API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	round, latency := s.rounds.begin()
	if latency > 0 {
		time.Sleep(latency) // the emulated network's round trip (SetLatency)
	}
	raw, _ := io.ReadAll(r.Body)
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Time: s.now(), Round: round}
	status, hdr, body := s.serveLocked(r, raw, &rec)
	// The round ends before the answer leaves: a request the client sends
	// once it has this answer cannot join it.
	s.rounds.end()

	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	if status != http.StatusNotModified && r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// serveLocked runs handleLocked under the lock, turning a panic (an
// emulator bug) into a 500 and a violation instead of a deadlock.
func (s *Sim) serveLocked(r *http.Request, raw []byte, rec *Request) (status int, hdr http.Header, body []byte) {
	s.mu.Lock()
	defer func() {
		if p := recover(); p != nil {
			s.violateLocked(r.Method, r.URL.Path, rec.Operation, fmt.Sprintf("githubsim bug: panic: %v", p))
			status, hdr, body = 500, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, []byte(`{"message":"Server Error"}`)
		}
		rec.Status = status
		s.requests = append(s.requests, *rec)
		s.notifyLocked()
		s.mu.Unlock()
	}()
	return s.handleLocked(r, raw, rec)
}

func requestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	h := strings.ToUpper(hex.EncodeToString(b))
	return h[0:4] + ":" + h[4:9] + ":" + h[9:15] + ":" + h[15:20]
}

func (s *Sim) handleLocked(r *http.Request, raw []byte, rec *Request) (int, http.Header, []byte) {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Request-Id", requestID())
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("Server", "github.com")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	reply := func(status int, v any) (int, http.Header, []byte) {
		b, _ := json.Marshal(v)
		return status, h, b
	}

	esc := r.URL.EscapedPath()
	op, params, pathKnown := s.spec.match(r.Method, esc)
	if op == nil {
		problem := "no such operation in GitHub's REST API description"
		if d := s.spec.documented(r.Method, esc); d != "" {
			problem = "operation " + d + " exists on GitHub but is not emulated by githubsim"
		} else if pathKnown {
			problem = "method not allowed on this path by GitHub's REST API description"
		}
		s.violateLocked(r.Method, r.URL.Path, "", problem)
		return reply(apiError(http.StatusNotFound, "Not Found"))
	}
	rec.Operation = op.ID
	c := &call{s: s, r: r, op: op, params: params, q: r.URL.Query(), extra: http.Header{}}

	// Authentication.
	scheme, cred := bearer(r)
	rateKey := ""
	appAuth := op.ID == "apps/create-installation-access-token" || op.ID == "apps/get-authenticated" || op.ID == "apps/get-repo-installation"
	if kind := userAuthOps[op.ID]; kind != "" { // oauth.go
		key, status, msg := s.authUserLocked(c, kind, scheme, cred)
		if status != 0 {
			return reply(apiError(status, msg))
		}
		rateKey = key
	} else if appAuth {
		if scheme != "bearer" {
			return reply(apiError(http.StatusUnauthorized, "A JSON web token could not be decoded"))
		}
		if err := s.verifyAppJWT(cred); err != nil {
			return reply(apiError(http.StatusUnauthorized, err.Error()))
		}
		rateKey = "app"
	} else {
		t := s.tokens[cred]
		if (scheme != "token" && scheme != "bearer") || t == nil || time.Now().After(t.expires) {
			return reply(apiError(http.StatusUnauthorized, "Bad credentials"))
		}
		c.tok = t
		rec.Installation = t.installation.ID
		rateKey = "installation:" + strconv.FormatInt(t.installation.ID, 10)
	}
	rec.Authenticated = true
	rs := s.rateLocked(rateKey)

	// Fault injection.
	if f := s.takeFaultLocked(r, false); f != nil {
		return s.faultResponse(f, rs, h, rec)
	}
	if rs.used >= rs.limit {
		rs.headers(h)
		return reply(apiError(http.StatusForbidden, fmt.Sprintf("API rate limit exceeded for installation ID %d.", rec.Installation)))
	}
	if status, body, limited := s.secondaryLimitLocked(c, h); limited {
		rs.used++
		rs.headers(h)
		return status, h, body
	}

	// Request validation against the description.
	problems := s.spec.checkParams(op, params, c.q)
	sch, required := s.spec.requestSchema(op)
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&c.raw); err != nil {
			s.violateLocked(r.Method, r.URL.Path, op.ID, "body is not JSON: "+err.Error())
			rs.used++
			rs.headers(h)
			return reply(apiError(http.StatusBadRequest, "Problems parsing JSON"))
		}
		c.body, _ = c.raw.(map[string]any)
	} else if required {
		problems = append(problems, "a JSON request body is required")
	}
	if sch != nil && c.raw != nil {
		s.spec.validate(sch, c.raw, "body", &problems)
	}
	if c.body == nil {
		c.body = map[string]any{}
	}
	if len(problems) > 0 {
		rs.used++
		rs.headers(h)
		return reply(c.invalid(strings.Join(problems, "\n")))
	}

	// Repository access: an installation only sees its account's repos.
	if owner, ok := params["owner"]; ok {
		repo := s.repos[strings.ToLower(owner+"/"+params["repo"])]
		if repo == nil || (c.tok == nil && !appAuth) || (c.tok != nil && s.installationFor(repo.Owner) != c.tok.installation) {
			rs.used++
			rs.headers(h)
			return reply(notFound())
		}
		c.repo = repo
	}

	status, v := handlers[op.ID](c)
	for k, vals := range c.extra {
		h[k] = vals
	}
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
	}
	if status >= 200 && status < 300 && body != nil {
		s.checkResponseLocked(c, status, body)
	}
	if status >= 200 && status < 300 {
		if f := s.takeFaultLocked(r, true); f != nil {
			return s.faultResponse(f, rs, h, rec) // applied; the answer is lost
		}
	}
	if r.Method == http.MethodGet && status == http.StatusOK {
		sum := sha256.Sum256(body)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			rs.headers(h) // a 304 does not count against the rate limit
			h.Del("Content-Type")
			return http.StatusNotModified, h, nil
		}
	}
	rs.used++
	rs.headers(h)
	return status, h, body
}

func etagMatch(header, etag string) bool {
	norm := func(e string) string { return strings.TrimPrefix(strings.TrimSpace(e), "W/") }
	for _, part := range strings.Split(header, ",") {
		if strings.TrimSpace(part) == "*" || norm(part) == norm(etag) {
			return true
		}
	}
	return false
}

// takeFaultLocked consumes the first fault of the given kind that matches r.
func (s *Sim) takeFaultLocked(r *http.Request, afterApply bool) *Fault {
	for i, f := range s.faults {
		if f.AfterApply == afterApply && (f.Method == "" || strings.EqualFold(f.Method, r.Method)) && strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			f.N--
			if f.N <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func (s *Sim) faultResponse(f *Fault, rs *rateState, h http.Header, rec *Request) (int, http.Header, []byte) {
	rs.used++
	rs.headers(h)
	for k, v := range f.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	body := f.Body
	if body == "" {
		msg := http.StatusText(f.Status)
		switch {
		case (f.Status == 403 || f.Status == 429) && h.Get("X-RateLimit-Remaining") == "0":
			msg = fmt.Sprintf("API rate limit exceeded for installation ID %d.", rec.Installation)
		case f.Status == 403 || f.Status == 429:
			msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID " + h.Get("X-GitHub-Request-Id") + "."
		case f.Status >= 500:
			msg = "Server Error"
		}
		doc := docsURL
		switch {
		case strings.HasPrefix(msg, "API rate limit"):
			doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits"
		case strings.HasPrefix(msg, "You have exceeded"):
			doc = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
		}
		b, _ := json.Marshal(map[string]any{"message": msg, "documentation_url": doc})
		body = string(b)
	}
	return f.Status, h, []byte(body)
}

// checkResponseLocked validates the emulator's own response against the
// description, so the emulator cannot drift from GitHub's shapes.
func (s *Sim) checkResponseLocked(c *call, status int, body []byte) {
	if !s.spec.documentedStatus(c.op, status) {
		s.violateLocked(c.r.Method, c.r.URL.Path, c.op.ID, fmt.Sprintf("githubsim bug: response status %d is not documented", status))
		return
	}
	sch := s.spec.responseSchema(c.op, status)
	if sch == nil {
		return
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&v)
	var problems []string
	s.spec.validate(sch, v, "response", &problems)
	if len(problems) > 0 {
		s.violateLocked(c.r.Method, c.r.URL.Path, c.op.ID, "githubsim bug: response does not match the description: "+strings.Join(problems, "; "))
	}
}

// paginate applies per_page (default 30, at most 100) and page to a list of
// n items and sets a Link header like GitHub.
func (c *call) paginate(n int) (lo, hi int) { return c.paginateWith(n, 30, 100) }

// paginateWith is paginate for operations with other per_page limits.
func (c *call) paginateWith(n, defPer, maxPer int) (lo, hi int) {
	per, _ := strconv.Atoi(c.q.Get("per_page"))
	if per <= 0 {
		per = defPer
	}
	per = min(per, maxPer)
	page, _ := strconv.Atoi(c.q.Get("page"))
	if page <= 0 {
		page = 1
	}
	lo = min((page-1)*per, n)
	hi = min(lo+per, n)
	last := max((n+per-1)/per, 1)
	var links []string
	link := func(p int, rel string) {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		u := strings.TrimSuffix(c.s.URL, "/") + c.r.URL.EscapedPath() + "?" + q.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u, rel))
	}
	if page < last {
		link(page+1, "next")
		link(last, "last")
	}
	if page > 1 {
		link(1, "first")
		link(page-1, "prev")
	}
	if len(links) > 0 {
		c.extra.Set("Link", strings.Join(links, ", "))
	}
	return lo, hi
}
