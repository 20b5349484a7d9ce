package githubsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Delivery is one webhook delivery (or redelivery).
type Delivery struct {
	ID         string // X-GitHub-Delivery; shared by a redelivery
	Event      string // X-GitHub-Event
	Action     string
	Body       []byte
	Redelivery bool
	Delivered  bool   // an attempt was made
	Status     int    // HTTP status of the app's answer, 0 if none
	Err        string // transport error, if any
	Time       time.Time
}

// SetWebhookTarget sets the URL and secret webhooks are delivered to.
// Deliveries queued while no URL is set wait for one.
func (s *Sim) SetWebhookTarget(url, secret string) {
	s.mu.Lock()
	s.hookURL, s.hookSecret = url, secret
	s.mu.Unlock()
	s.kick()
}

func (s *Sim) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Deliveries returns every delivery so far, in queue order (pending ones
// have Delivered false).
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, 0, len(s.deliveries))
	for _, d := range s.deliveries {
		cp := *d
		cp.Body = slices.Clone(d.Body)
		out = append(out, cp)
	}
	return out
}

// PendingDeliveries returns the number of deliveries not yet attempted.
func (s *Sim) PendingDeliveries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Count in-flight deliveries too: one taken off the queue is pending
	// until its POST has been answered.
	n := 0
	for _, d := range s.deliveries {
		if !d.Delivered {
			n++
		}
	}
	return n
}

// WaitForDeliveries waits until every queued delivery has been attempted.
func (s *Sim) WaitForDeliveries(ctx context.Context) error {
	return s.WaitFor(ctx, func() bool { return s.PendingDeliveries() == 0 })
}

// Redeliver queues the delivery id again with the same GUID and body, like
// "Redeliver" in GitHub's UI.
func (s *Sim) Redeliver(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deliveries {
		if d.ID == id && !d.Redelivery {
			nd := &Delivery{ID: d.ID, Event: d.Event, Action: d.Action, Body: d.Body, Redelivery: true}
			s.deliveries = append(s.deliveries, nd)
			s.queue = append(s.queue, nd)
			s.notifyLocked()
			s.kick()
			return nil
		}
	}
	return fmt.Errorf("githubsim: no delivery %s", id)
}

func guid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Sim) subscribed(event string) bool {
	return s.opts.Events == nil || slices.Contains(s.opts.Events, event)
}

// enqueueLocked finishes a payload built from an example (repository,
// sender, installation, organization) and queues it. Repositories without an
// installation of the app produce no delivery.
func (s *Sim) enqueueLocked(event string, r *Repo, payload map[string]any, sender string) {
	s.enqueueRepoLocked(event, r, payload, sender, nil)
}

// enqueueRepoLocked is enqueueLocked with the payload's repository object
// (nil: the usual one). Payloads whose schema the trimmed description keeps
// are validated against it.
func (s *Sim) enqueueRepoLocked(event string, r *Repo, payload map[string]any, sender string, repo map[string]any) {
	inst := s.installationFor(r.Owner)
	if inst == nil || !s.subscribed(event) {
		return
	}
	if repo == nil {
		repo = s.repoJSON(r)
	}
	payload["repository"] = repo
	payload["sender"] = s.login(sender)
	payload["installation"] = s.installationJSON(inst)
	if owner := s.userLocked(r.Owner); owner.Type == "Organization" {
		api := s.api("orgs", owner.Login)
		payload["organization"] = map[string]any{
			"login": owner.Login, "id": owner.ID, "node_id": nodeID("O_", owner.ID), "url": api,
			"repos_url": api + "/repos", "events_url": api + "/events", "hooks_url": api + "/hooks",
			"issues_url": api + "/issues", "members_url": api + "/members{/member}",
			"public_members_url": api + "/public_members{/member}",
			"avatar_url":         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", owner.ID), "description": nil,
		}
	} else {
		delete(payload, "organization")
	}
	delete(payload, "enterprise")
	body, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	action, _ := payload["action"].(string)
	s.checkWebhookLocked(event, action, body)
	d := &Delivery{ID: guid(), Event: event, Action: action, Body: body}
	s.deliveries = append(s.deliveries, d)
	s.queue = append(s.queue, d)
	s.kick()
}

