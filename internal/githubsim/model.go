package githubsim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Repo is a repository of the Sim. Its exported fields are read-only; use its
// methods to change it. All methods are safe for concurrent use.
type Repo struct {
	s             *Sim
	ID            int64
	Owner, Name   string
	DefaultBranch string
	Private       bool
	refs          map[string]string // "refs/heads/main" -> sha
	issues        map[int]*Issue
	lastNumber    int
	perms         map[string]string // lower(login) -> role
	reviews       []*Review
	createdAt     time.Time
	features      map[string]string   // alert kind -> enabled|disabled|forbidden
	alerts        map[string][]*alert // alert kind -> alerts, by number
	envs          map[string]*environment
	releases      []*Release
	latestRelease int64       // id of the release marked latest, 0 if none
	workflows     []*workflow // GitHub Actions workflows, by id
	parent        *Repo       // the repository this one is a fork of (nil: not a fork)
}

// Issue is an issue or pull request of a repository.
type Issue struct {
	ID        int64
	Number    int
	Title     string
	Body      string
	Author    string
	State     string
	CreatedAt time.Time
	PR        *PullRequest // nil for plain issues
	Labels    []string
}

// PullRequest holds the pull-request part of an Issue.
type PullRequest struct {
	ID       int64
	Number   int
	HeadRepo string // full name; differs from the base repository for forks
	HeadRef  string
	BaseRef  string
}

// FullName returns "owner/name".
func (r *Repo) FullName() string { return r.Owner + "/" + r.Name }

// AddRepo creates a repository with an initial commit on defaultBranch. It
// belongs to the installation whose account is owner, if any.
func (s *Sim) AddRepo(owner, name, defaultBranch string) *Repo {
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.newRepoLocked(owner, name, defaultBranch)
	r.commitLocked(defaultBranch, map[string]string{"README.md": "# " + name + "\n"}, "Initial commit", nil)
	s.notifyLocked()
	return r
}

func (s *Sim) newRepoLocked(owner, name, defaultBranch string) *Repo {
	r := &Repo{
		s: s, ID: s.nextID("repo"), Owner: owner, Name: name, DefaultBranch: defaultBranch,
		refs: map[string]string{}, issues: map[int]*Issue{}, perms: map[string]string{},
		createdAt: s.now(), features: map[string]string{}, alerts: map[string][]*alert{},
		envs: map[string]*environment{},
	}
	if _, ok := s.users[strings.ToLower(owner)]; !ok {
		s.userLocked(owner).Type = "Organization"
	}
	s.repos[strings.ToLower(r.FullName())] = r
	return r
}

// Fork creates owner's fork of r (same name), whose branches start where
// r's are. Like on GitHub, the fork is in r's network: a commit pushed to
// the fork can be read by SHA through r (commits/{sha}, compare) although
// no branch of r contains it. No webhook is sent.
func (r *Repo) Fork(owner string) *Repo {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.newRepoLocked(owner, r.Name, r.DefaultBranch)
	f.parent = r
	for ref, sha := range r.refs {
		if strings.HasPrefix(ref, "refs/heads/") {
			f.refs[ref] = sha
		}
	}
	s.notifyLocked()
	return f
}

// Repo returns the repository "owner/name" or nil.
func (s *Sim) Repo(fullName string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[strings.ToLower(fullName)]
}

func (s *Sim) mustRepo(fullName string) *Repo {
	r := s.Repo(fullName)
	if r == nil {
		panic("githubsim: unknown repository " + fullName)
	}
	return r
}

// Commit pushes a commit with files (path -> content) on top of branch, as
// user octocat, and returns its SHA. A missing branch is created from the
// default branch head. It sends push and, when branch is the head of open
// pull requests, pull_request synchronize.
func (r *Repo) Commit(branch string, files map[string]string, message string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	sha := r.pushCommitLocked(branch, files, message, nil, "octocat")
	r.s.notifyLocked()
	return sha
}

