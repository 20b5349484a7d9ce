package githubsim

import (
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// Release is a release of a repository.
type Release struct {
	ID              int64
	Repo            string
	TagName         string
	TargetCommitish string
	Name            string
	Body            string
	Draft           bool
	Prerelease      bool
	Author          string
	CreatedAt       time.Time // GitHub: the date of the release's commit
	UpdatedAt       time.Time
	PublishedAt     time.Time // zero for drafts
	Assets          []ReleaseAsset
}

// ReleaseAsset is a file attached to a release.
type ReleaseAsset struct {
	ID          int64
	Name        string
	Size        int64
	ContentType string
	State       string // uploaded
	CreatedAt   time.Time
}

// releaseAuthor is the user seeded releases are created by.
const releaseAuthor = "octocat"

func (r *Repo) releaseLocked(id int64) *Release {
	for _, rel := range r.releases {
		if rel.ID == id {
			return rel
		}
	}
	return nil
}

// CreateRelease creates a release of tag at target (a branch or SHA; the
// default branch when ""), sends release created and, unless it is a
// draft, creates the tag if missing (a push) and sends release published
// and then prereleased or released. Like GitHub, a draft gets its tag when
// it is published. It returns the release id.
func (r *Repo) CreateRelease(tag, target, name, body string, draft, prerelease bool) int64 {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if target == "" {
		target = r.DefaultBranch
	}
	sha, _ := r.resolveLocked(target)
	if sha == "" {
		panic(fmt.Sprintf("githubsim: %s has no branch or commit %s", r.FullName(), target))
	}
	for _, rel := range r.releases {
		if rel.TagName == tag {
			panic(fmt.Sprintf("githubsim: %s already has a release for tag %s", r.FullName(), tag))
		}
	}
	s.userLocked(releaseAuthor)
	rel := &Release{ID: s.nextID("release"), Repo: r.FullName(), TagName: tag, TargetCommitish: target, Name: name,
		Body: body, Draft: draft, Prerelease: prerelease, Author: releaseAuthor,
		CreatedAt: s.commits[sha].Time, UpdatedAt: s.now()}
	r.releases = append(r.releases, rel)
	s.sendReleaseLocked(r, rel, "created", nil, releaseAuthor)
	if !draft {
		s.publishReleaseLocked(r, rel, releaseAuthor)
	}
	s.notifyLocked()
	return rel.ID
}

// publishReleaseLocked publishes rel: tag, published_at, latest, webhooks.
func (s *Sim) publishReleaseLocked(r *Repo, rel *Release, sender string) {
	rel.Draft = false
	rel.PublishedAt = s.now()
	if _, ok := r.refs["refs/tags/"+rel.TagName]; !ok {
		sha, _ := r.resolveLocked(rel.TargetCommitish)
		if sha == "" {
			sha = r.refs["refs/heads/"+r.DefaultBranch]
		}
		r.updateRefLocked("refs/tags/"+rel.TagName, sha, sender)
	}
	if !rel.Prerelease {
		r.latestRelease = rel.ID
	}
	s.sendReleaseLocked(r, rel, "published", nil, sender)
	if rel.Prerelease {
		s.sendReleaseLocked(r, rel, "prereleased", nil, sender)
	} else {
		s.sendReleaseLocked(r, rel, "released", nil, sender)
	}
}

// PublishRelease publishes a draft release (creating its tag if missing)
// and sends release published and then prereleased or released.
func (r *Repo) PublishRelease(id int64) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := r.releaseLocked(id)
	if rel == nil {
		panic(fmt.Sprintf("githubsim: no release %d in %s", id, r.FullName()))
	}
	if !rel.Draft {
		return
	}
	rel.UpdatedAt = s.now()
	s.publishReleaseLocked(r, rel, releaseAuthor)
	s.notifyLocked()
}

// AddReleaseAsset attaches an uploaded asset to a release.
func (r *Repo) AddReleaseAsset(releaseID int64, name string, size int64) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := r.releaseLocked(releaseID)
	if rel == nil {
		panic(fmt.Sprintf("githubsim: no release %d in %s", releaseID, r.FullName()))
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" || path.Ext(name) == ".gz" {
		ct = map[string]string{".gz": "application/gzip", ".tgz": "application/gzip", ".zip": "application/zip"}[path.Ext(name)]
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	ct, _, _ = strings.Cut(ct, ";")
	rel.Assets = append(rel.Assets, ReleaseAsset{ID: s.nextID("release_asset"), Name: name, Size: size, ContentType: ct,
		State: "uploaded", CreatedAt: s.now()})
	s.notifyLocked()
}