// patch overlays fields onto an example object (fields of the example the
// emulator does not model keep the example's values).
func patch(ex map[string]any, key string, fields map[string]any) {
	obj, _ := ex[key].(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	for k, v := range fields {
		obj[k] = v
	}
	ex[key] = obj
}

func (s *Sim) sendIssueCommentLocked(r *Repo, is *Issue, cm *Comment, action, oldBody, sender string) {
	file := "created.payload.json"
	if action == "edited" {
		file = "edited.payload.json"
	}
	ex := example("issue_comment", file)
	ex["action"] = action
	patch(ex, "issue", s.issueJSON(r, is))
	patch(ex, "comment", s.commentJSON(r, cm))
	if action == "edited" {
		ex["changes"] = map[string]any{"body": map[string]any{"from": oldBody}}
	}
	s.enqueueLocked("issue_comment", r, ex, sender)
}

// sendPullRequestLocked sends pull_request action; for synchronize, before
// is the previous head of the PR and sender the pusher.
func (s *Sim) sendPullRequestLocked(r *Repo, is *Issue, action, before, sender string) {
	file := "opened.payload.json"
	if action == "synchronize" {
		file = "synchronize.payload.json"
	}
	ex := example("pull_request", file)
	ex["action"] = action
	ex["number"] = is.Number
	ex["pull_request"] = s.prJSON(r, is)
	if action == "synchronize" {
		ex["before"], ex["after"] = before, s.prHeadSHALocked(is.PR)
	}
	if sender == "" {
		sender = is.Author
	}
	s.enqueueLocked("pull_request", r, ex, sender)
}

// sendDeploymentLocked sends deployment created. A deployment made by an
// Actions job carries its workflow and workflow_run, like GitHub's example
// of one (gh-pages), and its sender is the run's triggering actor;
// otherwise both are null and the sender is the creator.
func (s *Sim) sendDeploymentLocked(r *Repo, d *Deployment) {
	file := "with-installation.payload.json"
	run := s.runLocked(d.WorkflowRunID)
	if run != nil {
		file = "gh-pages.payload.json"
	}
	ex := example("deployment", file)
	ex["action"] = "created"
	patch(ex, "deployment", s.deploymentJSON(r, d))
	sender := d.Creator
	ex["workflow"], ex["workflow_run"] = nil, nil
	if run != nil {
		ex["workflow"] = s.workflowJSON(r, r.workflowByIDLocked(run.WorkflowID))
		ex["workflow_run"] = s.deploymentRunJSON(r, run)
		sender = run.TriggeringActor
	}
	s.enqueueLocked("deployment", r, ex, sender)
}

func (s *Sim) sendDeploymentStatusLocked(r *Repo, d *Deployment, st *DeploymentStatus) {
	ex := example("deployment_status", "with-installation.payload.json")
	ex["action"] = "created"
	patch(ex, "deployment_status", s.deploymentStatusJSON(r, d, st))
	patch(ex, "deployment", s.deploymentJSON(r, d))
	ex["check_run"], ex["workflow"], ex["workflow_run"] = nil, nil, nil
	if run := s.runLocked(d.WorkflowRunID); run != nil {
		ex["workflow"] = s.workflowJSON(r, r.workflowByIDLocked(run.WorkflowID))
		ex["workflow_run"] = s.deploymentRunJSON(r, run)
	}
	s.enqueueLocked("deployment_status", r, ex, st.Creator)
}

func (s *Sim) sendCheckRunLocked(r *Repo, cr *CheckRun, action, identifier, sender string) {
	file := map[string]string{"created": "created.payload.json", "completed": "completed.payload.json",
		"requested_action": "requested_action.payload.json"}[action]
	if action == "requested_action" && cr.AppID != s.opts.AppID {
		return // only the app that created the run is told
	}
	ex := example("check_run", file)
	ex["action"] = action
	run := s.checkRunJSON(r, cr)
	suite := map[string]any{
		"id": cr.SuiteID, "node_id": nodeID("CS_", cr.SuiteID), "head_sha": cr.HeadSHA, "status": cr.Status,
		"conclusion": run["conclusion"], "url": s.api("repos", r.Owner, r.Name, "check-suites", strconv.FormatInt(cr.SuiteID, 10)),
		"before": nil, "after": cr.HeadSHA, "pull_requests": run["pull_requests"], "app": run["app"],
		"head_branch": nil, "created_at": run["started_at"], "updated_at": run["started_at"],
	}
	for _, n := range sortedKeys(r.refs) {
		if r.refs[n] == cr.HeadSHA && strings.HasPrefix(n, "refs/heads/") {
			suite["head_branch"] = strings.TrimPrefix(n, "refs/heads/")
			break
		}
	}
	run["check_suite"] = suite
	patch(ex, "check_run", run)
	if action == "requested_action" {
		ex["requested_action"] = map[string]any{"identifier": identifier}
	} else {
		delete(ex, "requested_action")
		sender = cr.AppSlug + "[bot]"
	}
	s.enqueueLocked("check_run", r, ex, sender)
}

// Ping sends a ping event for the app's hook, built from GitHub's example.
func (s *Sim) Ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex := example("ping", "with-app_id.payload.json")
	ex["hook_id"] = s.hookID
	patch(ex, "hook", map[string]any{"id": s.hookID, "app_id": s.opts.AppID, "type": "App"})
	body, _ := json.Marshal(ex)
	d := &Delivery{ID: guid(), Event: "ping", Body: body}
	s.deliveries = append(s.deliveries, d)
	s.queue = append(s.queue, d)
	s.kick()
}

func (s *Sim) deliverLoop() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		s.mu.Lock()
		var d *Delivery
		url, secret := s.hookURL, s.hookSecret
		if len(s.queue) > 0 && url != "" {
			d = s.queue[0]
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
		if d == nil {
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		status, errText := s.post(ctx, url, secret, d)
		s.mu.Lock()
		d.Delivered, d.Status, d.Err, d.Time = true, status, errText, s.now()
		s.notifyLocked()
		s.mu.Unlock()
	}
}

func (s *Sim) post(ctx context.Context, url, secret string, d *Delivery) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err.Error()
	}
	m256 := hmac.New(sha256.New, []byte(secret))
	m256.Write(d.Body)
	m1 := hmac.New(sha1.New, []byte(secret))
	m1.Write(d.Body)
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/5f3a9c1")
	h.Set("X-GitHub-Event", d.Event)
	h.Set("X-GitHub-Delivery", d.ID)
	h.Set("X-GitHub-Hook-ID", strconv.FormatInt(s.hookID, 10))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(s.opts.AppID, 10))
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m256.Sum(nil)))
	h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m1.Sum(nil)))
	resp, err := s.hookClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, ""
}
