package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

const noEnvironments = "no environments defined: add an `environments:` map, see README"

// Parse is ParseContext without a deadline (for `deploybot validate`).
func Parse(data []byte) (*Config, error) { return ParseContext(context.Background(), data) }

// ParseContext parses and validates a .github/deploy.yml. On invalid input
// the error is an *Error listing every problem, sorted by line. The work is
// bounded: files over MaxFileSize and files whose anchors and aliases
// expand past maxAliasNodes are refused before they are walked; an ended
// ctx returns its error.
func ParseContext(ctx context.Context, data []byte) (*Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, TooLarge()
	}
	d := &decoder{}
	cfg := d.parseDocument(ctx, data)
	if d.ctxErr != nil {
		return nil, fmt.Errorf("parse %s: %w", Path, d.ctxErr)
	}
	if len(d.problems) > 0 {
		return nil, &Error{Problems: sortProblems(d.problems)}
	}
	return cfg, nil
}

// envRefs keeps the nodes cross-environment validation blames.
type envRefs struct {
	name     *yaml.Node
	aliases  []*yaml.Node
	requires []*yaml.Node
	reqNode  *yaml.Node
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	// yaml.v3 names anchors, not values, in its errors; bound them anyway.
	msg = clean(strings.TrimPrefix(msg, "yaml: "), 200)
	d.problems = append(d.problems, Problem{Line: line, Message: "invalid YAML: " + msg})
}

func (d *decoder) parseDocument(ctx context.Context, data []byte) *Config {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.problems = append(d.problems, Problem{Line: 1, Column: 1, Message: noEnvironments})
		} else {
			d.syntaxError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.addf(&extra, "", "only one YAML document is allowed (found a second one after ---)")
	} else if !errors.Is(err, io.EOF) {
		d.syntaxError(err)
	}
	var root *yaml.Node
	if len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if isNull(root) {
		d.problems = append(d.problems, Problem{Line: max(doc.Line, 1), Column: 1, Message: noEnvironments})
		return nil
	}
	if !d.checkExpansion(ctx, root) || d.remoteReference(root) {
		return nil
	}
	top, ok := d.object(root, "", "root")
	if !ok {
		return nil
	}
	cfg := &Config{
		AllowForks:   d.boolean(top, "allow_forks"),
		Environments: map[string]*Environment{},
		Notify:       d.parseNotify(top.get("notify"), "notify"),
	}
	refs := map[string]*envRefs{}
	envs, ok := d.entries(top.get("environments"), "environments")
	if ok && len(envs) == 0 {
		d.addf(top.at("environments"), "", noEnvironments)
	}
	folded := map[string]string{}
	for _, e := range envs {
		path := join("environments", e.name)
		if !envNameRE.MatchString(e.name) {
			d.addf(e.key, path, "invalid environment name %s (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters)", keyText(e.name))
		}
		if other, dup := folded[strings.ToLower(e.name)]; dup {
			d.addf(e.key, path, "environment %s differs from %s only in case; names are case-insensitive", keyText(e.name), keyText(other))
			continue
		}
		folded[strings.ToLower(e.name)] = e.name
		r := &envRefs{name: e.key}
		if isNull(e.val) {
			d.addf(e.key, path, "environment %s is empty: it needs at least an executor (one of webhook, actions, command, external)", keyText(e.name))
			continue
		}
		env := d.parseEnvironment(e.name, e.val, path, r)
		if env != nil {
			cfg.Environments[e.name] = env
			refs[e.name] = r
		}
	}
	for _, env := range cfg.Environments {
		if env.Notify == nil {
			env.Notify = cfg.Notify
		}
	}
	d.validate(cfg, top, refs)
	return cfg
}

