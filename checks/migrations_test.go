package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/deploybot/deploybot/config"
)

func TestMigrations(t *testing.T) {
	backup := &config.Executor{Webhook: &config.WebhookExecutor{URL: "https://deployer.internal/hooks/db-backup"}}
	gate := &config.MigrationsGate{Paths: []string{"db/migrations/**"}, RequireChecks: []string{"migrations"}, Backup: backup}
	noBackup := &config.MigrationsGate{Paths: []string{"db/migrations/**"}, RequireChecks: []string{"migrations"}}
	noChecks := &config.MigrationsGate{Paths: []string{"db/migrations/**"}, Backup: backup}

	// history on main: base (README) → mig (a migration) → code (app.go)
	type shas struct{ base, mig, code string }
	setup := func(t *testing.T) (*simFixture, shas) {
		f := newSim(t)
		s := shas{base: f.sha}
		s.mig = f.repo.Commit("main", map[string]string{"db/migrations/0042_x.sql": "ALTER TABLE t ADD c int;\n"}, "add column")
		s.code = f.repo.Commit("main", map[string]string{"app.go": "package main\n"}, "code")
		return f, s
	}

	for _, tc := range []struct {
		name     string
		cfg      *config.MigrationsGate
		live     func(shas) string
		sha      func(shas) string
		check    []string // status, conclusion of check "migrations" on sha; nil: none
		waited   time.Duration
		want     Verdict
		reason   []string
		detail   []string
		backedUp bool
	}{
		{"already live", gate, func(s shas) string { return s.code }, func(s shas) string { return s.code }, nil, 0, Pass,
			[]string{"no change", "already live in production"}, nil, false},
		{"no migration changes", gate, func(s shas) string { return s.mig }, func(s shas) string { return s.code }, nil, 0, Pass,
			[]string{"no migration changes since "}, []string{"`db/migrations/**`"}, false},
		{"changed and check passed", gate, func(s shas) string { return s.base }, func(s shas) string { return s.code }, []string{"completed", "success"}, 0, Pass,
			[]string{"1 migration file changed; backup hook will run"}, []string{"`db/migrations/0042_x.sql`", "check `migrations` passed", "backup hook (webhook)"}, true},
		{"changed, no backup", noBackup, func(s shas) string { return s.base }, func(s shas) string { return s.code }, []string{"completed", "success"}, 0, Pass,
			[]string{"no backup hook configured"}, []string{"back up the database yourself"}, false},
		{"changed, no required checks", noChecks, func(s shas) string { return s.base }, func(s shas) string { return s.code }, nil, 0, Pass,
			[]string{"1 migration file changed; backup hook will run"}, nil, true},
		{"nothing live", gate, func(shas) string { return "" }, func(s shas) string { return s.code }, []string{"completed", "success"}, 0, Pass,
			[]string{"nothing live in production to compare with; treating migrations as changed; backup hook will run"}, nil, true},
		{"check pending", gate, func(s shas) string { return s.base }, func(s shas) string { return s.code }, []string{"in_progress", ""}, 0, Wait,
			[]string{"migrations changed (db/migrations/0042_x.sql); waiting for check `migrations`"}, []string{"still running"}, false},
		{"check pending too long", gate, func(s shas) string { return s.base }, func(s shas) string { return s.code }, []string{"queued", ""}, 31 * time.Minute, Block,
			[]string{"still had not finished after 30m"}, []string{"Re-run check `migrations`"}, false},
		{"check failed", gate, func(s shas) string { return s.base }, func(s shas) string { return s.code }, []string{"completed", "failure"}, 0, Block,
			[]string{"migrations changed (db/migrations/0042_x.sql) but check `migrations` did not pass"}, []string{"concluded failure"}, false},
		{"check skipped", gate, func(s shas) string { return s.base }, func(s shas) string { return s.code }, []string{"completed", "skipped"}, 0, Block,
			[]string{"did not pass"}, []string{"concluded skipped"}, false},
		{"check missing", gate, func(s shas) string { return s.base }, func(s shas) string { return s.code }, nil, 0, Block,
			[]string{"did not pass"}, []string{"did not run on this commit"}, false},
		{"going back past a migration", gate, func(s shas) string { return s.code }, func(s shas) string { return s.base }, []string{"completed", "success"}, 0, Pass,
			[]string{"1 migration file changed"}, []string{"is behind the live commit", "`db/migrations/0042_x.sql`"}, true},
		{"live commit unknown", gate, func(shas) string { return strings.Repeat("e", 40) }, func(s shas) string { return s.code }, []string{"completed", "success"}, 0, Pass,
			[]string{"cannot compare with the live commit eeeeeee"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, s := setup(t)
			sha := tc.sha(s)
			if tc.check != nil {
				f.repo.AddCheckRun(sha, "migrations", tc.check[0], tc.check[1])
			}
			in := f.input(&config.Environment{Name: "production"}, sha)
			in.LiveSHA = tc.live(s)
			if tc.waited > 0 {
				in.WaitingSince = in.Now.Add(-tc.waited)
			}
			r := eval(t, Migrations{Config: tc.cfg}, in)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s (%q), want %s\n%s", r.Verdict, r.Reason, tc.want, r.Detail)
			}
			for _, x := range tc.reason {
				if !strings.Contains(r.Reason, x) {
					t.Errorf("reason %q lacks %q", r.Reason, x)
				}
			}
			for _, x := range tc.detail {
				if !strings.Contains(r.Detail, x) {
					t.Errorf("detail %q lacks %q", r.Detail, x)
				}
			}
			if (r.Backup != nil) != tc.backedUp || (tc.backedUp && r.Backup != backup) {
				t.Errorf("Backup = %+v, want backup %v", r.Backup, tc.backedUp)
			}
			if r.Verdict == Wait {
				if len(r.WaitingFor) != 1 || r.WaitingFor[0] != "migrations" || !r.Deadline.Equal(in.Now.Add(30*time.Minute)) {
					t.Errorf("waiting for %v until %v", r.WaitingFor, r.Deadline)
				}
			} else if !r.Deadline.IsZero() {
				t.Errorf("deadline %v on %s", r.Deadline, r.Verdict)
			}
		})
	}
}