func (r *Repo) commitLocked(branch string, files map[string]string, message string, extraParents []string) string {
	s := r.s
	parent, ok := r.refs["refs/heads/"+branch]
	if !ok && branch != r.DefaultBranch {
		parent = r.refs["refs/heads/"+r.DefaultBranch]
	}
	tree := map[string]string{}
	var parents []string
	if parent != "" {
		parents = append(parents, parent)
		for k, v := range s.commits[parent].Tree {
			tree[k] = v
		}
	}
	parents = append(parents, extraParents...)
	seq := s.nextID("commit")
	parts := []string{strings.Join(parents, ","), message, strconv.FormatInt(seq, 10)}
	for _, k := range sortedKeys(files) {
		tree[k] = files[k]
		parts = append(parts, k, files[k])
	}
	sha := gitSHA(parts...)
	s.commits[sha] = &commit{SHA: sha, Parents: parents, Tree: tree, Message: message, Author: "octocat", Time: s.now(), Seq: seq}
	r.refs["refs/heads/"+branch] = sha
	return sha
}

// Branch creates or moves branch to sha, like a (force) push by octocat:
// it sends push and, for the head of open pull requests, pull_request
// synchronize.
func (r *Repo) Branch(branch, sha string) {
	r.setRef("refs/heads/"+branch, sha)
}

// Tag creates or moves a lightweight tag and sends push.
func (r *Repo) Tag(tag, sha string) {
	r.setRef("refs/tags/"+tag, sha)
}

func (r *Repo) setRef(ref, sha string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.s.commits[sha] == nil {
		panic("githubsim: unknown commit " + sha)
	}
	r.updateRefLocked(ref, sha, "octocat")
	r.s.notifyLocked()
}

// Head returns the SHA at the tip of branch ("" if it does not exist).
func (r *Repo) Head(branch string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.refs["refs/heads/"+branch]
}

// File returns the content of path at ref (branch, tag or SHA).
func (r *Repo) File(ref, path string) (string, bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	sha, _ := r.resolveLocked(ref)
	c := r.s.commits[sha]
	if c == nil {
		return "", false
	}
	v, ok := c.Tree[path]
	return v, ok
}

// resolveLocked resolves a branch, tag, full ref or (abbreviated) SHA.
func (r *Repo) resolveLocked(ref string) (sha, kind string) {
	if ref == "" {
		return r.refs["refs/heads/"+r.DefaultBranch], "branch"
	}
	for _, c := range []struct{ prefix, kind string }{
		{"refs/heads/", "branch"}, {"heads/", "branch"}, {"refs/tags/", "tag"}, {"tags/", "tag"},
	} {
		if name, ok := strings.CutPrefix(ref, c.prefix); ok {
			full := "refs/heads/" + name
			if c.kind == "tag" {
				full = "refs/tags/" + name
			}
			if sha, ok := r.refs[full]; ok {
				return sha, c.kind
			}
			return "", ""
		}
	}
	if sha, ok := r.refs["refs/heads/"+ref]; ok {
		return sha, "branch"
	}
	if sha, ok := r.refs["refs/tags/"+ref]; ok {
		return sha, "tag"
	}
	if m := pullRefRx.FindStringSubmatch(ref); m != nil {
		n, _ := strconv.Atoi(m[1])
		if is := r.issues[n]; is != nil && is.PR != nil {
			return r.s.prHeadSHALocked(is.PR), "pull"
		}
	}
	if len(ref) >= 7 && len(ref) <= 40 && isHex(ref) {
		var found string
		for sha := range r.s.commits {
			if strings.HasPrefix(sha, ref) {
				if found != "" {
					return "", ""
				}
				found = sha
			}
		}
		if found != "" {
			return found, "sha"
		}
	}
	return "", ""
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// isAncestorLocked reports whether a is reachable from b (or equal).
func (s *Sim) isAncestorLocked(a, b string) bool {
	seen := map[string]bool{}
	stack := []string{b}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c == a {
			return true
		}
		if seen[c] || s.commits[c] == nil {
			continue
		}
		seen[c] = true
		stack = append(stack, s.commits[c].Parents...)
	}
	return false
}