func (d *decoder) parseEnvironment(name string, n *yaml.Node, path string, r *envRefs) *Environment {
	o, ok := d.object(n, path, "environment")
	if !ok {
		return nil
	}
	env := &Environment{
		Name:         name,
		URL:          d.url(o, "url", false),
		Production:   d.boolean(o, "production"),
		OnRelease:    d.boolean(o, "on_release"),
		OnPrerelease: d.boolean(o, "on_prerelease"),
	}
	for i, a := range d.items(o, "aliases") {
		p := index(o.sub("aliases"), i)
		s, ok := d.scalar(a, p)
		if !ok {
			continue
		}
		if !envNameRE.MatchString(s) {
			d.addf(a, p, "invalid alias: expected a name of letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters")
			continue
		}
		env.Aliases = append(env.Aliases, s)
		r.aliases = append(r.aliases, a)
	}
	env.Permission = PermissionWrite
	if env.Production {
		env.Permission = PermissionMaintain
	}
	if pn := o.get("permission"); pn != nil {
		if s, ok := d.scalar(pn, o.sub("permission")); ok {
			p, err := ParsePermission(s)
			switch {
			case err != nil:
				d.addf(pn, o.sub("permission"), "%v", err)
			case p == PermissionNone:
				d.addf(pn, o.sub("permission"), "permission none would let anyone deploy (use read, triage, write, maintain or admin)")
			default:
				env.Permission = p
			}
		}
	}
	r.reqNode = o.at("requires")
	for i, q := range d.items(o, "requires") {
		if s, ok := d.scalar(q, index(o.sub("requires"), i)); ok {
			env.Requires = append(env.Requires, s)
			r.requires = append(r.requires, q)
		}
	}

	if !o.has("executor") {
		d.addf(r.name, path, "no executor: set exactly one of webhook, actions, command, external under %s.executor", path)
	} else if ex := d.parseExecutor(o.get("executor"), o.sub("executor"), true); ex != nil {
		env.Executor = *ex
	}
	env.Rollback = d.parseRollback(o.get("rollback"), o.sub("rollback"))
	env.Strategy = d.parseStrategy(o.get("strategy"), o.sub("strategy"), env.Rollback.Window)
	env.Gates = d.parseGates(o.get("gates"), o.sub("gates"))
	env.Verify = d.parseVerify(o.get("verify"), o.sub("verify"))
	env.Monitor = d.parseMonitor(o.get("monitor"), o.sub("monitor"))
	env.Notify = d.parseNotify(o.get("notify"), o.sub("notify"))
	return env
}

var executorKinds = shapes["executor"]

func (d *decoder) parseExecutor(n *yaml.Node, path string, allowExternal bool) *Executor {
	o, ok := d.object(n, path, "executor")
	if !ok {
		return nil
	}
	var set []string
	for _, k := range executorKinds {
		if o.has(k) {
			set = append(set, k)
		}
	}
	switch {
	case len(set) == 0 && o.unknown > 0:
		return nil
	case len(set) == 0:
		d.addf(o.node, path, "no executor: set exactly one of %s", strings.Join(executorKinds, ", "))
		return nil
	case len(set) > 1:
		d.addf(o.m[set[1]].key, path, "more than one executor (%s): set exactly one", strings.Join(set, ", "))
	}
	ex := &Executor{}
	tenMin := D(600e9)
	switch set[0] {
	case "webhook":
		w, _ := d.object(o.get("webhook"), o.sub("webhook"), "webhook")
		ex.Webhook = &WebhookExecutor{URL: d.url(w, "url", true), Timeout: d.duration(w, "timeout", tenMin, true)}
		if ex.Webhook.Timeout.Duration > MaxExecutorTimeout {
			d.addf(w.get("timeout"), w.sub("timeout"), "at most %gh: a longer deploy must be split into strategy steps", MaxExecutorTimeout.Hours())
			ex.Webhook.Timeout = D(MaxExecutorTimeout)
		}
	case "actions":
		a, _ := d.object(o.get("actions"), o.sub("actions"), "actions")
		ex.Actions = &ActionsExecutor{Workflow: d.required(a, "workflow", "workflow (a file name in .github/workflows, e.g. deploy.yml)"), Ref: d.str(a, "ref"),
			Timeout: d.duration(a, "timeout", D(30*60e9), true)}
		ex.Actions.Workflow = d.checkWorkflow(a, ex.Actions.Workflow)
		ex.Actions.Inputs = d.parseInputs(a)
	case "command":
		ex.Command = d.parseCommand(o.get("command"), o.sub("command"))
	case "external":
		if !allowExternal {
			d.addf(o.m["external"].key, path, "external cannot be used here: choose webhook, actions or command")
		}
		x, _ := d.object(o.get("external"), o.sub("external"), "external")
		ex.External = &ExternalExecutor{Timeout: d.duration(x, "timeout", D(3600e9), true)}
	}
	return ex
}

