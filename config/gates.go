package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// Gates configures the optional pre-deploy gates of an environment. A nil
// gate is not configured. Permission and lock gates always run, and so does
// checks (with its defaults when Checks is nil) unless ChecksOff.
type Gates struct {
	Checks *ChecksGate
	// ChecksOff is `checks: false`: the one way to stop gating on CI.
	ChecksOff    bool
	Reviews      *ReviewsGate
	Order        []string // from Environment.Requires (canonical names)
	Security     *SeverityGate
	Dependencies *SeverityGate
	Migrations   *MigrationsGate
	Variables    []string
	Flags        *FlagsGate
	Window       *WindowGate
	Artifacts    *ArtifactsGate
	Release      *ReleaseGate
}

// GateNames lists the gates that can appear under `gates:`.
var GateNames = []string{"checks", "reviews", "security", "dependencies", "migrations",
	"variables", "flags", "window", "artifacts", "release"}

// ChecksGate waits for the commit's check runs and statuses.
type ChecksGate struct {
	Wait   Duration // how long pending checks are waited for; default 30m
	Ignore []string // check names to ignore
}

// ReviewsGate requires the deployed SHA to be the head of an approved pull request.
type ReviewsGate struct {
	Approvals int // default 1
	// StaleApprovals is `dismiss_stale: false`: approvals given on any
	// commit of the pull request count. By default (and in the zero value)
	// only approvals given on the commit being deployed do.
	StaleApprovals bool
}

// SeverityGate blocks on open alerts at or above BlockOn.
type SeverityGate struct {
	BlockOn string // low|medium|high|critical (normalized); default high
	// IfDisabled is what the gate answers when the feature is off for the
	// repository (GitHub answers 403/404): "neutral" (default) or "block".
	IfDisabled string
}

// Severities in increasing order. Dependabot's "moderate" is normalized to "medium".
var Severities = []string{"low", "medium", "high", "critical"}

// SeverityRank ranks a severity name (case-insensitive; "moderate" =
// "medium"): low 1 … critical 4, unknown 0.
func SeverityRank(s string) int {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "moderate" {
		s = "medium"
	}
	for i, v := range Severities {
		if v == s {
			return i + 1
		}
	}
	return 0
}

// MigrationsGate guards deploys that change database migrations.
type MigrationsGate struct {
	Paths         []string  // path.Match globs; "**" matches across directories
	RequireChecks []string  // check names that must pass when migrations changed
	Backup        *Executor // hook run before deploying when migrations changed
}

// FlagsGate checks a JSON feature-flag endpoint.
type FlagsGate struct {
	URL    string
	Expect map[string]any
}

// ArtifactsGate requires release assets.
type ArtifactsGate struct {
	Assets []Asset
}

// Asset is a required release asset. Name may be a path.Match glob.
type Asset struct {
	Name     string
	MaxSize  string // as written, e.g. "200MB"; empty: no limit
	MaxBytes int64  // MaxSize in bytes; 0: no limit
}

// ReleaseGate is the release policy for the release trigger.
type ReleaseGate struct {
	// TagPattern is a Go regular expression that must match the whole tag;
	// empty matches any tag.
	TagPattern string
	re         *regexp.Regexp
}

// MatchTag reports whether tag matches TagPattern (the whole tag).
func (r *ReleaseGate) MatchTag(tag string) bool {
	if r == nil || r.TagPattern == "" {
		return true
	}
	re := r.re
	if re == nil {
		var err error
		if re, err = compileTagPattern(r.TagPattern); err != nil {
			return false
		}
	}
	return re.MatchString(tag)
}

func compileTagPattern(p string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(p); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + p + `)$`)
}

// Verify is post-deploy verification.
type Verify struct {
	Timeout Duration // default 5m; the default timeout of each health check
	Health  []HealthCheck
	Smoke   []SmokeCheck
	Metrics *Metrics
}

// HealthCheck polls URL until it answers Status (and Contains) or Timeout passes.
type HealthCheck struct {
	URL      string
	Status   int // default 200
	Contains string
	Timeout  Duration // default Verify.Timeout
	Interval Duration // retry spacing; default 10s
}

// SmokeCheck is one HTTP request that must answer Status (and Contains).
type SmokeCheck struct {
	Name     string // shown in the record; default: method and URL path
	URL      string
	Method   string            // default GET
	Headers  map[string]string // sent with the request
	Body     string            // sent with the request
	Status   int               // default 200
	Contains string
	// JSON maps a path in the response body (gjson syntax: data.items.0.id)
	// to the value expected there (a string, number, boolean or null).
	JSON map[string]any
	// Command runs argv instead of a request (exit 0 passes); only where
	// the server allows commands.
	Command *CommandExecutor
	// Workflow dispatches an Actions workflow instead (its run's
	// conclusion decides; woken by workflow_run, never polled).
	Workflow *ActionsExecutor
}

// Metrics is the metric analysis after a deploy (Argo-style): Count
// measurements every Interval after InitialDelay.
type Metrics struct {
	Prometheus   string   // base URL of the Prometheus HTTP API ("" when every query is web)
	Interval     Duration // default 30s
	Count        int      // measurements; default 3
	InitialDelay Duration // before the first measurement; default 0
	FailureLimit int      // the analysis fails at a query's FailureLimit-th breach; default 1
	// ConsecutiveErrorLimit query errors in a row fail the analysis; default 4.
	ConsecutiveErrorLimit int
	OnNoData              string // fail (default) | pass | pause
	Queries               []MetricQuery
}

// MetricQuery is a measurement and its condition: fixed Max/Min and/or a
// Baseline comparison with the version live before.
type MetricQuery struct {
	Name, Query string
	Web         *WebMetric // instead of Query: any JSON endpoint
	Max, Min    *float64
	Baseline    *Baseline
	DryRun      bool // measured and recorded, never fails
}

// WebMetric reads a number from a JSON endpoint at a gjson path.
type WebMetric struct {
	URL, JSONPath string
}

// Baseline allows baseline × (1 + MaxIncrease) + Tolerance, the baseline
// being the query's value when the deployment began executing.
type Baseline struct {
	MaxIncrease float64 // a fraction: 20% → 0.2
	Tolerance   float64
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

var sizeRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$`)

// ParseSize parses sizes like "200MB", "1.5GiB" or "512" (bytes). KB, MB, GB,
// TB are powers of 1000; KiB, MiB, GiB, TiB powers of 1024.
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, errors.New("invalid size: expected e.g. 500KB, 200MB, 1GiB")
	}
	mult, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, errors.New("invalid size: unknown unit (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f*float64(mult) > 1<<62 {
		return 0, errors.New("invalid size: too large")
	}
	return int64(f * float64(mult)), nil
}
