// Command trimspec extracts the operations the GitHub emulator supports from
// GitHub's published OpenAPI description (octokit's api.github.com.json) and
// writes a compact, trimmed copy that the emulator embeds.
//
// Usage:
//
//	go run ./cmd/trimspec -in /path/to/api.github.com.json -out testdata/openapi.json
//
// Only the listed operations are kept, together with every component they
// reference (transitively). Documentation noise (description, summary,
// examples, x-github...) is removed. The method and path template of every
// other operation GitHub documents is kept in "x-sim-other-operations",
// so the emulator can tell "not emulated" apart from "does not exist".
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
)

// operations the emulator supports, as "METHOD /path/template".
var operations = []string{
	"POST /app/installations/{installation_id}/access_tokens",
	"GET /app",
	"GET /repos/{owner}/{repo}",
	"GET /repos/{owner}/{repo}/contents/{path}",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}",
	"GET /repos/{owner}/{repo}/collaborators/{username}/permission",
	"POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
	"GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
	"GET /repos/{owner}/{repo}/issues/{issue_number}",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"GET /repos/{owner}/{repo}/issues/comments/{comment_id}",
	"PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
	"POST /repos/{owner}/{repo}/check-runs",
	"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
	"GET /repos/{owner}/{repo}/check-runs/{check_run_id}",
	"GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
	"POST /repos/{owner}/{repo}/statuses/{sha}",
	"GET /repos/{owner}/{repo}/commits/{ref}/status",
	"POST /repos/{owner}/{repo}/deployments",
	"GET /repos/{owner}/{repo}/deployments",
	"GET /repos/{owner}/{repo}/deployments/{deployment_id}",
	"POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
	"GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
	"POST /repos/{owner}/{repo}/git/refs",
	"GET /repos/{owner}/{repo}/git/ref/{ref}",
	"GET /repos/{owner}/{repo}/git/matching-refs/{ref}",
	"GET /repos/{owner}/{repo}/commits/{ref}",
	"GET /repos/{owner}/{repo}/branches/{branch}",
	"GET /repos/{owner}/{repo}/installation",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
	"GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls",
	"GET /repos/{owner}/{repo}/compare/{basehead}",
	"GET /repos/{owner}/{repo}/code-scanning/alerts",
	"GET /repos/{owner}/{repo}/secret-scanning/alerts",
	"GET /repos/{owner}/{repo}/dependabot/alerts",
	"GET /repos/{owner}/{repo}/environments/{environment_name}/variables",
	"GET /repos/{owner}/{repo}/environments/{environment_name}/secrets",
	"GET /repos/{owner}/{repo}/releases",
	"GET /repos/{owner}/{repo}/releases/latest",
	"GET /repos/{owner}/{repo}/releases/tags/{tag}",
	"GET /repos/{owner}/{repo}/releases/{release_id}",
	"PATCH /repos/{owner}/{repo}/releases/{release_id}",
	"GET /repos/{owner}/{repo}/releases/{release_id}/assets",
	"GET /repos/{owner}/{repo}/actions/workflows",
	"GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}",
	"POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
	"GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
	"GET /repos/{owner}/{repo}/actions/runs",
	"GET /repos/{owner}/{repo}/actions/runs/{run_id}",
	"POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule",
	"POST /app-manifests/{code}/conversions",
	"GET /user",
	"GET /user/installations",
	"GET /user/installations/{installation_id}/repositories",
}

// webhookSchemas are component schemas of webhook payloads the emulator
// sends; they are kept (with what they reference) so tests can validate the
// emitted payloads against GitHub's own description of them.
var webhookSchemas = []string{
	"webhook-status",
	"webhook-push",
	"webhook-check-suite-completed",
	"webhook-release-created",
	"webhook-release-published",
	"webhook-release-prereleased",
	"webhook-release-released",
	"webhook-release-edited",
	"webhook-pull-request-synchronize",
	"webhook-pull-request-opened",
	"webhook-issue-comment-created",
	"webhook-issue-comment-edited",
	"webhook-check-run-created",
	"webhook-check-run-completed",
	"webhook-check-run-requested-action",
	"webhook-deployment-created",
	"webhook-deployment-status-created",
	"webhook-workflow-run-requested",
	"webhook-workflow-run-in-progress",
	"webhook-workflow-run-completed",
	"webhook-deployment-protection-rule-requested",
}

