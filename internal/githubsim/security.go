package githubsim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Alert kinds, as used by SetAlertState and SetFeature.
const (
	CodeScanning   = "code_scanning"
	SecretScanning = "secret_scanning"
	Dependabot     = "dependabot"
)

// alert is a code scanning, secret scanning or Dependabot alert.
type alert struct {
	Kind        string
	Number      int
	State       string
	Severity    string // code scanning, Dependabot: low|medium|high|critical
	RuleID      string // code scanning
	Description string // code scanning
	SecretType  string // secret scanning
	Ecosystem   string // Dependabot
	Package     string // Dependabot
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time // dismissed, fixed or resolved
}

func checkKind(kind string) {
	switch kind {
	case CodeScanning, SecretScanning, Dependabot:
	default:
		panic("githubsim: unknown alert kind " + kind + " (want code_scanning, secret_scanning or dependabot)")
	}
}

func checkSeverity(sev string) {
	switch sev {
	case "critical", "high", "medium", "low":
	default:
		panic("githubsim: unknown severity " + sev + " (want critical, high, medium or low)")
	}
}

func (r *Repo) addAlert(a *alert) int {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	a.Number = len(r.alerts[a.Kind]) + 1
	a.State = "open"
	a.CreatedAt = s.now()
	a.UpdatedAt = a.CreatedAt
	r.alerts[a.Kind] = append(r.alerts[a.Kind], a)
	s.notifyLocked()
	return a.Number
}

// AddCodeScanningAlert adds an open code scanning alert (tool CodeQL) and
// returns its number. severity is the rule's security_severity_level:
// critical, high, medium or low; rule.severity follows it (error for
// critical and high, warning for medium, note for low).
func (r *Repo) AddCodeScanningAlert(severity, ruleID, description string) int {
	checkSeverity(severity)
	return r.addAlert(&alert{Kind: CodeScanning, Severity: severity, RuleID: ruleID, Description: description})
}

// AddSecretScanningAlert adds an open secret scanning alert for secretType
// (e.g. "github_personal_access_token") and returns its number.
func (r *Repo) AddSecretScanningAlert(secretType string) int {
	return r.addAlert(&alert{Kind: SecretScanning, SecretType: secretType})
}

// AddDependabotAlert adds an open Dependabot alert on package pkg of
// ecosystem (npm, pip, go, maven, rubygems, nuget, composer, rust, actions...)
// with severity low, medium, high or critical, and returns its number.
func (r *Repo) AddDependabotAlert(ecosystem, pkg, severity string) int {
	checkSeverity(severity)
	return r.addAlert(&alert{Kind: Dependabot, Ecosystem: ecosystem, Package: pkg, Severity: severity})
}

// SetAlertState changes the state of alert number of kind (code_scanning,
// secret_scanning or dependabot). state is open, dismissed, fixed or
// resolved. Secret scanning alerts only know open and resolved (dismissed
// and fixed mean resolved); for the other kinds resolved means fixed.
func (r *Repo) SetAlertState(kind string, number int, state string) {
	checkKind(kind)
	switch state {
	case "open", "dismissed", "fixed", "resolved":
	case "auto_dismissed":
		if kind != Dependabot {
			panic("githubsim: auto_dismissed is a Dependabot state")
		}
	default:
		panic("githubsim: unknown alert state " + state)
	}
	if kind == SecretScanning && state != "open" {
		state = "resolved"
	} else if kind != SecretScanning && state == "resolved" {
		state = "fixed"
	}
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if number < 1 || number > len(r.alerts[kind]) {
		panic(fmt.Sprintf("githubsim: no %s alert %d in %s", kind, number, r.FullName()))
	}
	a := r.alerts[kind][number-1]
	a.State, a.UpdatedAt = state, s.now()
	a.ClosedAt = time.Time{}
	if state != "open" {
		a.ClosedAt = a.UpdatedAt
	}
	s.notifyLocked()
}

// SetFeature sets the state of a security feature (code_scanning,
// secret_scanning or dependabot) on the repository: "enabled" (the
// default), "disabled" or "forbidden" (GitHub Advanced Security not
// available, or the app may not read the alerts). The alert lists answer
// like GitHub in each state; see the package documentation.
func (r *Repo) SetFeature(kind, state string) {
	checkKind(kind)
	switch state {
	case "enabled", "disabled", "forbidden":
	default:
		panic("githubsim: unknown feature state " + state + " (want enabled, disabled or forbidden)")
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.features[kind] = state
	r.s.notifyLocked()
}

func (r *Repo) feature(kind string) string {
	if st := r.features[kind]; st != "" {
		return st
	}
	return "enabled"
}

func apiErrorDoc(status int, message, doc string) (int, any) {
	return status, map[string]any{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)}
}

