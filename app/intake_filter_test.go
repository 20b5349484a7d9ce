package app

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/deploybot/deploybot/handlers"
)

// Every delivery the filter skips is one its handler does nothing with.
// The handlers here have no GitHub client and no deploy service: a handler
// that would act on a skipped delivery panics on them (or returns another
// error), and the test names the delivery. The deliveries are those the
// emulator sent during a real deploy (deploybot's echoes among them) plus
// the hand-written ones of TestIntakeSkipsWhatConcernsNothing's kind.
func TestSkippedDeliveriesAreThoseHandlersIgnore(t *testing.T) {
	t.Parallel()
	s := newStory(t, gatedConfig)
	s.Repo.SetPermission("walt", "write")
	pr, sha := s.openPR("feature/cart", "walt")
	s.Repo.AddCheckRun(sha, "ci/test", "completed", "success")
	s.comment(pr, "walt", "/deploy staging")
	s.deploymentsFinished(1)
	s.Repo.Commit("main", map[string]string{"README.md": "x"}, "a push to the default branch")
	s.Repo.Commit("feature/cart", map[string]string{"b.txt": "y"}, "a push to a branch")
	s.settle()

	bot := &handlers.Base{AppID: s.Sim.AppID(), AppSlug: "deploybot"}
	byEvent := map[string]interface {
		Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error
	}{}
	for _, h := range handlers.All(bot) {
		for _, ev := range h.Handles() {
			byEvent[ev] = h
		}
	}
	f := intakeFilter{appID: s.Sim.AppID(), botLogin: s.Sim.BotLogin()}
	skipped := map[string]int{}
	for _, d := range s.Sim.Deliveries() {
		h, ok := byEvent[d.Event]
		if !ok || f.read(d.Event, d.Body).verdict != intakeSkip {
			continue
		}
		skipped[d.Event]++
		if err := handleWithoutDeps(h.Handle, d.Event, d.Body); err != nil {
			t.Errorf("skipped %s %s delivery is one its handler acts on: %v\n%.400s", d.Event, d.Action, err, d.Body)
		}
	}
	// The echoes of a deploy are among them.
	for _, event := range []string{"deployment", "deployment_status", "check_run", "check_suite", "issue_comment", "push"} {
		if skipped[event] == 0 {
			t.Errorf("no %s delivery of the deploy was skipped (skipped: %v)", event, skipped)
		}
	}
}

// handleWithoutDeps runs handle and reports a panic or an error other than
// ErrUnhandleable (a payload no retry can handle has no effect either).
func handleWithoutDeps(handle func(context.Context, string, string, []byte) error, event string, body []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	err = handle(context.Background(), event, "test", body)
	if errors.Is(err, handlers.ErrUnhandleable) {
		return nil
	}
	return err
}