func (d *decoder) checkWorkflow(a object, wf string) string {
	if wf == "" {
		return wf
	}
	wf = strings.TrimPrefix(wf, ".github/workflows/")
	if _, err := strconv.ParseInt(wf, 10, 64); err == nil {
		return wf
	}
	if strings.Contains(wf, "/") || !(strings.HasSuffix(wf, ".yml") || strings.HasSuffix(wf, ".yaml")) {
		d.addf(a.at("workflow"), a.sub("workflow"), "invalid workflow: expected a file name in .github/workflows (deploy.yml) or a workflow ID")
	}
	return wf
}

var reservedInputs = []string{"deployment_id", "sha", "environment", "step"}

func (d *decoder) parseInputs(a object) map[string]string {
	es, _ := d.entries(a.get("inputs"), a.sub("inputs"))
	if len(es) == 0 {
		return nil
	}
	inputs := map[string]string{}
	for _, e := range es {
		p := join(a.sub("inputs"), e.name)
		for _, r := range reservedInputs {
			if e.name == r {
				d.addf(e.key, p, "input %s is set by deploybot (reserved: %s)", keyText(e.name), strings.Join(reservedInputs, ", "))
			}
		}
		if isNull(e.val) {
			inputs[e.name] = ""
		} else if s, ok := d.scalar(resolve(e.val), p); ok {
			inputs[e.name] = s
		}
	}
	return inputs
}

func (d *decoder) parseCommand(n *yaml.Node, path string) *CommandExecutor {
	const shellMsg = "argv must be a list; deploybot never runs a shell string"
	if n != nil && n.Kind == yaml.ScalarNode {
		d.addf(n, path, "%s (use command: { argv: [\"./deploy.sh\", \"--prod\"] })", shellMsg)
		return &CommandExecutor{}
	}
	o, ok := d.object(n, path, "command")
	c := &CommandExecutor{Timeout: d.duration(o, "timeout", D(600e9), true)}
	if !ok {
		return c
	}
	if a := o.get("argv"); a != nil && a.Kind == yaml.ScalarNode {
		d.addf(a, o.sub("argv"), "%s", shellMsg)
		return c
	}
	c.Argv = d.strings(o, "argv")
	if len(c.Argv) == 0 && o.get("argv") == nil {
		d.addf(o.at("argv"), o.sub("argv"), "argv is required: the program and its arguments as a list")
	}
	return c
}

func (d *decoder) parseRollback(n *yaml.Node, path string) Rollback {
	o, _ := d.object(n, path, "rollback")
	return Rollback{
		Window:    d.duration(o, "window", D(24*3600e9), true),
		Automatic: d.boolean(o, "automatic"),
	}
}

func (d *decoder) parseMonitor(n *yaml.Node, path string) Monitor {
	o, _ := d.object(n, path, "monitor")
	m := Monitor{
		Duration:  d.duration(o, "duration", Duration{}, false),
		Interval:  d.duration(o, "interval", D(60e9), true),
		OnFailure: d.enum(o, "on_failure", "notify", "notify", "rollback"),
	}
	if in := o.get("issues"); in != nil {
		io, _ := d.object(in, o.sub("issues"), "monitor_issues")
		m.IssueLabels = d.strings(io, "labels")
	}
	if m.Enabled() && m.Interval.Duration > m.Duration.Duration {
		d.addf(o.at("interval"), o.sub("interval"), "interval must not be longer than monitor.duration")
	}
	return m
}
