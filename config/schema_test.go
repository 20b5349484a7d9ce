package config

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type schemaDoc = map[string]any

func loadSchema(t *testing.T) schemaDoc {
	t.Helper()
	var s schemaDoc
	if err := json.Unmarshal(JSONSchema, &s); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", s["$schema"])
	}
	return s
}

// defFor returns the schema of a shape: the document itself for "root".
func defFor(root schemaDoc, shape string) schemaDoc {
	if shape == "root" {
		return root
	}
	d, _ := root["$defs"].(map[string]any)[shape].(map[string]any)
	return d
}

// objectBranch returns the object schema carrying "properties", looking into oneOf/anyOf.
func objectBranch(s schemaDoc) schemaDoc {
	if _, ok := s["properties"]; ok {
		return s
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		branches, _ := s[k].([]any)
		for _, b := range branches {
			if bm, ok := b.(map[string]any); ok {
				if o := objectBranch(bm); o != nil {
					return o
				}
			}
		}
	}
	return nil
}

func deref(root, s schemaDoc) schemaDoc {
	for i := 0; i < 10; i++ {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		if ref == "#" {
			s = root
			continue
		}
		s = defFor(root, strings.TrimPrefix(ref, "#/$defs/"))
	}
	return s
}

// TestSchemaMatchesParser checks that every shape's keys equal the schema's
// properties of the $def with the same name, in both directions.
func TestSchemaMatchesParser(t *testing.T) {
	root := loadSchema(t)
	for shape, keys := range shapes {
		t.Run(shape, func(t *testing.T) {
			def := defFor(root, shape)
			if def == nil {
				t.Fatalf("schema has no $defs/%s", shape)
			}
			obj := objectBranch(def)
			if obj == nil {
				t.Fatalf("$defs/%s has no properties", shape)
			}
			if obj["additionalProperties"] != false {
				t.Errorf("$defs/%s must set additionalProperties: false", shape)
			}
			var schemaKeys []string
			for k := range obj["properties"].(map[string]any) {
				schemaKeys = append(schemaKeys, k)
			}
			sort.Strings(schemaKeys)
			want := slices.Clone(keys)
			sort.Strings(want)
			if !slices.Equal(schemaKeys, want) {
				t.Errorf("$defs/%s properties = %v, parser accepts %v", shape, schemaKeys, want)
			}
		})
	}
	// Every object $def in the schema is a parser shape, and every $ref resolves.
	for name, d := range root["$defs"].(map[string]any) {
		if o := objectBranch(d.(map[string]any)); o != nil {
			if _, ok := shapes[name]; !ok {
				t.Errorf("schema $defs/%s has properties but the parser has no shape %q", name, name)
			}
		}
	}
	for _, ref := range findRefs(root) {
		if ref != "#" && defFor(root, strings.TrimPrefix(ref, "#/$defs/")) == nil {
			t.Errorf("dangling $ref %s", ref)
		}
	}
}

func findRefs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "$ref" {
				out = append(out, s)
			}
			out = append(out, findRefs(c)...)
		}
	case []any:
		for _, c := range x {
			out = append(out, findRefs(c)...)
		}
	}
	return out
}

// TestFullExampleWalksSchema parses testdata/full.yml (which uses every key
// the parser accepts), walks it alongside the schema, and checks that each
// key is described there and that every shape key was exercised.
func TestFullExampleWalksSchema(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data); err != nil {
		t.Fatalf("full.yml: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	root := loadSchema(t)
	seen := map[string]bool{} // "shape.key"
	var walk func(n *yaml.Node, s schemaDoc, shape, path string)
	walk = func(n *yaml.Node, s schemaDoc, shape, path string) {
		if s == nil {
			t.Errorf("%s: no schema", path)
			return
		}
		if ref, ok := s["$ref"].(string); ok && strings.HasPrefix(ref, "#/$defs/") {
			shape = strings.TrimPrefix(ref, "#/$defs/")
		}
		s = deref(root, s)
		switch n.Kind {
		case yaml.MappingNode:
			obj := objectBranch(s)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				if obj != nil {
					props := obj["properties"].(map[string]any)
					ps, ok := props[k].(map[string]any)
					if !ok {
						t.Errorf("%s: key %q is accepted by the parser but not in the schema", path, k)
						continue
					}
					seen[shape+"."+k] = true
					walk(v, ps, "", path+"."+k)
				} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
					walk(v, ap, "", path+"."+k)
				}
			}
		case yaml.SequenceNode:
			items, _ := s["items"].(map[string]any)
			if items == nil {
				if br := arrayBranch(s); br != nil {
					items, _ = br["items"].(map[string]any)
				}
			}
			for _, c := range n.Content {
				if c.Kind == yaml.MappingNode && items != nil {
					if br := refBranch(items); br != nil {
						items = br
					}
				}
				walk(c, items, "", path)
			}
		}
	}
	walk(doc.Content[0], root, "root", "")
	for shape, keys := range shapes {
		for _, k := range keys {
			if !seen[shape+"."+k] {
				t.Errorf("testdata/full.yml does not use %s.%s", shape, k)
			}
		}
	}
}

// arrayBranch finds the array alternative of a oneOf.
func arrayBranch(s schemaDoc) schemaDoc {
	branches, _ := s["oneOf"].([]any)
	for _, b := range branches {
		if bm, ok := b.(map[string]any); ok && bm["type"] == "array" {
			return bm
		}
	}
	return nil
}

// refBranch picks the $ref alternative of a oneOf (the object form of list items).
func refBranch(s schemaDoc) schemaDoc {
	branches, _ := s["oneOf"].([]any)
	for _, b := range branches {
		if bm, ok := b.(map[string]any); ok && bm["$ref"] != nil {
			return bm
		}
	}
	return nil
}
