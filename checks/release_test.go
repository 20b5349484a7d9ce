package checks

import (
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
)

func TestReleaseGate(t *testing.T) {
	semver := &config.ReleaseGate{TagPattern: `v[0-9]+\.[0-9]+\.[0-9]+`}
	good := Release{ID: 1, Tag: "v1.2.3", Body: "Fixes checkout.", TargetCommitish: "main", HTMLURL: "https://github.com/acme/shop/releases/tag/v1.2.3"}
	with := func(f func(*Release)) *Release { r := good; f(&r); return &r }

	for _, tc := range []struct {
		name   string
		cfg    *config.ReleaseGate
		rel    *Release
		want   Verdict
		reason []string
	}{
		{"not a release", semver, nil, Skip, []string{"not a release deployment"}},
		{"a release tag deployed by command is not held to the release policy", semver, with(func(r *Release) { r.Tag = "nightly" }), Skip, []string{"not a release deployment"}},
		{"follows the policy", semver, &good, Pass, []string{"release v1.2.3 follows the release policy"}},
		{"no pattern", &config.ReleaseGate{}, with(func(r *Release) { r.Tag = "anything" }), Pass, nil},
		{"no config", nil, with(func(r *Release) { r.Tag = "anything" }), Pass, nil},
		{"target as a full ref", semver, with(func(r *Release) { r.TargetCommitish = "refs/heads/main" }), Pass, nil},
		{"tag does not match", semver, with(func(r *Release) { r.Tag = "v1.2" }), Block,
			[]string{`tag v1.2 does not match ^v[0-9]+\.[0-9]+\.[0-9]+$`}},
		{"anchors are not doubled", &config.ReleaseGate{TagPattern: `^v\d+$`}, with(func(r *Release) { r.Tag = "v1.2" }), Block,
			[]string{`does not match ^v\d+$`}},
		{"empty notes", semver, with(func(r *Release) { r.Body = " \n\t" }), Block,
			[]string{"release notes are empty; edit the release and describe the change"}},
		{"other branch", semver, with(func(r *Release) { r.TargetCommitish = "hotfix" }), Block,
			[]string{"release targets hotfix, not the default branch main"}},
		{"sha target", semver, with(func(r *Release) { r.TargetCommitish = "0123456789abcdef0123456789abcdef01234567" }), Block,
			[]string{"not the default branch main"}},
		{"everything wrong", semver, with(func(r *Release) { r.Tag, r.Body, r.TargetCommitish = "nightly", "", "dev" }), Block,
			[]string{"tag nightly does not match", "release notes are empty", "release targets dev"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trigger := "release"
			if strings.Contains(tc.name, "by command") {
				trigger = "comment"
			}
			in := Input{Environment: &config.Environment{Name: "production"}, DefaultBranch: "main", Release: tc.rel, Trigger: trigger}
			r := eval(t, ReleaseGate{Config: tc.cfg}, in)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), want %s", r.Verdict, r.Reason, tc.want)
			}
			for _, s := range tc.reason {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q lacks %q", r.Reason, s)
				}
			}
			if r.Verdict == Block && !strings.Contains(r.Detail, "[release ") {
				t.Errorf("detail does not link the release: %q", r.Detail)
			}
		})
	}
}