// Release returns a release of the repository fullName by id.
func (s *Sim) Release(fullName string, id int64) (Release, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(fullName)]
	if r == nil {
		return Release{}, false
	}
	rel := r.releaseLocked(id)
	if rel == nil {
		return Release{}, false
	}
	cp := *rel
	cp.Assets = append([]ReleaseAsset(nil), rel.Assets...)
	return cp, true
}

// Releases returns the releases of the repository, oldest first.
func (s *Sim) Releases(fullName string) []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(fullName)]
	if r == nil {
		return nil
	}
	var out []Release
	for _, rel := range r.releases {
		cp := *rel
		cp.Assets = append([]ReleaseAsset(nil), rel.Assets...)
		out = append(out, cp)
	}
	return out
}

// latestReleaseLocked is the release marked latest, else the newest
// published full release.
func (r *Repo) latestReleaseLocked() *Release {
	if rel := r.releaseLocked(r.latestRelease); rel != nil && !rel.Draft && !rel.Prerelease {
		return rel
	}
	var best *Release
	for _, rel := range r.releases {
		if rel.Draft || rel.Prerelease {
			continue
		}
		if best == nil || !rel.CreatedAt.Before(best.CreatedAt) {
			best = rel
		}
	}
	return best
}

func (s *Sim) releaseAssetJSON(r *Repo, rel *Release, a ReleaseAsset) map[string]any {
	return map[string]any{
		"url":                  s.api("repos", r.Owner, r.Name, "releases", "assets", strconv.FormatInt(a.ID, 10)),
		"browser_download_url": s.web(r.Owner, r.Name, "releases", "download", rel.TagName, a.Name),
		"id":                   a.ID, "node_id": nodeID("RA_", a.ID), "name": a.Name, "label": nil, "state": a.State,
		"content_type": a.ContentType, "size": a.Size, "digest": nil, "download_count": 0,
		"created_at": ts(a.CreatedAt), "updated_at": ts(a.CreatedAt), "uploader": s.login(rel.Author),
	}
}

func (s *Sim) releaseJSON(r *Repo, rel *Release) map[string]any {
	id := strconv.FormatInt(rel.ID, 10)
	api := s.api("repos", r.Owner, r.Name, "releases", id)
	html := s.web(r.Owner, r.Name, "releases", "tag", rel.TagName)
	var tarball, zipball, published any
	if rel.Draft {
		html = s.web(r.Owner, r.Name, "releases", "tag", "untagged-"+gitSHA("release", id)[:20])
	} else {
		tarball = s.api("repos", r.Owner, r.Name, "tarball", rel.TagName)
		zipball = s.api("repos", r.Owner, r.Name, "zipball", rel.TagName)
		published = ts(rel.PublishedAt)
	}
	var name any
	if rel.Name != "" {
		name = rel.Name
	}
	assets := []any{}
	for _, a := range rel.Assets {
		assets = append(assets, s.releaseAssetJSON(r, rel, a))
	}
	return map[string]any{
		"url": api, "html_url": html, "assets_url": api + "/assets",
		"upload_url":  "https://uploads.github.com/repos/" + r.FullName() + "/releases/" + id + "/assets{?name,label}",
		"tarball_url": tarball, "zipball_url": zipball, "id": rel.ID, "node_id": nodeID("RE_", rel.ID),
		"tag_name": rel.TagName, "target_commitish": rel.TargetCommitish, "name": name, "body": rel.Body,
		"draft": rel.Draft, "prerelease": rel.Prerelease, "immutable": false,
		"created_at": ts(rel.CreatedAt), "updated_at": ts(rel.UpdatedAt), "published_at": published,
		"author": s.login(rel.Author), "assets": assets,
	}
}

func (c *call) releaseByID() *Release {
	id, _ := strconv.ParseInt(c.params["release_id"], 10, 64)
	return c.repo.releaseLocked(id)
}

