package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

func TestCompare(t *testing.T) {
	f := newFixture(t)
	r := f.repo
	base := r.Commit("main", map[string]string{"app.go": "a\nb\nc\n", "old.txt": "same\n", "gone.txt": "x\ny\n"}, "base")
	r.Commit("feature", map[string]string{"app.go": "a\nB\nc\nd\n", "new.txt": "hello\n"}, "change app")
	// A rename: the content moves to a new path.
	f.sim.mu.Lock()
	tree := map[string]string{}
	for k, v := range f.sim.commits[r.refs["refs/heads/feature"]].Tree {
		tree[k] = v
	}
	tree["renamed.txt"] = tree["old.txt"]
	delete(tree, "old.txt")
	delete(tree, "gone.txt")
	f.sim.mu.Unlock()
	feature := r.commitTree("feature", tree, "rename and remove")
	mainHead := r.Commit("main", map[string]string{"main-only.txt": "m\n"}, "main moves on")
	r.Tag("v1", base)

	tests := []struct {
		name, base, head        string
		status                  string
		ahead, behind, nCommits int
		files                   map[string]string // filename -> status
	}{
		{"diverged", "main", "feature", "diverged", 2, 1, 2, map[string]string{
			"app.go": "modified", "new.txt": "added", "renamed.txt": "renamed", "gone.txt": "removed"}},
		{"ahead", "v1", "feature", "ahead", 2, 0, 2, map[string]string{
			"app.go": "modified", "new.txt": "added", "renamed.txt": "renamed", "gone.txt": "removed"}},
		{"behind", "feature", "v1", "behind", 0, 2, 0, map[string]string{}},
		{"identical", mainHead, "main", "identical", 0, 0, 0, map[string]string{}},
		{"by sha", base, feature[:7], "ahead", 2, 0, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmp, _, err := f.client.Repositories.CompareCommits(f.ctx, "acme", "shop", tt.base, tt.head, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cmp.GetStatus() != tt.status || cmp.GetAheadBy() != tt.ahead || cmp.GetBehindBy() != tt.behind ||
				cmp.GetTotalCommits() != tt.ahead || len(cmp.Commits) != tt.nCommits {
				t.Fatalf("status %s ahead %d behind %d total %d commits %d", cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetBehindBy(), cmp.GetTotalCommits(), len(cmp.Commits))
			}
			if tt.files == nil {
				return
			}
			got := map[string]string{}
			for _, fl := range cmp.Files {
				got[fl.GetFilename()] = fl.GetStatus()
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.files) {
				t.Fatalf("files %v, want %v", got, tt.files)
			}
		})
	}
	t.Run("details", func(t *testing.T) {
		cmp, _, err := f.client.Repositories.CompareCommits(f.ctx, "acme", "shop", "main", "feature", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cmp.GetMergeBaseCommit().GetSHA() != base || cmp.GetBaseCommit().GetSHA() != mainHead ||
			cmp.Commits[0].GetCommit().GetMessage() != "change app" || cmp.Commits[1].GetSHA() != feature {
			t.Fatalf("merge base %s base %s commits %s, %s", cmp.GetMergeBaseCommit().GetSHA(), cmp.GetBaseCommit().GetSHA(), cmp.Commits[0].GetCommit().GetMessage(), cmp.Commits[1].GetSHA())
		}
		for _, fl := range cmp.Files {
			want := map[string][3]int{"app.go": {2, 1, 3}, "new.txt": {1, 0, 1}, "renamed.txt": {0, 0, 0}, "gone.txt": {0, 2, 2}}[fl.GetFilename()]
			if [3]int{fl.GetAdditions(), fl.GetDeletions(), fl.GetChanges()} != want || fl.GetSHA() == "" {
				t.Errorf("%s: +%d -%d %d sha %q, want %v", fl.GetFilename(), fl.GetAdditions(), fl.GetDeletions(), fl.GetChanges(), fl.GetSHA(), want)
			}
			if fl.GetFilename() == "renamed.txt" && fl.GetPreviousFilename() != "old.txt" {
				t.Errorf("previous_filename %q", fl.GetPreviousFilename())
			}
		}
	})
	t.Run("branch with a slash", func(t *testing.T) {
		r.Commit("fix/x", map[string]string{"fix.go": "package fix\n"}, "fix")
		cmp, _, err := f.client.Repositories.CompareCommits(f.ctx, "acme", "shop", "main", "fix/x", nil)
		if err != nil || cmp.GetAheadBy() != 1 || len(cmp.Files) != 1 {
			t.Fatalf("%v %v", cmp, err)
		}
	})
	for _, tt := range []struct{ name, path string }{
		{"unknown head", "/repos/acme/shop/compare/main...nope"},
		{"unknown base", "/repos/acme/shop/compare/nope...main"},
		{"no dots", "/repos/acme/shop/compare/main"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.raw(t, "GET", tt.path, "", nil)
			if resp.StatusCode != 404 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
}

// commitTree commits an exact tree (files absent from tree are removed).
func (r *Repo) commitTree(branch string, tree map[string]string, message string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	ref := "refs/heads/" + branch
	before := r.refs[ref]
	sha := r.commitLocked(branch, tree, message, nil)
	r.s.commits[sha].Tree = tree
	r.refs[ref] = before
	r.updateRefLocked(ref, sha, "octocat")
	return sha
}

func TestComparePagesFiles(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{}
	for i := 0; i < 150; i++ {
		files[fmt.Sprintf("dir/f%03d.txt", i)] = fmt.Sprint(i)
	}
	f.repo.Commit("big", files, "150 files")
	var got []string
	opts := &github.ListOptions{PerPage: 100}
	pages := 0
	for {
		cmp, resp, err := f.client.Repositories.CompareCommits(f.ctx, "acme", "shop", "main", "big", opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if cmp.GetTotalCommits() != 1 {
			t.Fatalf("total_commits %d", cmp.GetTotalCommits())
		}
		for _, fl := range cmp.Files {
			got = append(got, fl.GetFilename())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 2 || len(got) != 150 || !sort.StringsAreSorted(got) {
		t.Fatalf("pages %d files %d", pages, len(got))
	}
	// Unpaginated, GitHub returns up to 300 files at once.
	cmp, resp, err := f.client.Repositories.CompareCommits(f.ctx, "acme", "shop", "main", "big", nil)
	if err != nil || len(cmp.Files) != 150 || resp.NextPage != 0 {
		t.Fatalf("unpaginated: %d files, next %d, %v", len(cmp.Files), resp.NextPage, err)
	}
}

func TestCodeScanningAlerts(t *testing.T) {
	f := newFixture(t)
	r := f.repo
	list := func(opts *github.AlertListOptions) ([]*github.Alert, *github.Response, error) {
		return f.client.CodeScanning.ListAlertsForRepo(f.ctx, "acme", "shop", opts)
	}
	if as, _, err := list(nil); err != nil || len(as) != 0 {
		t.Fatalf("enabled, no alerts: %v %v", as, err)
	}
	r.AddCodeScanningAlert("critical", "go/sql-injection", "Database query built from user-controlled sources")
	n2 := r.AddCodeScanningAlert("medium", "go/log-injection", "Log entries created from user input")
	r.AddCodeScanningAlert("low", "go/unused", "Unused variable")
	r.SetAlertState(CodeScanning, n2, "dismissed")
	tests := []struct {
		name    string
		opts    *github.AlertListOptions
		numbers []int
	}{
		{"all, newest first", nil, []int{3, 2, 1}},
		{"open", &github.AlertListOptions{State: "open"}, []int{3, 1}},
		{"dismissed", &github.AlertListOptions{State: "dismissed"}, []int{2}},
		{"other tool", &github.AlertListOptions{ToolName: "semgrep"}, nil},
		{"page 2", &github.AlertListOptions{ListOptions: github.ListOptions{PerPage: 2, Page: 2}}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, _, err := list(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, a := range as {
				got = append(got, a.GetNumber())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.numbers) {
				t.Fatalf("numbers %v, want %v", got, tt.numbers)
			}
		})
	}
	as, resp, _ := list(&github.AlertListOptions{ListOptions: github.ListOptions{PerPage: 2}})
	if resp.NextPage != 2 || resp.LastPage != 2 {
		t.Fatalf("Link: %q", resp.Header.Get("Link"))
	}
	a := as[1] // number 2, dismissed
	if a.GetRule().GetSecuritySeverityLevel() != "medium" || a.GetRule().GetSeverity() != "warning" || a.GetRule().GetID() != "go/log-injection" ||
		a.GetState() != "dismissed" || a.GetDismissedAt().IsZero() || a.GetTool().GetName() != "CodeQL" ||
		a.GetMostRecentInstance().GetRef() != "refs/heads/main" || !strings.HasSuffix(a.GetHTMLURL(), "/acme/shop/security/code-scanning/2") {
		t.Fatalf("alert %+v", a)
	}
	if as, _, _ := list(&github.AlertListOptions{State: "open"}); as[0].GetRule().GetSeverity() != "note" || as[1].GetRule().GetSeverity() != "error" {
		t.Fatalf("rule severities %s %s", as[0].GetRule().GetSeverity(), as[1].GetRule().GetSeverity())
	}
	featureStates(t, f, CodeScanning, "/repos/acme/shop/code-scanning/alerts", map[string]featureAnswer{
		"disabled":  {404, "no analysis found"},
		"forbidden": {403, "Advanced Security must be enabled for this repository to use code scanning."},
	})
}

type featureAnswer struct {
	status  int
	message string
}

// featureStates checks the answers of a security list in each feature state.
func featureStates(t *testing.T, f *fixture, kind, path string, want map[string]featureAnswer) {
	t.Helper()
	for _, state := range []string{"disabled", "forbidden", "enabled"} {
		t.Run(state, func(t *testing.T) {
			f.repo.SetFeature(kind, state)
			resp, body := f.raw(t, "GET", path, "", nil)
			w, ok := want[state]
			if !ok {
				w = featureAnswer{200, ""}
			}
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			if resp.StatusCode != w.status || (w.message != "" && m["message"] != w.message) {
				t.Fatalf("%s: %d %s, want %d %q", state, resp.StatusCode, body, w.status, w.message)
			}
		})
	}
}

func TestSecretScanningAlerts(t *testing.T) {
	f := newFixture(t)
	r := f.repo
	list := func(opts *github.SecretScanningAlertListOptions) []*github.SecretScanningAlert {
		t.Helper()
		as, _, err := f.client.SecretScanning.ListAlertsForRepo(f.ctx, "acme", "shop", opts)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	if as := list(nil); len(as) != 0 {
		t.Fatalf("no alerts: %v", as)
	}
	r.AddSecretScanningAlert("github_personal_access_token")
	n := r.AddSecretScanningAlert("aws_access_key_id")
	r.AddSecretScanningAlert("stripe_api_key")
	r.SetAlertState(SecretScanning, n, "fixed") // secret scanning only knows resolved
	for _, tt := range []struct {
		name    string
		opts    *github.SecretScanningAlertListOptions
		numbers []int
	}{
		{"all", nil, []int{3, 2, 1}},
		{"open", &github.SecretScanningAlertListOptions{State: "open"}, []int{3, 1}},
		{"resolved", &github.SecretScanningAlertListOptions{State: "resolved"}, []int{2}},
		{"types", &github.SecretScanningAlertListOptions{SecretType: "stripe_api_key,github_personal_access_token"}, []int{3, 1}},
		{"page", &github.SecretScanningAlertListOptions{ListOptions: github.ListOptions{PerPage: 1, Page: 3}}, []int{1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, a := range list(tt.opts) {
				got = append(got, a.GetNumber())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.numbers) {
				t.Fatalf("numbers %v, want %v", got, tt.numbers)
			}
		})
	}
	a := list(&github.SecretScanningAlertListOptions{State: "resolved"})[0]
	if a.GetSecretType() != "aws_access_key_id" || a.GetSecretTypeDisplayName() != "Amazon AWS Access Key ID" ||
		a.GetState() != "resolved" || a.GetResolution() == "" || a.GetCreatedAt().IsZero() || !strings.Contains(a.GetHTMLURL(), "/security/secret-scanning/2") {
		t.Fatalf("alert %+v", a)
	}
	featureStates(t, f, SecretScanning, "/repos/acme/shop/secret-scanning/alerts", map[string]featureAnswer{
		"disabled":  {404, "Secret scanning is disabled on this repository."},
		"forbidden": {404, "Advanced Security must be enabled for this repository to use secret scanning."},
	})
}

func TestDependabotAlerts(t *testing.T) {
	f := newFixture(t)
	r := f.repo
	list := func(opts *github.ListAlertsOptions) ([]*github.DependabotAlert, *github.Response) {
		t.Helper()
		as, resp, err := f.client.Dependabot.ListRepoAlerts(f.ctx, "acme", "shop", opts)
		if err != nil {
			t.Fatal(err)
		}
		return as, resp
	}
	if as, _ := list(nil); len(as) != 0 {
		t.Fatalf("no alerts: %v", as)
	}
	r.AddDependabotAlert("npm", "lodash", "critical")
	r.AddDependabotAlert("go", "golang.org/x/net", "medium")
	n3 := r.AddDependabotAlert("pip", "requests", "high")
	r.AddDependabotAlert("npm", "minimist", "low")
	r.SetAlertState(Dependabot, n3, "fixed")
	s := github.String
	for _, tt := range []struct {
		name    string
		opts    *github.ListAlertsOptions
		numbers []int
	}{
		{"all", nil, []int{4, 3, 2, 1}},
		{"open", &github.ListAlertsOptions{State: s("open")}, []int{4, 2, 1}},
		{"severities", &github.ListAlertsOptions{Severity: s("critical,high")}, []int{3, 1}},
		{"open critical/high", &github.ListAlertsOptions{State: s("open"), Severity: s("critical,high")}, []int{1}},
		{"ecosystem", &github.ListAlertsOptions{Ecosystem: s("npm")}, []int{4, 1}},
		{"ascending", &github.ListAlertsOptions{Direction: s("asc")}, []int{1, 2, 3, 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			as, _ := list(tt.opts)
			var got []int
			for _, a := range as {
				got = append(got, a.GetNumber())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.numbers) {
				t.Fatalf("numbers %v, want %v", got, tt.numbers)
			}
		})
	}
	t.Run("cursor pagination", func(t *testing.T) {
		opts := &github.ListAlertsOptions{ListCursorOptions: github.ListCursorOptions{PerPage: 3}}
		var got []int
		for pages := 0; pages < 5; pages++ {
			as, resp := list(opts)
			for _, a := range as {
				got = append(got, a.GetNumber())
			}
			if resp.After == "" {
				break
			}
			opts.After = resp.After
		}
		if fmt.Sprint(got) != "[4 3 2 1]" {
			t.Fatalf("numbers %v", got)
		}
	})
	t.Run("page is rejected", func(t *testing.T) {
		_, resp, err := f.client.Dependabot.ListRepoAlerts(f.ctx, "acme", "shop", &github.ListAlertsOptions{ListOptions: github.ListOptions{Page: 2}})
		if err == nil || resp.StatusCode != 400 || !strings.Contains(err.Error(), "Pagination using the `page` parameter is not supported.") {
			t.Fatalf("%v", err)
		}
		if v := f.sim.Violations(); len(v) != 1 {
			t.Fatalf("violations %v", v)
		}
		f.sim.ResetViolations()
	})
	as, _ := list(&github.ListAlertsOptions{Severity: s("critical")})
	a := as[0]
	if a.GetState() != "open" || a.GetDependency().GetPackage().GetEcosystem() != "npm" || a.GetDependency().GetPackage().GetName() != "lodash" ||
		a.GetDependency().GetManifestPath() != "package-lock.json" || !strings.HasPrefix(a.GetSecurityAdvisory().GetGHSAID(), "GHSA-") ||
		a.GetSecurityAdvisory().GetSeverity() != "critical" || a.GetSecurityAdvisory().GetSummary() == "" ||
		a.GetSecurityVulnerability().GetSeverity() != "critical" || a.GetSecurityVulnerability().GetFirstPatchedVersion().GetIdentifier() == "" ||
		a.GetSecurityVulnerability().GetVulnerableVersionRange() == "" || !strings.Contains(a.GetHTMLURL(), "/security/dependabot/1") {
		t.Fatalf("alert %+v", a)
	}
	featureStates(t, f, Dependabot, "/repos/acme/shop/dependabot/alerts", map[string]featureAnswer{
		"disabled":  {403, "Dependabot alerts are disabled for this repository."},
		"forbidden": {403, "Resource not accessible by integration"},
	})
}

func TestEnvironmentVariablesAndSecrets(t *testing.T) {
	f := newFixture(t)
	r := f.repo
	r.AddEnvironment("empty")
	for i := 0; i < 12; i++ {
		r.SetEnvVariable("production", fmt.Sprintf("var_%02d", i), fmt.Sprint(i))
	}
	r.SetEnvVariable("production", "VAR_00", "updated")
	r.SetEnvSecret("production", "db_password")
	r.SetEnvSecret("production", "api_token")

	t.Run("variables page by page", func(t *testing.T) {
		var names []string
		opts := &github.ListOptions{}
		for {
			vs, resp, err := f.client.Actions.ListEnvVariables(f.ctx, "acme", "shop", "production", opts)
			if err != nil {
				t.Fatal(err)
			}
			if vs.TotalCount != 12 {
				t.Fatalf("total_count %d", vs.TotalCount)
			}
			for _, v := range vs.Variables {
				names = append(names, v.Name+"="+v.Value)
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
		if len(names) != 12 || names[0] != "VAR_00=updated" || names[11] != "VAR_11=11" {
			t.Fatalf("variables %v", names) // default per_page is 10
		}
	})
	t.Run("secrets have no value", func(t *testing.T) {
		resp, body := f.raw(t, "GET", "/repos/acme/shop/environments/production/secrets", "", nil)
		var got struct {
			TotalCount int              `json:"total_count"`
			Secrets    []map[string]any `json:"secrets"`
		}
		if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got.TotalCount != 2 || got.Secrets[0]["name"] != "API_TOKEN" || got.Secrets[1]["name"] != "DB_PASSWORD" {
			t.Fatalf("secrets %+v", got)
		}
		for _, s := range got.Secrets {
			if _, ok := s["value"]; ok {
				t.Fatalf("secret with a value: %v", s)
			}
		}
	})
	for _, tt := range []struct {
		name, path string
		status     int
		total      float64
	}{
		{"empty environment variables", "/repos/acme/shop/environments/empty/variables", 200, 0},
		{"empty environment secrets", "/repos/acme/shop/environments/empty/secrets", 200, 0},
		{"case-insensitive name", "/repos/acme/shop/environments/Production/secrets", 200, 2},
		{"unknown environment variables", "/repos/acme/shop/environments/staging/variables", 404, 0},
		{"unknown environment secrets", "/repos/acme/shop/environments/staging/secrets", 404, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.raw(t, "GET", tt.path, "", nil)
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			if resp.StatusCode != tt.status || (tt.status == 200 && m["total_count"] != tt.total) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestReleases(t *testing.T) {
	f := newFixture(t)
	r := f.repo
	v1sha := r.Head("main")
	v1 := r.CreateRelease("v1.0.0", "main", "One", "First.", false, false)
	r.AddReleaseAsset(v1, "shop-linux-amd64.tar.gz", 1234)
	r.AddReleaseAsset(v1, "checksums.txt", 99)
	v2sha := r.Commit("main", map[string]string{"app.go": "v2"}, "v2")
	rc := r.CreateRelease("v2.0.0-rc1", v2sha, "RC", "", false, true)
	draft := r.CreateRelease("v2.0.0", "main", "Two", "Draft notes.", true, false)

	if refs := f.sim.Refs("acme/shop"); refs["refs/tags/v1.0.0"] != v1sha || refs["refs/tags/v2.0.0-rc1"] != v2sha || refs["refs/tags/v2.0.0"] != "" {
		t.Fatalf("tags %v (a draft gets its tag when published)", refs)
	}
	t.Run("list newest first", func(t *testing.T) {
		rels, _, err := f.client.Repositories.ListReleases(f.ctx, "acme", "shop", nil)
		if err != nil || len(rels) != 3 || rels[0].GetID() != draft || !rels[0].GetDraft() || rels[1].GetID() != rc || !rels[1].GetPrerelease() || rels[2].GetID() != v1 {
			t.Fatalf("%v %v", rels, err)
		}
		rels, resp, _ := f.client.Repositories.ListReleases(f.ctx, "acme", "shop", &github.ListOptions{PerPage: 2, Page: 2})
		if len(rels) != 1 || resp.PrevPage != 1 {
			t.Fatalf("page 2: %d", len(rels))
		}
	})
	t.Run("latest skips drafts and pre-releases", func(t *testing.T) {
		rel, _, err := f.client.Repositories.GetLatestRelease(f.ctx, "acme", "shop")
		if err != nil || rel.GetID() != v1 || rel.GetTagName() != "v1.0.0" || rel.GetName() != "One" || rel.GetBody() != "First." ||
			rel.GetAuthor().GetLogin() != "octocat" || rel.GetPublishedAt().IsZero() || len(rel.Assets) != 2 ||
			rel.Assets[0].GetContentType() != "application/gzip" || rel.Assets[0].GetState() != "uploaded" || rel.Assets[0].GetSize() != 1234 ||
			!strings.HasSuffix(rel.Assets[0].GetBrowserDownloadURL(), "/acme/shop/releases/download/v1.0.0/shop-linux-amd64.tar.gz") {
			t.Fatalf("%+v %v", rel, err)
		}
	})
	for _, tt := range []struct {
		tag    string
		id     int64
		status int
	}{{"v1.0.0", v1, 200}, {"v2.0.0-rc1", rc, 200}, {"v2.0.0", 0, 404}, {"nope", 0, 404}} {
		t.Run("by tag "+tt.tag, func(t *testing.T) {
			rel, resp, _ := f.client.Repositories.GetReleaseByTag(f.ctx, "acme", "shop", tt.tag)
			if resp.StatusCode != tt.status || (tt.status == 200 && rel.GetID() != tt.id) {
				t.Fatalf("%d %v", resp.StatusCode, rel)
			}
		})
	}
	t.Run("by id and assets", func(t *testing.T) {
		rel, _, err := f.client.Repositories.GetRelease(f.ctx, "acme", "shop", draft)
		if err != nil || !rel.GetDraft() || rel.PublishedAt != nil || rel.TarballURL != nil {
			t.Fatalf("draft %+v %v", rel, err)
		}
		as, _, err := f.client.Repositories.ListReleaseAssets(f.ctx, "acme", "shop", v1, nil)
		if err != nil || len(as) != 2 || as[1].GetName() != "checksums.txt" || as[1].GetContentType() != "text/plain" {
			t.Fatalf("assets %v %v", as, err)
		}
		if _, resp, _ := f.client.Repositories.GetRelease(f.ctx, "acme", "shop", 42); resp.StatusCode != 404 {
			t.Fatalf("unknown release: %d", resp.StatusCode)
		}
	})
	t.Run("patch appends to the body", func(t *testing.T) {
		body := "First.\n\n### Deployments\n- production: deployed"
		rel, _, err := f.client.Repositories.EditRelease(f.ctx, "acme", "shop", v1, &github.RepositoryRelease{Body: &body})
		if err != nil || rel.GetBody() != body || rel.GetName() != "One" {
			t.Fatalf("%v %v", rel, err)
		}
		if got, ok := f.sim.Release("acme/shop", v1); !ok || got.Body != body || got.Name != "One" {
			t.Fatalf("Release: %+v", got)
		}
	})
	t.Run("patch publishes a draft", func(t *testing.T) {
		rel, _, err := f.client.Repositories.EditRelease(f.ctx, "acme", "shop", draft, &github.RepositoryRelease{Draft: github.Bool(false)})
		if err != nil || rel.GetDraft() || rel.GetPublishedAt().IsZero() {
			t.Fatalf("%v %v", rel, err)
		}
		if f.sim.Refs("acme/shop")["refs/tags/v2.0.0"] != r.Head("main") {
			t.Fatal("no tag after publishing")
		}
		if latest, _, _ := f.client.Repositories.GetLatestRelease(f.ctx, "acme", "shop"); latest.GetID() != draft {
			t.Fatalf("latest %d", latest.GetID())
		}
	})
	t.Run("make_latest", func(t *testing.T) {
		if _, _, err := f.client.Repositories.EditRelease(f.ctx, "acme", "shop", v1, &github.RepositoryRelease{MakeLatest: github.String("true")}); err != nil {
			t.Fatal(err)
		}
		if latest, _, _ := f.client.Repositories.GetLatestRelease(f.ctx, "acme", "shop"); latest.GetID() != v1 {
			t.Fatalf("latest %d", latest.GetID())
		}
	})
	t.Run("no release", func(t *testing.T) {
		other := f.sim.AddRepo("acme", "empty", "main")
		_ = other
		if _, resp, _ := f.client.Repositories.GetLatestRelease(f.ctx, "acme", "empty"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}

func TestCheckRunsAcrossPages(t *testing.T) {
	f := newFixture(t)
	sha := f.repo.Head("main")
	for i := 0; i < 150; i++ {
		f.repo.AddCheckRun(sha, fmt.Sprintf("job-%03d", i), "completed", "success")
	}
	f.repo.AddCheckRun(sha, "job-000", "completed", "failure") // a re-run of job-000
	f.repo.AddCheckRunByApp("circleci", sha, "build", "in_progress", "")
	readAll := func(opts *github.ListCheckRunsOptions) (runs []*github.CheckRun, pages int) {
		t.Helper()
		for {
			res, resp, err := f.client.Checks.ListCheckRunsForRef(f.ctx, "acme", "shop", sha, opts)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			runs = append(runs, res.CheckRuns...)
			if resp.NextPage == 0 {
				return runs, pages
			}
			opts.Page = resp.NextPage
		}
	}
	circle := f.sim.appIDFor("circleci")
	for _, tt := range []struct {
		name  string
		opts  github.ListCheckRunsOptions
		runs  int
		pages int
	}{
		{"latest", github.ListCheckRunsOptions{ListOptions: github.ListOptions{PerPage: 100}}, 151, 2},
		{"all", github.ListCheckRunsOptions{Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 100}}, 152, 2},
		{"default per_page", github.ListCheckRunsOptions{}, 151, 6},
		{"check_name latest", github.ListCheckRunsOptions{CheckName: github.String("job-000")}, 1, 1},
		{"check_name all", github.ListCheckRunsOptions{CheckName: github.String("job-000"), Filter: github.String("all")}, 2, 1},
		{"status", github.ListCheckRunsOptions{Status: github.String("in_progress")}, 1, 1},
		{"app_id", github.ListCheckRunsOptions{AppID: &circle}, 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runs, pages := readAll(&tt.opts)
			if len(runs) != tt.runs || pages != tt.pages {
				t.Fatalf("%d runs on %d pages, want %d on %d", len(runs), pages, tt.runs, tt.pages)
			}
			seen := map[int64]bool{}
			for _, cr := range runs {
				if seen[cr.GetID()] {
					t.Fatalf("run %d twice", cr.GetID())
				}
				seen[cr.GetID()] = true
			}
		})
	}
	t.Run("latest re-run wins", func(t *testing.T) {
		res, _, _ := f.client.Checks.ListCheckRunsForRef(f.ctx, "acme", "shop", sha, &github.ListCheckRunsOptions{CheckName: github.String("job-000")})
		if res.GetTotal() != 1 || res.CheckRuns[0].GetConclusion() != "failure" {
			t.Fatalf("%+v", res.CheckRuns[0])
		}
	})
}

func TestCombinedStatusAcrossPages(t *testing.T) {
	f := newFixture(t)
	sha := f.repo.Head("main")
	for i := 0; i < 150; i++ {
		f.repo.SetCommitStatus(sha, fmt.Sprintf("ci/%03d", i), "success", "ok")
	}
	f.repo.SetCommitStatus(sha, "ci/007", "failure", "broken")
	seen := map[string]string{}
	opts := &github.ListOptions{PerPage: 100}
	pages := 0
	for {
		cs, resp, err := f.client.Repositories.GetCombinedStatus(f.ctx, "acme", "shop", sha, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if cs.GetTotalCount() != 150 || cs.GetState() != "failure" {
			t.Fatalf("total %d state %s", cs.GetTotalCount(), cs.GetState())
		}
		for _, st := range cs.Statuses {
			seen[st.GetContext()] = st.GetState()
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 2 || len(seen) != 150 || seen["ci/007"] != "failure" {
		t.Fatalf("pages %d contexts %d ci/007 %s", pages, len(seen), seen["ci/007"])
	}
}
