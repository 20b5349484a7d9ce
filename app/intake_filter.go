package app

import "encoding/json"

// intakeVerdict is what the intake does with a verified delivery of an
// event deploybot handles.
type intakeVerdict int

const (
	// intakeStore: the delivery may matter; store it and queue its job.
	intakeStore intakeVerdict = iota
	// intakeSkip: the handler would do nothing with it (deploybot's own
	// echo, an action it ignores); answer 202 without writing anything.
	intakeSkip
	// intakeIfWatched: a check or status on a commit; it matters only if an
	// unfinished deployment is on that commit (commitWatch decides).
	intakeIfWatched
)

// intakeFields are the few fields of a payload the intake filter reads,
// decoded with a small struct instead of the full go-github event.
type intakeFields struct {
	Action     string `json:"action"`
	State      string `json:"state"` // status
	SHA        string `json:"sha"`   // status
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender     actor `json:"sender"`
	Deployment struct {
		Creator               actor      `json:"creator"`
		PerformedViaGitHubApp *appFields `json:"performed_via_github_app"`
	} `json:"deployment"`
	DeploymentStatus struct {
		Creator actor `json:"creator"`
	} `json:"deployment_status"`
	CheckRun   checkFields `json:"check_run"`
	CheckSuite checkFields `json:"check_suite"`
	Comment    struct {
		User actor `json:"user"`
	} `json:"comment"`
}

type actor struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

type appFields struct {
	ID int64 `json:"id"`
}

type checkFields struct {
	HeadSHA string     `json:"head_sha"`
	App     *appFields `json:"app"`
}

// intakeFilter decides, from the payload alone, whether a delivery can be
// skipped. Every rule below mirrors a case in which the event's handler
// (handlers/) returns without doing anything, and nothing else: a rule that
// skipped something a handler acts on would lose a deploy. These rules
// depend on nothing but the payload and deploybot's identity, so every
// replica reaches the same verdict.
type intakeFilter struct {
	appID    int64
	botLogin string // "<slug>[bot]"; "" when the slug is unknown
}

// verdict returns what to do with a delivery of event, and for
// intakeIfWatched the commit it concerns. A payload the small struct cannot
// decode is stored: its handler reports it as unhandleable.
func (f intakeFilter) verdict(event string, body []byte) (intakeVerdict, string, string) {
	var p intakeFields
	if json.Unmarshal(body, &p) != nil {
		return intakeStore, "", ""
	}
	repo := p.Repository.FullName
	switch event {
	case "deployment": // handlers.Deployment: own deployments echoed back
		own := (f.botLogin != "" && p.Deployment.Creator.Login == f.botLogin) ||
			(p.Deployment.PerformedViaGitHubApp != nil && p.Deployment.PerformedViaGitHubApp.ID == f.appID)
		if own {
			return intakeSkip, "", ""
		}
	case "deployment_status": // handlers.DeploymentStatus: own statuses echoed back
		// Only the status's creator counts: an external executor reports
		// statuses on deploybot's own deployments, and those wake it.
		if f.botLogin != "" && p.DeploymentStatus.Creator.Login == f.botLogin {
			return intakeSkip, "", ""
		}
	case "issue_comment": // handlers.IssueComment: only new comments by people run commands
		if p.Action != "created" || p.Sender.Type == "Bot" || p.Comment.User.Type == "Bot" ||
			(f.botLogin != "" && p.Comment.User.Login == f.botLogin) {
			return intakeSkip, "", ""
		}
	case "check_run": // handlers.CheckRun
		switch p.Action {
		case "requested_action":
			return intakeStore, "", "" // the Rollback button: always stored
		case "completed":
			return f.checkVerdict(p.CheckRun, repo)
		default:
			return intakeSkip, "", ""
		}
	case "check_suite": // handlers.CheckSuite: completed suites of other apps
		if p.Action != "completed" {
			return intakeSkip, "", ""
		}
		return f.checkVerdict(p.CheckSuite, repo)
	case "status": // handlers.Status: a pending status unblocks nothing
		if p.State == "pending" {
			return intakeSkip, "", ""
		}
		return f.watchVerdict(repo, p.SHA)
	}
	return intakeStore, "", ""
}

// checkVerdict is handlers.Base.checksChanged: deploybot's own check runs
// and suites never wake anything; others only deployments on their commit.
func (f intakeFilter) checkVerdict(c checkFields, repo string) (intakeVerdict, string, string) {
	if c.App != nil && c.App.ID == f.appID {
		return intakeSkip, "", ""
	}
	return f.watchVerdict(repo, c.HeadSHA)
}

// watchVerdict defers to the watched commits; a payload without its
// repository or SHA is stored (its handler reports it unhandleable).
func (f intakeFilter) watchVerdict(repo, sha string) (intakeVerdict, string, string) {
	if repo == "" || sha == "" {
		return intakeStore, "", ""
	}
	return intakeIfWatched, repo, sha
}
