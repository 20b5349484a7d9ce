package app

import (
	"strings"
	"testing"
)

// requestsUnder counts the emulator requests whose path starts with prefix.
func (s *story) requestsUnder(prefix string) int {
	n := 0
	for _, r := range s.Sim.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// Someone with write access to acme/shop turns its .github/deploy.yml into
// a remote reference to acme/vault, a repository the installation can read
// but they cannot. deploybot refuses the reference with a config error and
// never reads acme/vault, so the vault's secrets appear nowhere.
func TestRemoteReferenceIsRefused(t *testing.T) {
	t.Parallel()
	const secret = "SECRET-hunter2-vault"
	s := newStory(t, "")
	vault := s.Sim.AddRepo(SandboxOwner, "vault", "main")
	vault.Commit("main", map[string]string{"secrets.yml": "environments:\n  production:\n    url: \"postgres://deploy:" + secret + "@db.internal/prod\"\n"}, "credentials")
	s.Repo.SetPermission("mallory", "admin")
	s.settle()
	s.Sim.ResetRequests()

	head := s.Repo.Commit("main", map[string]string{".github/deploy.yml": "remote: acme/vault\npath: secrets.yml\nref: main\n"}, "point config elsewhere")
	s.settle()
	pr, _ := s.openPR("feature/leak", "mallory")
	s.comment(pr, "mallory", "/deploy production")
	s.settle()

	cr := s.checkRun(head, "deploy/config")
	if cr.Conclusion != "failure" {
		t.Fatalf("deploy/config = %s %q", cr.Conclusion, cr.Output.Title)
	}
	contains(t, "deploy/config summary", cr.Output.Summary, "remote references are not supported: put the config in this repository's .github/deploy.yml on the default branch")
	written := []string{cr.Output.Title, cr.Output.Summary}
	for _, a := range cr.Output.Annotations {
		written = append(written, a.Title, a.Message)
	}
	written = append(written, s.deploybotComments(pr)...)
	for _, w := range written {
		if strings.Contains(w, secret) || strings.Contains(w, "db.internal") {
			t.Errorf("the vault's content was written to GitHub: %q", w)
		}
	}
	if n := s.requestsUnder("/repos/acme/vault"); n != 0 {
		t.Errorf("deploybot sent %d requests to acme/vault; want none", n)
	}
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
		t.Errorf("%d deployments from a remote reference", n)
	}
}

// A repository without .github/deploy.yml has no environments, even when
// the organisation's .github repository holds a deploy.yml: config comes
// only from the repository itself.
func TestNoOrganisationFallback(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	org := s.Sim.AddRepo(SandboxOwner, ".github", "main")
	org.Commit("main", map[string]string{"deploy.yml": "environments:\n  orgwide:\n    executor: { webhook: { url: https://hooks.example/orgwide } }\n"}, "org defaults")
	blog := s.Sim.AddRepo(SandboxOwner, "blog", "main")
	blog.Commit("main", map[string]string{"README.md": "# blog\n"}, "init")
	blog.Commit("post", map[string]string{"post.md": "hello"}, "post")
	blog.SetPermission("mallory", "admin")
	pr := blog.OpenPR("post", "main", "mallory", "Post")
	s.settle()
	s.Sim.ResetRequests()

	s.Sim.Comment(SandboxOwner+"/blog", pr, "mallory", "/deploy orgwide")
	s.settle()

	if n := s.requestsUnder("/repos/acme/.github"); n != 0 {
		t.Errorf("deploybot sent %d requests to the organisation's .github repository; want none", n)
	}
	if n := len(s.Sim.Deployments(SandboxOwner + "/blog")); n != 0 {
		t.Errorf("%d deployments from the organisation's config", n)
	}
}

// A config file over 256 KiB is refused before it is parsed.
func TestOversizedConfigIsRefused(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	huge := strings.ReplaceAll(SandboxConfig, "TARGET", s.Target.URL) + strings.Repeat("# padding\n", 30_000)
	head := s.Repo.Commit("main", map[string]string{".github/deploy.yml": huge}, "pad config")
	s.settle()
	cr := s.checkRun(head, "deploy/config")
	if cr.Conclusion != "failure" {
		t.Fatalf("deploy/config = %s %q", cr.Conclusion, cr.Output.Title)
	}
	contains(t, "deploy/config summary", cr.Output.Summary, "larger than 256 KiB")
}
