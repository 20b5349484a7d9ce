package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
)

func TestArtifacts(t *testing.T) {
	assets := &config.ArtifactsGate{Assets: []config.Asset{
		{Name: "app.tar.gz", MaxSize: "200MB", MaxBytes: 200e6},
		{Name: "app-*.sig"},
	}}
	type fixture struct {
		f   *simFixture
		rel int64
	}
	for _, tc := range []struct {
		name    string
		seed    func(x *fixture) // creates releases
		ref     string
		release bool // in.Release is set from the seeded release
		want    Verdict
		reason  []string
		detail  []string
	}{
		{"all present", func(x *fixture) {
			x.rel = x.f.repo.CreateRelease("v1.0.0", "main", "v1.0.0", "notes", false, false)
			x.f.repo.AddReleaseAsset(x.rel, "app.tar.gz", 123_400_000)
			x.f.repo.AddReleaseAsset(x.rel, "app-linux.sig", 512)
			x.f.repo.AddReleaseAsset(x.rel, "README.txt", 10)
		}, "v1.0.0", false, Pass, []string{"release v1.0.0 has 2 required assets"},
			[]string{"`app.tar.gz` | ✅ `app.tar.gz` | 123 MB | 200MB", "✅ `app-linux.sig` | 512 B | none"}},
		{"release given by the pipeline", func(x *fixture) {
			x.rel = x.f.repo.CreateRelease("v1.0.1", "main", "", "notes", false, false)
			x.f.repo.AddReleaseAsset(x.rel, "app.tar.gz", 1)
			x.f.repo.AddReleaseAsset(x.rel, "app-darwin.sig", 1)
		}, "refs/tags/v1.0.1", true, Pass, nil, nil},
		{"full tag ref", func(x *fixture) {
			x.rel = x.f.repo.CreateRelease("v1.0.2", "main", "", "notes", false, false)
			x.f.repo.AddReleaseAsset(x.rel, "app.tar.gz", 1)
			x.f.repo.AddReleaseAsset(x.rel, "app-darwin.sig", 1)
		}, "refs/tags/v1.0.2", false, Pass, nil, nil},
		{"missing and oversized", func(x *fixture) {
			x.rel = x.f.repo.CreateRelease("v2.0.0", "main", "", "notes", false, false)
			x.f.repo.AddReleaseAsset(x.rel, "app.tar.gz", 212_400_000)
		}, "v2.0.0", false, Block,
			[]string{"release v2.0.0: app.tar.gz is 212 MB (limit 200MB); app-*.sig missing"},
			[]string{"⛔ `app.tar.gz` | 212 MB | 200MB", "Upload the missing assets"}},
		{"just over the limit", func(x *fixture) {
			x.rel = x.f.repo.CreateRelease("v2.0.1", "main", "", "notes", false, false)
			x.f.repo.AddReleaseAsset(x.rel, "app.tar.gz", 200_000_001)
			x.f.repo.AddReleaseAsset(x.rel, "app-x.sig", 1)
		}, "v2.0.1", false, Block, []string{"app.tar.gz is 200000001 bytes (limit 200MB)"}, nil},
		{"not a release tag", func(x *fixture) {}, "main", false, Block,
			[]string{"`main` is not a release tag: the artifacts gate needs a release; deploy a tag that has a release"},
			[]string{"`app.tar.gz`, `app-*.sig`"}},
		{"draft release", func(x *fixture) {
			x.rel = x.f.repo.CreateRelease("v3.0.0", "main", "", "notes", true, false)
		}, "v3.0.0", false, Block, []string{"is not a release tag"}, nil},
		{"many assets", func(x *fixture) {
			x.rel = x.f.repo.CreateRelease("v4.0.0", "main", "", "notes", false, false)
			for i := range 120 {
				x.f.repo.AddReleaseAsset(x.rel, fmt.Sprintf("extra-%03d.bin", i), 1)
			}
			x.f.repo.AddReleaseAsset(x.rel, "app.tar.gz", 1)
			x.f.repo.AddReleaseAsset(x.rel, "app-z.sig", 1)
		}, "v4.0.0", false, Pass, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &fixture{f: newSim(t)}
			tc.seed(x)
			in := x.f.input(&config.Environment{Name: "production"}, x.f.sha)
			in.Ref = tc.ref
			if tc.release {
				in.Release = &Release{ID: x.rel, Tag: strings.TrimPrefix(tc.ref, "refs/tags/")}
			}
			r := eval(t, Artifacts{Config: assets}, in)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), want %s\n%s", r.Verdict, r.Reason, tc.want, r.Detail)
			}
			for _, s := range tc.reason {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q lacks %q", r.Reason, s)
				}
			}
			for _, s := range tc.detail {
				if !strings.Contains(r.Detail, s) {
					t.Errorf("detail %q lacks %q", r.Detail, s)
				}
			}
			if tc.release {
				for _, req := range x.f.sim.Requests() {
					if strings.Contains(req.Path, "/releases/tags/") {
						t.Errorf("looked the release up by tag although the pipeline gave it")
					}
				}
			}
		})
	}

	t.Run("release deleted", func(t *testing.T) {
		f := newSim(t)
		in := f.input(&config.Environment{Name: "production"}, f.sha)
		in.Ref, in.Release = "v1.0.0", &Release{ID: 987654, Tag: "v1.0.0"}
		r := eval(t, Artifacts{Config: assets}, in)
		if r.Verdict != Block || !strings.Contains(r.Reason, "release v1.0.0 no longer exists") {
			t.Fatalf("%s %q", r.Verdict, r.Reason)
		}
	})
	for _, tc := range []struct{ name, prefix string }{
		{"release lookup fails", "/repos/acme/shop/releases/tags/"},
		{"asset list fails", "/repos/acme/shop/releases/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			rel := f.repo.CreateRelease("v9.0.0", "main", "", "notes", false, false)
			f.repo.AddReleaseAsset(rel, "app.tar.gz", 1)
			in := f.input(&config.Environment{Name: "production"}, f.sha)
			in.Ref = "v9.0.0"
			if tc.name == "asset list fails" {
				in.Release = &Release{ID: rel, Tag: "v9.0.0"}
			}
			f.sim.FailNext("GET", tc.prefix, 1, 500, nil)
			if r, err := (Artifacts{Config: assets}).Evaluate(context.Background(), in); err == nil {
				t.Fatalf("no error; %s %q", r.Verdict, r.Reason)
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1 KB", 1500: "1.5 KB", 123_400_000: "123 MB", 2_500_000_000: "2.5 GB", 12_000_000_000_000: "12 TB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
