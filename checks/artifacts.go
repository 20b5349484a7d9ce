package checks

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/deploybot/deploybot/config"
)

// Artifacts passes when the release being deployed has every configured
// asset, fully uploaded and within its size limit.
type Artifacts struct{ Config *config.ArtifactsGate }

func (Artifacts) Name() string { return "artifacts" }

func (g Artifacts) Evaluate(ctx context.Context, in Input) (Result, error) {
	r := Result{Gate: g.Name()}
	if g.Config == nil || len(g.Config.Assets) == 0 {
		r.Verdict, r.Reason = Skip, "no release assets required"
		return r, nil
	}
	var id int64
	tag := strings.TrimPrefix(in.Ref, "refs/tags/")
	if in.Release != nil && in.Release.ID != 0 {
		id, tag = in.Release.ID, in.Release.Tag
	} else {
		rel, _, err := in.GitHub.Repositories.GetReleaseByTag(ctx, in.Owner, in.Name, url.PathEscape(tag))
		if err != nil {
			if clientErrorStatus(err) == http.StatusNotFound {
				r.Verdict = Block
				r.Reason = fmt.Sprintf("`%s` is not a release tag: the artifacts gate needs a release; deploy a tag that has a release", in.Ref)
				r.Detail = fmt.Sprintf("GitHub has no published release for the tag `%s`. Publish a release with the assets %s, then deploy its tag (`/deploy <tag> to %s`).",
					tag, backticked(assetNames(g.Config.Assets)), in.Environment.Name)
				return r, nil
			}
			return Result{}, fmt.Errorf("read release %s: %w", tag, err)
		}
		id = rel.GetID()
	}

	assets, err := ListAll("release assets", func(p PageRef) ([]*github.ReleaseAsset, *github.Response, error) {
		return in.GitHub.Repositories.ListReleaseAssets(ctx, in.Owner, in.Name, id, &github.ListOptions{PerPage: 100, Page: p.Number})
	})
	if err != nil {
		if clientErrorStatus(err) == http.StatusNotFound {
			r.Verdict = Block
			r.Reason = fmt.Sprintf("release %s no longer exists on GitHub; publish it again and deploy its tag", tag)
			return r, nil
		}
		return Result{}, fmt.Errorf("list assets of release %s: %w", tag, err)
	}

	var problems []string
	var d strings.Builder
	fmt.Fprintf(&d, "Release `%s`:\n\n| asset | found | size | limit |\n|---|---|---|---|\n", tag)
	for _, want := range g.Config.Assets {
		limit := "none"
		if want.MaxBytes > 0 {
			limit = want.MaxSize
			if limit == "" {
				limit = humanBytes(want.MaxBytes)
			}
		}
		var uploaded, other []*github.ReleaseAsset
		for _, a := range assets {
			if assetMatches(want.Name, a.GetName()) {
				if a.GetState() == "uploaded" {
					uploaded = append(uploaded, a)
				} else {
					other = append(other, a)
				}
			}
		}
		if len(uploaded) == 0 {
			state := "missing"
			if len(other) > 0 {
				state = fmt.Sprintf("not uploaded (`%s` is %s)", other[0].GetName(), other[0].GetState())
			}
			problems = append(problems, fmt.Sprintf("%s %s", want.Name, state))
			fmt.Fprintf(&d, "| `%s` | ⛔ %s | | %s |\n", want.Name, state, limit)
			continue
		}
		for _, a := range uploaded {
			mark := "✅"
			if want.MaxBytes > 0 && int64(a.GetSize()) > want.MaxBytes {
				mark = "⛔"
				size := humanBytes(int64(a.GetSize()))
				if size == humanBytes(want.MaxBytes) {
					size = fmt.Sprintf("%d bytes", a.GetSize())
				}
				problems = append(problems, fmt.Sprintf("%s is %s (limit %s)", a.GetName(), size, limit))
			}
			fmt.Fprintf(&d, "| `%s` | %s `%s` | %s | %s |\n", want.Name, mark, a.GetName(), humanBytes(int64(a.GetSize())), limit)
		}
	}
	if len(problems) > 0 {
		r.Verdict = Block
		r.Reason = fmt.Sprintf("release %s: %s", tag, strings.Join(problems, "; "))
		fmt.Fprintf(&d, "\nUpload the missing assets to the release (or rebuild the oversized ones), then deploy `%s` again.", tag)
	} else {
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("release %s has %s", tag, countOf(len(g.Config.Assets), "required asset"))
	}
	r.Detail = d.String()
	return r, nil
}

// assetMatches reports whether an asset name is the configured name or
// matches it as a path.Match glob.
func assetMatches(pattern, name string) bool {
	if pattern == name {
		return true
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

func assetNames(as []config.Asset) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}

// humanBytes renders a size in the units config.ParseSize reads
// (powers of 1000): "512 B", "1.5 MB", "212 MB".
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	if v >= 100 || strings.HasSuffix(s, ".0") {
		s = fmt.Sprintf("%.0f", v)
	}
	return s + " " + []string{"KB", "MB", "GB", "TB", "PB"}[exp]
}