// nameMaps are keys whose object values map names (not keywords) to values.
var nameMaps = map[string]bool{
	"properties": true, "patternProperties": true, "paths": true, "schemas": true,
	"responses": true, "content": true, "headers": true, "mapping": true,
	"components": true, "parameters": true, "requestBodies": true, "securitySchemes": true,
}

var noise = map[string]bool{
	"description": true, "summary": true, "examples": true, "example": true,
	"externalDocs": true, "tags": true, "title": true, "discriminator": false,
}

func strip(v any, parentKey string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		isNames := nameMaps[parentKey]
		for k, val := range x {
			if !isNames && (noise[k] || strings.HasPrefix(k, "x-github")) {
				continue
			}
			out[k] = strip(val, k)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = strip(e, "")
		}
		return out
	}
	return v
}

func collectRefs(v any, refs map[string]bool, root map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "$ref" {
				if !refs[s] {
					refs[s] = true
					collectRefs(lookup(root, s), refs, root)
				}
				continue
			}
			collectRefs(val, refs, root)
		}
	case []any:
		for _, e := range x {
			collectRefs(e, refs, root)
		}
	}
}

func lookup(root map[string]any, ref string) any {
	parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	var cur any = root
	for _, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			log.Fatalf("bad ref %s", ref)
		}
		cur = m[p]
	}
	if cur == nil {
		log.Fatalf("dangling ref %s", ref)
	}
	return cur
}

func main() {
	in := flag.String("in", "/work/shared/github/openapi/api.github.com.json", "GitHub OpenAPI description")
	out := flag.String("out", "testdata/openapi.json", "output file")
	flag.Parse()

	raw, err := os.ReadFile(*in)
	if err != nil {
		log.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		log.Fatal(err)
	}
	paths := spec["paths"].(map[string]any)
	want := map[string]bool{}
	for _, op := range operations {
		want[op] = true
	}
	newPaths := map[string]any{}
	var others []string
	for p, item := range paths {
		for m, op := range item.(map[string]any) {
			if m == "parameters" {
				continue
			}
			key := strings.ToUpper(m) + " " + p
			if !want[key] {
				others = append(others, key)
				continue
			}
			delete(want, key)
			pi, _ := newPaths[p].(map[string]any)
			if pi == nil {
				pi = map[string]any{}
				if params, ok := item.(map[string]any)["parameters"]; ok {
					pi["parameters"] = params
				}
				newPaths[p] = pi
			}
			pi[m] = op
		}
	}
	if len(want) > 0 {
		log.Fatalf("operations not found in the description: %v", want)
	}
	refs := map[string]bool{}
	collectRefs(newPaths, refs, spec)
	for _, name := range webhookSchemas {
		ref := "#/components/schemas/" + name
		lookup(spec, ref)
		refs[ref] = true
		collectRefs(lookup(spec, ref), refs, spec)
	}
	comps := map[string]any{}
	for ref := range refs {
		parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
		if len(parts) != 2 {
			log.Fatalf("unsupported ref %s", ref)
		}
		sec, _ := comps[parts[0]].(map[string]any)
		if sec == nil {
			sec = map[string]any{}
			comps[parts[0]] = sec
		}
		sec[parts[1]] = lookup(spec, ref)
	}
	sort.Strings(others)
	trimmed := map[string]any{
		"openapi":                spec["openapi"],
		"info":                   map[string]any{"title": "GitHub v3 REST API (trimmed for githubsim)", "version": spec["info"].(map[string]any)["version"], "license": "MIT (octokit/rest-api-description)"},
		"paths":                  newPaths,
		"components":             comps,
		"x-sim-other-operations": others,
	}
	res := strip(trimmed, "").(map[string]any)
	res["info"] = trimmed["info"]
	b, err := json.Marshal(res)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s: %d operations, %d components, %d bytes\n", *out, len(operations), len(refs), len(b))
}