func TestMigrationsManyFiles(t *testing.T) {
	gate := &config.MigrationsGate{Paths: []string{"db/migrations/**"}, RequireChecks: []string{"migrations"}}
	t.Run("detail lists 50 files", func(t *testing.T) {
		f := newSim(t)
		files := map[string]string{}
		for i := range 60 {
			files[fmt.Sprintf("db/migrations/%04d.sql", i)] = fmt.Sprintf("-- %d\n", i)
		}
		for i := range 150 {
			files[fmt.Sprintf("src/f%03d.go", i)] = "package src\n"
		}
		sha := f.repo.Commit("main", files, "big")
		f.repo.AddCheckRun(sha, "migrations", "completed", "success")
		in := f.input(&config.Environment{Name: "production"}, sha)
		in.LiveSHA = f.sha
		r := eval(t, Migrations{Config: gate}, in)
		if r.Verdict != Pass || !strings.Contains(r.Reason, "60 migration files changed") {
			t.Fatalf("%s %q", r.Verdict, r.Reason)
		}
		if !strings.Contains(r.Detail, "`db/migrations/0049.sql`") || strings.Contains(r.Detail, "`db/migrations/0050.sql`") ||
			!strings.Contains(r.Detail, "and 10 more") {
			t.Errorf("detail: %s", r.Detail)
		}
		// 210 files are read in pages of 100.
		var compares int
		for _, req := range f.sim.Requests() {
			if strings.Contains(req.Path, "/compare/") {
				compares++
			}
		}
		if compares != 3 {
			t.Errorf("%d compare requests, want 3", compares)
		}
	})
	t.Run("file limit reached: fail closed", func(t *testing.T) {
		f := newSim(t)
		files := map[string]string{}
		for i := range 320 {
			files[fmt.Sprintf("src/f%03d.go", i)] = "package src\n"
		}
		sha := f.repo.Commit("main", files, "huge")
		in := f.input(&config.Environment{Name: "production"}, sha)
		in.LiveSHA = f.sha
		r := eval(t, Migrations{Config: gate}, in)
		if r.Verdict != Block || !strings.Contains(r.Reason, "file limit") || !strings.Contains(r.Detail, "at most 300 changed files") {
			t.Fatalf("%s %q\n%s", r.Verdict, r.Reason, r.Detail)
		}
	})
}

func TestMigrationsErrors(t *testing.T) {
	gate := &config.MigrationsGate{Paths: []string{"db/migrations/**"}, RequireChecks: []string{"migrations"}}
	for _, tc := range []struct{ name, method, prefix string }{
		{"compare fails", "GET", "/repos/acme/shop/compare/"},
		{"check runs fail", "GET", "/repos/acme/shop/commits/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSim(t)
			sha := f.repo.Commit("main", map[string]string{"db/migrations/1.sql": "x\n"}, "m")
			f.sim.FailNext(tc.method, tc.prefix, 1, 500, nil)
			in := f.input(&config.Environment{Name: "production"}, sha)
			in.LiveSHA = f.sha
			r, err := Migrations{Config: gate}.Evaluate(context.Background(), in)
			if err == nil {
				t.Fatalf("no error; %s %q", r.Verdict, r.Reason)
			}
		})
	}
}

func TestMigrationPathMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"db/migrations/**", "db/migrations/0001.sql", true},
		{"db/migrations/**", "db/migrations/2026/01/x.sql", true},
		{"db/migrations/**", "db/migrationsx/1.sql", false},
		{"db/migrations/**", "db/seed.sql", false},
		{"**/migrations/*.sql", "services/api/migrations/1.sql", true},
		{"**/migrations/*.sql", "migrations/1.sql", true},
		{"**/migrations/*.sql", "migrations/sub/1.sql", false},
		{"db/**/*.sql", "db/a/b/c.sql", true},
		{"db/**/*.sql", "db/c.sql", true},
		{"db/*.sql", "db/a/c.sql", false},
		{"db/migrations", "db/migrations/1.sql", true},
		{"db/migrations/", "db/migrations/1.sql", true},
		{"db/migrations", "db/migrations.go", false},
		{"schema.sql", "schema.sql", true},
		{"[", "[", false},
	} {
		if got := matchMigrationPaths([]string{tc.pattern}, tc.name); got != tc.want {
			t.Errorf("%q ~ %q = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}
