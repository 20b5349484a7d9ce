package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkChangeFeedFanOut: one committed change handed to n open pages'
// subscriptions (coalesced; each Take empties it).
func BenchmarkChangeFeedFanOut(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("%d subscribers", n), func(b *testing.B) {
			f := newFeed()
			subs := make([]*Subscription, n)
			for i := range subs {
				subs[i], _ = f.add()
			}
			change := []Change{{Repo: "acme/web", Environment: "production", Deployment: 1}}
			b.ReportAllocs()
			for b.Loop() {
				f.publish(change, false)
				for _, s := range subs {
					<-s.Ready()
					s.Take()
				}
			}
		})
	}
}

// BenchmarkSQLiteWriteWithChangeHooks: one deployment update committed on
// SQLite with the change hooks watching, against the same write while they
// ignore it (the baseline: no feed).
func BenchmarkSQLiteWriteWithChangeHooks(b *testing.B) {
	ctx := context.Background()
	for _, mode := range []string{"hooks idle (baseline)", "nobody follows", "a page follows"} {
		b.Run(mode, func(b *testing.B) {
			st, err := Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			var d *Deployment
			if err := st.InTx(ctx, func(tx *Tx) (err error) {
				d, _, err = tx.CreateDeployment(ctx, &Deployment{RequestKey: "k", Repo: "acme/web", Environment: "production",
					Ref: "main", SHA: "abc", Task: "deploy", Trigger: "comment", Strategy: "direct", State: StateRunning, EnvConfig: "{}"}, nil)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			if mode == "hooks idle (baseline)" {
				st.sqliteFeed.layout.Store(nil)
			}
			if mode != "nobody follows" {
				sub, _ := st.Subscribe()
				defer sub.Close()
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := st.InTx(ctx, func(tx *Tx) error { return tx.UpdateDeployment(ctx, d) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