// SetPermission sets login's role on the repository: admin, maintain, write,
// triage, read or none.
func (r *Repo) SetPermission(login, role string) {
	switch role {
	case "admin", "maintain", "write", "triage", "read", "none":
	default:
		panic("githubsim: unknown role " + role)
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.userLocked(login)
	r.perms[strings.ToLower(login)] = role
	r.s.notifyLocked()
}

// SetPermission is Repo(fullName).SetPermission(login, role).
func (s *Sim) SetPermission(fullName, login, role string) {
	s.mustRepo(fullName).SetPermission(login, role)
}

// OpenIssue opens a plain issue and returns its number.
func (r *Repo) OpenIssue(author, title string) int {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	is := r.newIssueLocked(author, title)
	r.s.notifyLocked()
	return is.Number
}

func (r *Repo) newIssueLocked(author, title string) *Issue {
	r.s.userLocked(author)
	r.lastNumber++
	is := &Issue{ID: r.s.nextID("issue"), Number: r.lastNumber, Title: title, Author: author, State: "open", CreatedAt: r.s.now()}
	r.issues[is.Number] = is
	return is
}

// OpenPR opens a pull request from head to base in this repository, sends
// pull_request opened and returns the PR number.
func (r *Repo) OpenPR(head, base, author, title string) int {
	return r.openPR(r, head, base, author, title)
}

// OpenForkPR opens a pull request from fork's head branch into base of this
// repository.
func (r *Repo) OpenForkPR(fork *Repo, head, base, author, title string) int {
	return r.openPR(fork, head, base, author, title)
}

func (r *Repo) openPR(headRepo *Repo, head, base, author, title string) int {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if headRepo.refs["refs/heads/"+head] == "" {
		panic(fmt.Sprintf("githubsim: %s has no branch %s", headRepo.FullName(), head))
	}
	if title == "" {
		title = "Update " + head
	}
	is := r.newIssueLocked(author, title)
	is.PR = &PullRequest{ID: s.nextID("pull"), Number: is.Number, HeadRepo: headRepo.FullName(), HeadRef: head, BaseRef: base}
	s.sendPullRequestLocked(r, is, "opened", "", "")
	s.notifyLocked()
	return is.Number
}

func (s *Sim) prHeadSHALocked(pr *PullRequest) string {
	hr := s.repos[strings.ToLower(pr.HeadRepo)]
	if hr == nil {
		return ""
	}
	return hr.refs["refs/heads/"+pr.HeadRef]
}

// syncPRsLocked sends pull_request synchronize for the open pull requests
// whose head is branch of headRepo, which moved from before.
func (s *Sim) syncPRsLocked(headRepo *Repo, branch, before, pusher string) {
	for _, r := range s.sortedReposLocked() {
		for _, n := range sortedNumbers(r.issues) {
			is := r.issues[n]
			if is.PR != nil && is.State == "open" && strings.EqualFold(is.PR.HeadRepo, headRepo.FullName()) && is.PR.HeadRef == branch {
				s.sendPullRequestLocked(r, is, "synchronize", before, pusher)
			}
		}
	}
}

func (s *Sim) sortedReposLocked() []*Repo {
	var out []*Repo
	for _, k := range sortedKeys(s.repos) {
		out = append(out, s.repos[k])
	}
	return out
}

func sortedNumbers(m map[int]*Issue) []int {
	var ns []int
	for n := range m {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

// PRHead returns the current head SHA of pull request number.
func (r *Repo) PRHead(number int) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if is := r.issues[number]; is != nil && is.PR != nil {
		return r.s.prHeadSHALocked(is.PR)
	}
	return ""
}

var pullRefRx = regexp.MustCompile(`^(?:refs/)?pull/(\d+)/(?:head|merge)$`)