func handleListReleases(c *call) (int, any) {
	r := c.repo
	lo, hi := c.paginate(len(r.releases))
	out := []any{}
	for i := len(r.releases) - 1 - lo; i >= len(r.releases)-hi; i-- {
		out = append(out, c.s.releaseJSON(r, r.releases[i]))
	}
	return http.StatusOK, out
}

func handleLatestRelease(c *call) (int, any) {
	rel := c.repo.latestReleaseLocked()
	if rel == nil {
		return notFound()
	}
	return http.StatusOK, c.s.releaseJSON(c.repo, rel)
}

// handleReleaseByTag finds a published release: GitHub does not find drafts
// by tag.
func handleReleaseByTag(c *call) (int, any) {
	for _, rel := range c.repo.releases {
		if rel.TagName == c.params["tag"] && !rel.Draft {
			return http.StatusOK, c.s.releaseJSON(c.repo, rel)
		}
	}
	return notFound()
}

func handleGetRelease(c *call) (int, any) {
	rel := c.releaseByID()
	if rel == nil {
		return notFound()
	}
	return http.StatusOK, c.s.releaseJSON(c.repo, rel)
}

func handleListReleaseAssets(c *call) (int, any) {
	rel := c.releaseByID()
	if rel == nil {
		return notFound()
	}
	lo, hi := c.paginate(len(rel.Assets))
	out := []any{}
	for _, a := range rel.Assets[lo:hi] {
		out = append(out, c.s.releaseAssetJSON(c.repo, rel, a))
	}
	return http.StatusOK, out
}

// handleUpdateRelease applies tag_name, target_commitish, name, body,
// draft, prerelease and make_latest. It sends release edited with the
// changes GitHub reports (name, body, tag_name, make_latest), and release
// published (then prereleased or released) when a draft is published, or
// released when a pre-release becomes a full release.
func handleUpdateRelease(c *call) (int, any) {
	s, r := c.s, c.repo
	rel := c.releaseByID()
	if rel == nil {
		return notFound()
	}
	b := c.body
	next := *rel
	changes := map[string]any{}
	if v, ok := b["tag_name"].(string); ok && v != rel.TagName {
		for _, o := range r.releases {
			if o != rel && o.TagName == v {
				return c.validationFailed("Release", "tag_name", "already_exists", "")
			}
		}
		changes["tag_name"] = map[string]any{"from": rel.TagName}
		next.TagName = v
	}
	if v, ok := b["target_commitish"].(string); ok {
		if sha, _ := r.resolveLocked(v); sha == "" {
			return c.validationFailed("Release", "target_commitish", "invalid", "")
		}
		next.TargetCommitish = v
	}
	if v, ok := b["name"].(string); ok && v != rel.Name {
		changes["name"] = map[string]any{"from": rel.Name}
		next.Name = v
	}
	if v, ok := b["body"].(string); ok && v != rel.Body {
		changes["body"] = map[string]any{"from": rel.Body}
		next.Body = v
	}
	if v, ok := b["prerelease"].(bool); ok {
		next.Prerelease = v
	}
	publish := false
	if v, ok := b["draft"].(bool); ok {
		if rel.Draft && !v {
			publish = true
		} else if !rel.Draft && v {
			next.Draft, next.PublishedAt = true, time.Time{}
		}
	}
	becameRelease := rel.Prerelease && !next.Prerelease && !next.Draft && !publish
	next.UpdatedAt = s.now()
	*rel = next
	if ml, _ := b["make_latest"].(string); ml == "true" && !rel.Draft && !rel.Prerelease {
		changes["make_latest"] = map[string]any{"to": true}
		r.latestRelease = rel.ID
	}
	sender := s.botLogin()
	s.sendReleaseLocked(r, rel, "edited", changes, sender)
	if publish {
		s.publishReleaseLocked(r, rel, sender)
	} else if becameRelease {
		s.sendReleaseLocked(r, rel, "released", nil, sender)
	}
	return http.StatusOK, s.releaseJSON(r, rel)
}

func (s *Sim) sendReleaseLocked(r *Repo, rel *Release, action string, changes map[string]any, sender string) {
	file := action + ".payload.json"
	if action == "released" {
		file = "released.json"
	}
	ex := example("release", file)
	ex["action"] = action
	patch(ex, "release", s.releaseJSON(r, rel))
	if action == "edited" {
		ex["changes"] = changes
	} else {
		delete(ex, "changes")
	}
	s.enqueueLocked("release", r, ex, sender)
}