// featureError answers like GitHub when a feature is off or not available.
// GitHub documents 403 and 404 for code scanning, only 404 for secret
// scanning, and 403 and 404 for Dependabot.
func featureError(kind, state string) (int, any, bool) {
	const doc = "https://docs.github.com/rest/"
	var st int
	var v any
	switch kind + "/" + state {
	case "code_scanning/disabled":
		st, v = apiErrorDoc(http.StatusNotFound, "no analysis found", doc+"code-scanning/code-scanning#list-code-scanning-alerts-for-a-repository")
	case "code_scanning/forbidden":
		st, v = apiErrorDoc(http.StatusForbidden, "Advanced Security must be enabled for this repository to use code scanning.", doc+"code-scanning/code-scanning#list-code-scanning-alerts-for-a-repository")
	case "secret_scanning/disabled":
		st, v = apiErrorDoc(http.StatusNotFound, "Secret scanning is disabled on this repository.", doc+"secret-scanning/secret-scanning#list-secret-scanning-alerts-for-a-repository")
	case "secret_scanning/forbidden":
		// No 403 is documented for this operation.
		st, v = apiErrorDoc(http.StatusNotFound, "Advanced Security must be enabled for this repository to use secret scanning.", doc+"secret-scanning/secret-scanning#list-secret-scanning-alerts-for-a-repository")
	case "dependabot/disabled":
		st, v = apiErrorDoc(http.StatusForbidden, "Dependabot alerts are disabled for this repository.", doc+"dependabot/alerts#list-dependabot-alerts-for-a-repository")
	case "dependabot/forbidden":
		st, v = apiErrorDoc(http.StatusForbidden, "Resource not accessible by integration", doc+"dependabot/alerts#list-dependabot-alerts-for-a-repository")
	default:
		return 0, nil, false
	}
	return st, v, true
}

// sortAlerts orders alerts by sort (created, updated, number) and direction
// (default desc).
func sortAlerts(list []*alert, by, direction string) {
	key := func(a *alert) (time.Time, int) {
		if by == "updated" {
			return a.UpdatedAt, a.Number
		}
		return a.CreatedAt, a.Number
	}
	less := func(a, b *alert) bool {
		ta, na := key(a)
		tb, nb := key(b)
		return ta.Before(tb) || (ta.Equal(tb) && na < nb)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if direction == "asc" {
			return less(list[i], list[j])
		}
		return less(list[j], list[i])
	})
}

