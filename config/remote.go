package config

import "gopkg.in/yaml.v3"

// remoteReferenceMessage answers a file written as a go-githubapp remote
// reference (`remote: other/repo`, `ref:`, `path:`): config comes from this
// repository's default branch and nowhere else (DESIGN.md §11).
const remoteReferenceMessage = "remote references are not supported: put the config in this repository's " + Path + " on the default branch"

// remoteReference reports (once) a top-level `remote:` or `ref:` key and
// returns true; the rest of such a file is not read, so nothing it names
// is quoted back.
func (d *decoder) remoteReference(root *yaml.Node) bool {
	root = resolve(root)
	if root == nil || root.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := resolve(root.Content[i])
		if k != nil && k.Kind == yaml.ScalarNode && (k.Value == "remote" || k.Value == "ref") {
			d.addf(k, k.Value, "%s", remoteReferenceMessage)
			return true
		}
	}
	return false
}
