package app

import (
	"testing"

	"github.com/deploybot/deploybot/store"
)

// What live updates cost, counted: a plain /deploy staging as the change
// feed tells it to a subscriber that keeps up (an open page). Every batch
// names only that deployment. (The feed has no GitHub client: its cost is
// the database's, one NOTIFY or hook call per watched row written.)
func TestLiveUpdateCost(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/live", "walt")
	s.settle()
	sub, err := s.App.Store.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	batches, changes := 0, map[store.Change]int{}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-sub.Ready():
			}
			got, lost := sub.Take()
			if lost {
				t.Error("a subscriber that keeps up was told it lost changes")
			}
			batches++
			for _, c := range got {
				changes[c]++
			}
		}
	}()
	s.comment(pr, "walt", "/deploy staging")
	d := s.deploymentsFinished(1)[0]
	close(stop)
	<-done
	if got, _ := sub.Take(); len(got) > 0 {
		batches++
		for _, c := range got {
			changes[c]++
		}
	}

	if len(changes) != 1 {
		t.Fatalf("one deployment's changes named %v", changes)
	}
	for c := range changes {
		if c.Repo != SandboxRepoFull || c.Environment != "staging" || c.Deployment == 0 {
			t.Fatalf("the change named %+v", c)
		}
	}
	t.Logf("plain deploy (%s) followed live: %d batches of changes reached the page (%s)",
		d.LatestState(), batches, s.App.Store.Dialect())
	if batches == 0 || batches > 40 {
		t.Errorf("%d batches for one plain deploy; a page reloads at most once per batch", batches)
	}
}
