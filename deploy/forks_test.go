package deploy

import "testing"

func TestPullRefsAndSHARefs(t *testing.T) {
	const sha = "4f2a9c0e1b7d3a5c6e8f0a1b2c3d4e5f6a7b8c9d"
	for _, tt := range []struct {
		ref        string
		pull, isSH bool
	}{
		{ref: "refs/pull/3/head", pull: true},
		{ref: "pull/3/merge", pull: true},
		{ref: "refs/pull/3", pull: true},
		{ref: "main"},
		{ref: "feature/pull/3"},
		{ref: "v1.0.0"},
		{ref: sha, isSH: true},
		{ref: "4F2A9C0", isSH: true},
		{ref: "4f2a", isSH: true},
		{ref: "4f2"},      // too short to be a SHA GitHub resolves
		{ref: "deadbeef"}, // hex, but not this commit: a branch or tag name
		{ref: sha + "00"}, // longer than a SHA
		{ref: "refs/heads/4f2a9c0"},
	} {
		t.Run(tt.ref, func(t *testing.T) {
			if got := pullRefRefusal(tt.ref) != ""; got != tt.pull {
				t.Errorf("pull ref = %v, want %v", got, tt.pull)
			}
			if got := namesCommit(tt.ref, sha); got != tt.isSH {
				t.Errorf("names the commit = %v, want %v", got, tt.isSH)
			}
		})
	}
}