func commaSet(v string) map[string]bool {
	if v == "" {
		return nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(v, ",") {
		m[strings.TrimSpace(p)] = true
	}
	return m
}

func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// ---- code scanning ----

func codeScanningRuleSeverity(sev string) string {
	switch sev {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

func (s *Sim) codeScanningAlertJSON(r *Repo, a *alert, ref string) map[string]any {
	api := s.api("repos", r.Owner, r.Name, "code-scanning", "alerts", strconv.Itoa(a.Number))
	var dismissedBy, dismissedAt, dismissedReason, fixedAt any
	switch a.State {
	case "dismissed":
		dismissedBy, dismissedAt, dismissedReason = s.login(r.Owner), ts(a.ClosedAt), "won't fix"
	case "fixed":
		fixedAt = ts(a.ClosedAt)
	}
	head := r.refs["refs/heads/"+r.DefaultBranch]
	path := "README.md"
	if c := s.commits[head]; c != nil {
		for _, p := range sortedKeys(c.Tree) {
			if !strings.EqualFold(p, "README.md") && !strings.HasPrefix(p, ".github/") {
				path = p
				break
			}
		}
	}
	const analysis = ".github/workflows/codeql.yml:analyze"
	return map[string]any{
		"number": a.Number, "created_at": ts(a.CreatedAt), "updated_at": ts(a.UpdatedAt),
		"url": api, "html_url": s.web(r.Owner, r.Name, "security", "code-scanning", strconv.Itoa(a.Number)),
		"instances_url": api + "/instances", "state": a.State,
		"fixed_at": fixedAt, "dismissed_by": dismissedBy, "dismissed_at": dismissedAt,
		"dismissed_reason": dismissedReason, "dismissed_comment": nil, "assignees": []any{},
		"rule": map[string]any{
			"id": a.RuleID, "name": a.RuleID, "severity": codeScanningRuleSeverity(a.Severity),
			"security_severity_level": a.Severity, "description": a.Description,
			"full_description": a.Description, "tags": []any{"security"}, "help": nil, "help_uri": nil,
		},
		"tool": map[string]any{"name": "CodeQL", "guid": nil, "version": "2.20.1"},
		"most_recent_instance": map[string]any{
			"ref": ref, "analysis_key": analysis, "environment": "{\"language\":\"go\"}",
			"category": analysis + "/language:go", "state": a.State, "commit_sha": head,
			"message":         map[string]any{"text": a.Description},
			"location":        map[string]any{"path": path, "start_line": 1, "end_line": 1, "start_column": 1, "end_column": 2},
			"classifications": []any{},
		},
	}
}

func handleListCodeScanningAlerts(c *call) (int, any) {
	r := c.repo
	if st, v, off := featureError(CodeScanning, r.feature(CodeScanning)); off {
		return st, v
	}
	ref := c.q.Get("ref")
	if ref == "" {
		ref = "refs/heads/" + r.DefaultBranch
	} else if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	// Alerts are found on every analysed ref; tool_name filters by tool.
	// GitHub does not document a severity filter for this operation, so
	// none is applied.
	var list []*alert
	for _, a := range r.alerts[CodeScanning] {
		if v := c.q.Get("state"); v != "" && v != a.State {
			continue
		}
		if v := c.q.Get("tool_name"); v != "" && v != "CodeQL" {
			continue
		}
		list = append(list, a)
	}
	by := c.q.Get("sort")
	if by == "number" {
		by = "created"
	}
	sortAlerts(list, by, c.q.Get("direction"))
	lo, hi := c.paginate(len(list))
	out := []any{}
	for _, a := range list[lo:hi] {
		out = append(out, c.s.codeScanningAlertJSON(r, a, ref))
	}
	return http.StatusOK, out
}

// ---- secret scanning ----

var secretTypeNames = map[string]string{
	"github_personal_access_token":     "GitHub Personal Access Token",
	"github_oauth_access_token":        "GitHub OAuth Access Token",
	"github_app_installation_token":    "GitHub App Installation Access Token",
	"aws_access_key_id":                "Amazon AWS Access Key ID",
	"aws_secret_access_key":            "Amazon AWS Secret Access Key",
	"slack_api_token":                  "Slack API Token",
	"slack_incoming_webhook_url":       "Slack Incoming Webhook URL",
	"stripe_api_key":                   "Stripe API Key",
	"google_api_key":                   "Google API Key",
	"azure_storage_account_key":        "Azure Storage Account Key",
	"npm_access_token":                 "npm Access Token",
	"openai_api_key":                   "OpenAI API Key",
	"mailgun_api_key":                  "Mailgun API Key",
	"twilio_account_string_identifier": "Twilio Account String Identifier",
}

func secretTypeDisplayName(t string) string {
	if n, ok := secretTypeNames[t]; ok {
		return n
	}
	words := strings.Split(t, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

func (s *Sim) secretScanningAlertJSON(r *Repo, a *alert, hide bool) map[string]any {
	api := s.api("repos", r.Owner, r.Name, "secret-scanning", "alerts", strconv.Itoa(a.Number))
	var resolution, resolvedBy any
	if a.State == "resolved" {
		resolution, resolvedBy = "revoked", s.login(r.Owner)
	}
	m := map[string]any{
		"number": a.Number, "created_at": ts(a.CreatedAt), "updated_at": ts(a.UpdatedAt),
		"url": api, "html_url": s.web(r.Owner, r.Name, "security", "secret-scanning", strconv.Itoa(a.Number)),
		"locations_url": api + "/locations", "state": a.State, "resolution": resolution,
		"resolved_at": optTime(a.ClosedAt), "resolved_by": resolvedBy, "resolution_comment": nil,
		"secret_type": a.SecretType, "secret_type_display_name": secretTypeDisplayName(a.SecretType),
		"validity": "unknown", "publicly_leaked": false, "multi_repo": false, "is_base64_encoded": false,
		"push_protection_bypassed": false, "push_protection_bypassed_by": nil, "push_protection_bypassed_at": nil,
		"push_protection_bypass_request_reviewer": nil, "push_protection_bypass_request_reviewer_comment": nil,
		"push_protection_bypass_request_comment": nil, "push_protection_bypass_request_html_url": nil,
		"first_location_detected": nil, "has_more_locations": false, "assigned_to": nil,
	}
	if !hide {
		m["secret"] = fmt.Sprintf("%s_%s", strings.SplitN(a.SecretType, "_", 2)[0], gitSHA("secret", r.FullName(), strconv.Itoa(a.Number))[:24])
	}
	return m
}

func handleListSecretScanningAlerts(c *call) (int, any) {
	r := c.repo
	if st, v, off := featureError(SecretScanning, r.feature(SecretScanning)); off {
		return st, v
	}
	types := commaSet(c.q.Get("secret_type"))
	var list []*alert
	for _, a := range r.alerts[SecretScanning] {
		if v := c.q.Get("state"); v != "" && v != a.State {
			continue
		}
		if types != nil && !types[a.SecretType] {
			continue
		}
		list = append(list, a)
	}
	sortAlerts(list, c.q.Get("sort"), c.q.Get("direction"))
	lo, hi := c.paginate(len(list))
	out := []any{}
	for _, a := range list[lo:hi] {
		out = append(out, c.s.secretScanningAlertJSON(r, a, c.q.Get("hide_secret") == "true"))
	}
	return http.StatusOK, out
}

// ---- Dependabot ----

var manifests = map[string]string{
	"npm": "package-lock.json", "pip": "requirements.txt", "go": "go.mod", "maven": "pom.xml",
	"rubygems": "Gemfile.lock", "nuget": "packages.lock.json", "composer": "composer.lock",
	"rust": "Cargo.lock", "pub": "pubspec.lock", "actions": ".github/workflows/ci.yml",
}

// ghsaID derives a GHSA identifier (GitHub's alphabet) from seed.
func ghsaID(seed string) string {
	const alphabet = "23456789cfghjmpqrvwx"
	h := gitSHA("ghsa", seed)
	var b strings.Builder
	b.WriteString("GHSA")
	for i := 0; i < 12; i++ {
		if i%4 == 0 {
			b.WriteByte('-')
		}
		n, _ := strconv.ParseUint(h[i*2:i*2+2], 16, 8)
		b.WriteByte(alphabet[n%uint64(len(alphabet))])
	}
	return b.String()
}

func (s *Sim) dependabotAlertJSON(r *Repo, a *alert) map[string]any {
	api := s.api("repos", r.Owner, r.Name, "dependabot", "alerts", strconv.Itoa(a.Number))
	manifest, ok := manifests[a.Ecosystem]
	if !ok {
		manifest = "dependencies.lock"
	}
	pkg := map[string]any{"ecosystem": a.Ecosystem, "name": a.Package}
	vuln := map[string]any{"package": pkg, "severity": a.Severity, "vulnerable_version_range": "< 1.2.4",
		"first_patched_version": map[string]any{"identifier": "1.2.4"}}
	ghsa := ghsaID(r.FullName() + "/" + a.Ecosystem + "/" + a.Package + "/" + a.Severity)
	score := map[string]float64{"critical": 9.8, "high": 7.5, "medium": 5.3, "low": 3.1}[a.Severity]
	sevTitle := strings.ToUpper(a.Severity[:1]) + a.Severity[1:]
	var dismissedAt, dismissedBy, dismissedReason, fixedAt, autoDismissedAt any
	switch a.State {
	case "dismissed":
		dismissedAt, dismissedBy, dismissedReason = ts(a.ClosedAt), s.login(r.Owner), "tolerable_risk"
	case "fixed":
		fixedAt = ts(a.ClosedAt)
	case "auto_dismissed":
		autoDismissedAt = ts(a.ClosedAt)
	}
	return map[string]any{
		"number": a.Number, "state": a.State,
		"dependency": map[string]any{"package": pkg, "manifest_path": manifest, "scope": "runtime", "relationship": "direct"},
		"security_advisory": map[string]any{
			"ghsa_id": ghsa, "cve_id": nil, "summary": fmt.Sprintf("%s severity vulnerability in %s", sevTitle, a.Package),
			"description": fmt.Sprintf("Versions of %s before 1.2.4 are vulnerable.", a.Package),
			"severity":    a.Severity, "identifiers": []any{map[string]any{"type": "GHSA", "value": ghsa}},
			"references":   []any{map[string]any{"url": "https://github.com/advisories/" + ghsa}},
			"published_at": ts(a.CreatedAt), "updated_at": ts(a.CreatedAt), "withdrawn_at": nil,
			"vulnerabilities": []any{vuln}, "cvss": map[string]any{"score": score, "vector_string": nil}, "cwes": []any{},
		},
		"security_vulnerability": vuln,
		"url":                    api, "html_url": s.web(r.Owner, r.Name, "security", "dependabot", strconv.Itoa(a.Number)),
		"created_at": ts(a.CreatedAt), "updated_at": ts(a.UpdatedAt),
		"dismissed_at": dismissedAt, "dismissed_by": dismissedBy, "dismissed_reason": dismissedReason,
		"dismissed_comment": nil, "fixed_at": fixedAt, "auto_dismissed_at": autoDismissedAt, "assignees": []any{},
	}
}

func dependabotCursor(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(n)))
}

func parseDependabotCursor(v string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "cursor:v2:"))
	return n, err == nil
}

// handleListDependabotAlerts emulates the Dependabot alert list. It pages by
// cursor only (before/after in the Link header): GitHub answers 400 to the
// page, first and last parameters.
func handleListDependabotAlerts(c *call) (int, any) {
	r := c.repo
	if st, v, off := featureError(Dependabot, r.feature(Dependabot)); off {
		return st, v
	}
	for _, p := range []string{"page", "first", "last"} {
		if c.q.Has(p) {
			c.s.violateLocked(c.r.Method, c.r.URL.Path, c.op.ID, "the Dependabot alerts list pages by cursor: GitHub rejects the "+p+" parameter")
			return apiErrorDoc(http.StatusBadRequest, "Pagination using the `"+p+"` parameter is not supported.", "https://docs.github.com/rest/dependabot/alerts#list-dependabot-alerts-for-a-repository")
		}
	}
	filters := map[string]map[string]bool{}
	valid := map[string][]string{
		"state": {"auto_dismissed", "dismissed", "fixed", "open"}, "severity": {"low", "medium", "high", "critical"},
	}
	for _, name := range []string{"state", "severity", "ecosystem", "package", "manifest"} {
		set := commaSet(c.q.Get(name))
		for v := range set {
			if allowed, ok := valid[name]; ok && !contains(allowed, v) {
				return c.invalid(fmt.Sprintf("query parameter %s: %q is not one of %v", name, v, allowed))
			}
		}
		filters[name] = set
	}
	manifest := func(a *alert) string {
		if m, ok := manifests[a.Ecosystem]; ok {
			return m
		}
		return "dependencies.lock"
	}
	var list []*alert
	for _, a := range r.alerts[Dependabot] {
		if f := filters["state"]; f != nil && !f[a.State] {
			continue
		}
		if f := filters["severity"]; f != nil && !f[a.Severity] {
			continue
		}
		if f := filters["ecosystem"]; f != nil && !f[a.Ecosystem] {
			continue
		}
		if f := filters["package"]; f != nil && !f[a.Package] {
			continue
		}
		if f := filters["manifest"]; f != nil && !f[manifest(a)] {
			continue
		}
		if v := c.q.Get("scope"); v != "" && v != "runtime" {
			continue
		}
		list = append(list, a)
	}
	by := c.q.Get("sort")
	if by == "epss_percentage" {
		by = "created"
	}
	sortAlerts(list, by, c.q.Get("direction"))
	per, _ := strconv.Atoi(c.q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	lo, hi := 0, len(list)
	index := func(cursor string) int {
		n, ok := parseDependabotCursor(cursor)
		if !ok {
			return -2
		}
		for i, a := range list {
			if a.Number == n {
				return i
			}
		}
		return -2
	}
	switch {
	case c.q.Get("after") != "":
		i := index(c.q.Get("after"))
		if i == -2 {
			return c.invalid("after: not a valid cursor")
		}
		lo = i + 1
		hi = min(lo+per, len(list))
	case c.q.Get("before") != "":
		i := index(c.q.Get("before"))
		if i == -2 {
			return c.invalid("before: not a valid cursor")
		}
		hi = i
		lo = max(hi-per, 0)
	default:
		hi = min(per, len(list))
	}
	var links []string
	link := func(param string, n int, rel string) {
		q := c.r.URL.Query()
		q.Del("after")
		q.Del("before")
		q.Set("per_page", strconv.Itoa(per))
		q.Set(param, dependabotCursor(n))
		u := strings.TrimSuffix(c.s.URL, "/") + c.r.URL.EscapedPath() + "?" + q.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u, rel))
	}
	if lo > 0 && lo < len(list) {
		link("before", list[lo].Number, "prev")
	}
	if hi < len(list) && hi > 0 {
		link("after", list[hi-1].Number, "next")
	}
	if len(links) > 0 {
		c.extra.Set("Link", strings.Join(links, ", "))
	}
	out := []any{}
	for _, a := range list[lo:hi] {
		out = append(out, c.s.dependabotAlertJSON(r, a))
	}
	return http.StatusOK, out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
