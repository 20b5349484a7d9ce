package app

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
)

// intakeVerdict is what the intake does with a verified delivery of an
// event deploybot handles.
type intakeVerdict int

const (
	// intakeStore: the delivery may matter; store it and queue its job.
	intakeStore intakeVerdict = iota
	// intakeSkip: the handler would do nothing with it (deploybot's own
	// echo, an action it ignores); answer 202 without writing anything.
	intakeSkip
	// intakeIfWatched: a check or status on a commit; it matters only if an
	// unfinished deployment is on that commit (commitWatch decides).
	intakeIfWatched
)

// intakeFilter decides, from the payload alone, whether a delivery can be
// skipped. Every rule below mirrors a case in which the event's handler
// (handlers/) returns without doing anything, and nothing else: a rule that
// skipped something a handler acts on would lose a deploy. These rules
// depend on nothing but the payload and deploybot's identity, so every
// replica reaches the same verdict.
//
// It reads only the few fields it needs, with gjson: one light pass per
// field instead of encoding/json's validation and decoding of the whole
// payload, which cost more than the signature check (an 8 KB payload:
// ~22 µs against ~8 µs). Where the two parsers could disagree the filter
// stores: a field of an unexpected type (where go-github's decoding would
// fail) or a payload gjson finds invalid is stored, and the stored path
// decodes with encoding/json exactly as before. (Duplicate or
// case-mismatched keys, on which they also differ, are not produced by
// GitHub, and the payload is signed.)
type intakeFilter struct {
	appID    int64
	botLogin string // "<slug>[bot]"; "" when the slug is unknown
}

// intakeRead is what the filter read of a payload.
type intakeRead struct {
	verdict   intakeVerdict
	repo, sha string // the commit, for intakeIfWatched
	// installation is installation.id, when read is true; otherwise the
	// payload needs encoding/json (it may not even be JSON).
	installation int64
	read         bool
}

// read decides what to do with a delivery of event (the rules below) and reads
// its installation.
func (f intakeFilter) read(event string, body []byte) intakeRead {
	if !gjson.ValidBytes(body) {
		return intakeRead{verdict: intakeStore}
	}
	if i := firstNonSpace(body); i < 0 || body[i] != '{' {
		return intakeRead{verdict: intakeStore}
	}
	// The filter reads body in place: gjson's results are substrings of
	// this view. body is never modified (it is stored as received), and no
	// result outlives the request.
	p := payload{root: gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body))), typed: true}
	installation := p.id("installation.id")
	if !p.typed {
		return intakeRead{verdict: intakeStore}
	}
	v, repo, sha := f.rules(event, &p)
	if !p.typed { // a field had a type go-github would not decode
		return intakeRead{verdict: intakeStore, installation: installation, read: true}
	}
	return intakeRead{verdict: v, repo: repo, sha: sha, installation: installation, read: true}
}

func (f intakeFilter) rules(event string, p *payload) (intakeVerdict, string, string) {
	switch event {
	case "deployment": // handlers.Deployment: own deployments echoed back
		via, hasVia := p.object("deployment.performed_via_github_app")
		if (f.botLogin != "" && p.text("deployment.creator.login") == f.botLogin) ||
			(hasVia && p.id(via+".id") == f.appID) {
			return intakeSkip, "", ""
		}
	case "deployment_status": // handlers.DeploymentStatus: own statuses echoed back
		// Only the status's creator counts: an external executor reports
		// statuses on deploybot's own deployments, and those wake it.
		if f.botLogin != "" && p.text("deployment_status.creator.login") == f.botLogin {
			return intakeSkip, "", ""
		}
	case "issue_comment": // handlers.IssueComment: only new comments by people run commands
		if p.text("action") != "created" || p.text("sender.type") == "Bot" || p.text("comment.user.type") == "Bot" ||
			(f.botLogin != "" && p.text("comment.user.login") == f.botLogin) {
			return intakeSkip, "", ""
		}
	case "check_run": // handlers.CheckRun
		switch p.text("action") {
		case "requested_action":
			return intakeStore, "", "" // the Rollback button: always stored
		case "completed":
			return f.checkVerdict(p, "check_run")
		default:
			return intakeSkip, "", ""
		}
	case "check_suite": // handlers.CheckSuite: completed suites of other apps
		if p.text("action") != "completed" {
			return intakeSkip, "", ""
		}
		return f.checkVerdict(p, "check_suite")
	case "pull_request": // handlers.PullRequest: only a moved head
		if p.text("action") != "synchronize" {
			return intakeSkip, "", ""
		}
	case "push": // handlers.Push: only pushes to the default branch
		branch := p.text("repository.default_branch")
		if p.flag("deleted") || branch == "" || p.text("ref") != "refs/heads/"+branch {
			return intakeSkip, "", ""
		}
	case "workflow_run": // handlers.WorkflowRun: completed runs deploybot may have dispatched
		if p.text("action") != "completed" || p.text("workflow_run.event") != "workflow_dispatch" {
			return intakeSkip, "", ""
		}
	case "release": // handlers.Release: published releases
		if p.text("action") != "published" {
			return intakeSkip, "", ""
		}
	case "deployment_protection_rule": // handlers.DeploymentProtectionRule
		if p.text("action") != "requested" {
			return intakeSkip, "", ""
		}
	case "status": // handlers.Status: a pending status unblocks nothing
		if p.text("state") == "pending" {
			return intakeSkip, "", ""
		}
		return f.watchVerdict(p, p.text("sha"))
	}
	return intakeStore, "", ""
}

