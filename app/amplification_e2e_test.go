package app

import (
	"strings"
	"testing"
	"time"
)

// reactionsTo counts deploybot's reactions on the given comments.
func (s *story) reactionsTo(ids []int64) int {
	n := 0
	for _, id := range ids {
		n += len(s.Sim.Reactions(id))
	}
	return n
}

// A read-only user who floods a pull request with commands gets no 👀 and
// one reply an hour: commenting cannot make deploybot write at will.
func TestReadOnlyUserCannotMakeDeploybotWrite(t *testing.T) {
	t.Parallel()
	var clk clock
	s := newStoryAt(t, "", clk.Now)
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("rita", "read")
	pr, _ := s.openPR("feature/x", "walt")
	s.settle()

	var ids []int64
	for range 10 {
		ids = append(ids, s.comment(pr, "rita", "/deploy production"))
	}
	s.settle()
	if n := s.reactionsTo(ids); n != 0 {
		t.Errorf("%d reactions to a read-only user's comments, want 0", n)
	}
	replies := s.deploybotComments(pr)
	if len(replies) != 1 {
		t.Fatalf("%d replies to 10 commands from a read-only user, want exactly 1:\n%s", len(replies), strings.Join(replies, "\n---\n"))
	}
	contains(t, "the one reply", replies[0], "@rita you can't deploy to `production`")
	contains(t, "the one reply", replies[0], "needs maintain")
	if n := len(s.Sim.Deployments(SandboxRepoFull)); n != 0 {
		t.Errorf("%d deployments, want 0", n)
	}

	// /environments and help are for users who can deploy somewhere; the
	// hour's reply is spent, so these go unanswered.
	s.comment(pr, "rita", "/environments")
	s.comment(pr, "rita", "/deploy help")
	s.settle()
	if n := len(s.deploybotComments(pr)); n != 1 {
		t.Fatalf("%d replies after /environments and help within the hour, want still 1", n)
	}

	// An hour later she gets one answer again: the refusal, saying what
	// deploying here needs.
	clk.Advance(time.Hour)
	s.comment(pr, "rita", "/environments")
	s.comment(pr, "rita", "/environments")
	s.settle()
	replies = s.deploybotComments(pr)
	if len(replies) != 2 {
		t.Fatalf("%d replies an hour later, want 2", len(replies))
	}
	contains(t, "refusal of /environments", replies[1], "@rita you have `read` on acme/shop; I answer `/environments` only for users who can deploy here, which needs at least `write`")
}

// Everyone's replies are limited per user and pull request: a writer gets
// five answers in ten minutes and no more, though the commands still run.
func TestWriterRepliesAreRateLimited(t *testing.T) {
	t.Parallel()
	var clk clock
	s := newStoryAt(t, "", clk.Now)
	s.Repo.SetPermission("walt", "write")
	pr, _ := s.openPR("feature/x", "walt")
	other, _ := s.openPR("feature/y", "walt")
	s.settle()

	var ids []int64
	for range 7 {
		ids = append(ids, s.comment(pr, "walt", "/environments"))
	}
	s.settle()
	if n := s.reactionsTo(ids); n != 7 {
		t.Errorf("%d 👀 on a writer's 7 commands, want 7", n)
	}
	if n := len(s.deploybotComments(pr)); n != 5 {
		t.Fatalf("%d replies to 7 commands in ten minutes, want 5 (the limit)", n)
	}

	// Over the limit the command still runs: the lock is taken, unanswered.
	s.comment(pr, "walt", "/lock staging release freeze")
	s.settle()
	if n := len(s.deploybotComments(pr)); n != 5 {
		t.Errorf("%d replies, want still 5", n)
	}
	lock, err := s.App.Store.ManualLock(s.ctx, SandboxRepoFull, "staging", clk.Now())
	if err != nil || lock == nil || lock.Owner != "walt" {
		t.Fatalf("lock = %+v, %v; the command must run over the reply limit", lock, err)
	}

	// Another pull request has its own budget; ten minutes later so does this one.
	reply := s.say(other, "walt", "/environments")
	contains(t, "reply on another PR", reply, "here is where each environment stands")
	clk.Advance(10 * time.Minute)
	reply = s.say(pr, "walt", "/environments")
	contains(t, "reply ten minutes later", reply, "`staging`")
}

// A triage user sees the 👀 but can deploy nowhere, so /environments is
// refused (with what it needs).
func TestTriageUserIsRefusedEnvironments(t *testing.T) {
	t.Parallel()
	s := newStory(t, "")
	s.Repo.SetPermission("walt", "write")
	s.Repo.SetPermission("tia", "triage")
	pr, _ := s.openPR("feature/x", "walt")
	id := s.comment(pr, "tia", "/deploy help")
	s.settle()
	if n := len(s.Sim.Reactions(id)); n != 1 {
		t.Errorf("%d reactions to a triage user's command, want 1", n)
	}
	replies := s.deploybotComments(pr)
	if len(replies) != 1 {
		t.Fatalf("replies = %q, want one", replies)
	}
	contains(t, "refusal", replies[0], "@tia you have `triage` on acme/shop; I answer `/deploy help` only for users who can deploy here, which needs at least `write`")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
