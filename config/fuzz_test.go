package config

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"
)

// planted replaces values in FuzzParseConfig's second parse.
const (
	plantedString = "SECRET-PLANTED"
	plantedNumber = "987654321"
)

// FuzzParseConfig: any file parses without panicking and within the work
// budget; problems are bounded, clean lines; the same file with every value
// replaced by a planted one yields problems that never contain it; a file
// without problems is a usable config. Seeds: testdata/fuzz/FuzzParseConfig
// (the example configs, the merge-key bomb and every crasher found).
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"environments: &a { <<: *a }\n",
		"remote: acme/vault\npath: secrets.yml\n",
		"environments:\n  staging:\n    executor: { webhook: { url: https://d.example.com/h } }\n    aliases: [stage]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data)
		if planted, ok := plantValues(data); ok {
			for _, p := range checkParse(t, planted) {
				if strings.Contains(p.String(), plantedString) || strings.Contains(p.String(), plantedNumber) {
					t.Fatalf("problem quotes a value: %s\nfile:\n%s", p, planted)
				}
			}
		}
	})
}

// checkParse parses data once through ParseContext and once through the
// decoder (to read its counters) and checks the invariants.
func checkParse(t *testing.T, data []byte) []Problem {
	t.Helper()
	cfg, err := ParseContext(context.Background(), data)
	if len(data) > MaxFileSize {
		return nil
	}
	d := &decoder{}
	dcfg := d.parseDocument(context.Background(), data)
	if d.visited > 2*d.literal+1 {
		t.Fatalf("the expansion check visited %d nodes of a %d-node file", d.visited, d.literal)
	}
	if d.walked > 4*(d.literal+maxAliasNodes) {
		t.Fatalf("the walk read %d entries of a %d-node file (budget %d)", d.walked, d.literal, maxAliasNodes)
	}
	if (err == nil) != (len(d.problems) == 0) {
		t.Fatalf("ParseContext = %v, decoder found %v", err, d.problems)
	}
	for _, p := range d.problems {
		s := p.String()
		if len(s) > 1000 || strings.ContainsFunc(s, unicode.IsControl) || p.Line < 0 || p.Column < 0 {
			t.Fatalf("problem %q", s)
		}
	}
	if err != nil {
		return d.problems
	}
	if cfg == nil || dcfg == nil || len(cfg.Environments) == 0 {
		t.Fatalf("valid file without environments: %+v", cfg)
	}
	if cfg.DefaultEnvironment != "" && cfg.Environments[cfg.DefaultEnvironment] == nil {
		t.Fatalf("default environment %q is not defined", cfg.DefaultEnvironment)
	}
	for name, env := range cfg.Environments {
		if !envNameRE.MatchString(name) || env.Name != name || env.Executor.Kind() == "" || !env.Permission.AtLeast(PermissionRead) {
			t.Fatalf("environment %q = %+v", name, env)
		}
		for _, r := range env.Requires {
			if cfg.Environments[r] == nil || r == name {
				t.Fatalf("environment %q requires %q", name, r)
			}
		}
		if c := env.Executor.Command; c != nil && len(c.Argv) == 0 {
			t.Fatalf("command executor without argv in %q", name)
		}
	}
	return nil
}

// plantValues replaces every value scalar (not keys, not anchored nodes,
// which aliases may use as keys) with a planted string or number.
func plantValues(data []byte) ([]byte, bool) {
	var doc yaml.Node
	if len(data) > MaxFileSize || yaml.Unmarshal(data, &doc) != nil {
		return nil, false
	}
	var plant func(n *yaml.Node, isKey bool)
	plant = func(n *yaml.Node, isKey bool) {
		if n == nil || n.Anchor != "" && n.Kind == yaml.ScalarNode {
			return
		}
		switch n.Kind {
		case yaml.ScalarNode:
			switch tag := n.ShortTag(); {
			case isKey || tag == "!!null" || tag == "!!bool" || tag == "!!merge":
			case tag == "!!int" || tag == "!!float":
				n.Tag, n.Value, n.Style = "", plantedNumber, 0
			default: // strings, timestamps, binaries, custom tags
				n.Tag, n.Value, n.Style = "", plantedString, yaml.DoubleQuotedStyle
			}
		case yaml.MappingNode:
			for i, c := range n.Content {
				plant(c, i%2 == 0)
			}
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				plant(c, false)
			}
		}
	}
	plant(&doc, false)
	out, err := yaml.Marshal(&doc)
	return out, err == nil
}
