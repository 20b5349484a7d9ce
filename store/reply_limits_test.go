package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deploybot/deploybot/store"
	"github.com/deploybot/deploybot/store/storetest"
)

func TestTakeReply(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	budget := store.ReplyBudget{Kind: "reply", Max: 3, Window: 10 * time.Minute}
	t0 := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	take := func(repo string, pr int, login string, b store.ReplyBudget, at time.Time) bool {
		t.Helper()
		ok, err := st.TakeReply(ctx, repo, pr, login, b, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, tc := range []struct {
		name  string
		repo  string
		pr    int
		login string
		b     store.ReplyBudget
		at    time.Duration
		want  bool
	}{
		{"first reply", "acme/shop", 1, "walt", budget, 0, true},
		{"second", "acme/shop", 1, "walt", budget, time.Minute, true},
		{"third, case of the login does not matter", "acme/shop", 1, "Walt", budget, 2 * time.Minute, true},
		{"fourth within the window is refused", "acme/shop", 1, "walt", budget, 3 * time.Minute, false},
		{"still refused at the window's last millisecond", "acme/shop", 1, "walt", budget, 10*time.Minute - time.Millisecond, false},
		{"another user has their own budget", "acme/shop", 1, "jesse", budget, 3 * time.Minute, true},
		{"another pull request has its own budget", "acme/shop", 2, "walt", budget, 3 * time.Minute, true},
		{"another repository has its own budget", "acme/other", 1, "walt", budget, 3 * time.Minute, true},
		{"another kind has its own budget", "acme/shop", 1, "walt", store.ReplyBudget{Kind: "untrusted", Max: 1, Window: time.Hour}, 3 * time.Minute, true},
		{"a new window opens when the old one has passed", "acme/shop", 1, "walt", budget, 10 * time.Minute, true},
		{"and counts from one again", "acme/shop", 1, "walt", budget, 11 * time.Minute, true},
		{"once an hour: second refused", "acme/shop", 1, "walt", store.ReplyBudget{Kind: "untrusted", Max: 1, Window: time.Hour}, 59 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := take(tc.repo, tc.pr, tc.login, tc.b, t0.Add(tc.at)); got != tc.want {
				t.Fatalf("TakeReply = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("concurrent takers never overspend", func(t *testing.T) {
		b := store.ReplyBudget{Kind: "race", Max: 5, Window: time.Hour}
		var granted atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := st.TakeReply(ctx, "acme/shop", 9, "walt", b, t0)
				if err != nil {
					t.Error(err)
				}
				if ok {
					granted.Add(1)
				}
			}()
		}
		wg.Wait()
		if got := granted.Load(); got != 5 {
			t.Fatalf("%d replies granted, want 5", got)
		}
	})
}

// Rows of windows that ended over a day ago are dropped as new replies are
// counted, so the table does not grow with every commenter ever seen.
func TestTakeReplyDropsOldWindows(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	b := store.ReplyBudget{Kind: "reply", Max: 5, Window: 10 * time.Minute}
	t0 := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, err := st.TakeReply(ctx, "acme/shop", i+1, "walt", b, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.TakeReply(ctx, "acme/shop", 9, "jesse", b, t0.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountReplyWindows(ctx); err != nil || n != 1 {
		t.Fatalf("%d reply windows kept, %v; want 1", n, err)
	}
}