// checkVerdict is handlers.Base.checksChanged: deploybot's own check runs
// and suites never wake anything; others only deployments on their commit.
func (f intakeFilter) checkVerdict(p *payload, check string) (intakeVerdict, string, string) {
	if app, ok := p.object(check + ".app"); ok && p.id(app+".id") == f.appID {
		return intakeSkip, "", ""
	}
	return f.watchVerdict(p, p.text(check+".head_sha"))
}

// watchVerdict defers to the watched commits; a payload without its
// repository or SHA is stored (its handler reports it unhandleable).
func (f intakeFilter) watchVerdict(p *payload, sha string) (intakeVerdict, string, string) {
	repo := p.text("repository.full_name")
	if repo == "" || sha == "" {
		return intakeStore, "", ""
	}
	return intakeIfWatched, repo, sha
}

// payload reads fields the way encoding/json would decode them into
// go-github's types: absent or null is the zero value; any other type than
// the expected one clears typed (decoding would fail).
type payload struct {
	root  gjson.Result // a valid JSON object
	typed bool
}

// get walks path ("a.b.c"): every parent must be an object (or absent or
// null, which makes the field absent).
func (p *payload) get(path string) gjson.Result {
	cur := p.root
	for {
		seg, rest, more := strings.Cut(path, ".")
		v := cur.Get(seg)
		if !more {
			return v
		}
		if !v.Exists() || v.Type == gjson.Null {
			return gjson.Result{}
		}
		if !v.IsObject() {
			p.typed = false
			return gjson.Result{}
		}
		cur, path = v, rest
	}
}

// firstNonSpace is the index of the first byte of body that is not JSON
// whitespace, or -1.
func firstNonSpace(body []byte) int {
	for i, c := range body {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return i
		}
	}
	return -1
}

// text reads a string field.
func (p *payload) text(path string) string {
	v := p.get(path)
	switch v.Type {
	case gjson.String:
		return v.Str
	case gjson.Null:
	default:
		p.typed = false
	}
	return ""
}

// flag reads a boolean field.
func (p *payload) flag(path string) bool {
	v := p.get(path)
	switch v.Type {
	case gjson.True:
		return true
	case gjson.False, gjson.Null:
	default:
		p.typed = false
	}
	return false
}

// id reads an integer field.
func (p *payload) id(path string) int64 {
	v := p.get(path)
	if !v.Exists() || v.Type == gjson.Null {
		return 0
	}
	n, err := strconv.ParseInt(v.Raw, 10, 64)
	if v.Type != gjson.Number || err != nil {
		p.typed = false
	}
	return n
}

// object reports whether path holds an object (a non-nil pointer after
// decoding) and returns the path to read its fields with.
func (p *payload) object(path string) (string, bool) {
	v := p.get(path)
	if !v.Exists() || v.Type == gjson.Null {
		return path, false
	}
	if !v.IsObject() {
		p.typed = false
		return path, false
	}
	return path, true
}
