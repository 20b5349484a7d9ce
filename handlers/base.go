// Package handlers holds one go-githubapp EventHandler per webhook event.
// Each decodes its go-github event, filters the action, prepares a logging
// context and hands over to deploy/. No business logic lives here.
package handlers

import (
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/deploybot/deploybot/deploy"
)

// Base is embedded by every handler.
type Base struct {
	githubapp.ClientCreator
	// Config reads .github/deploy.yml from the default branch; deploy.Service
	// shares the same loader.
	Config deploy.ConfigLoader
	Deploy *deploy.Service
	// AppID and AppSlug identify deploybot's own deployments and comments.
	AppID   int64
	AppSlug string
}

func (b *Base) botLogin() string { return b.AppSlug + "[bot]" }

// All returns the handlers for every event deploybot subscribes to.
func All(b *Base) []githubapp.EventHandler {
	return []githubapp.EventHandler{
		&IssueComment{Base: b},
		&Deployment{Base: b},
		&DeploymentStatus{Base: b},
		&CheckRun{Base: b},
		&CheckSuite{Base: b},
		&Status{Base: b},
		&PullRequest{Base: b},
		&Push{Base: b},
		&Release{Base: b},
		&WorkflowRun{Base: b},
		&DeploymentProtectionRule{Base: b},
		&Issues{Base: b},
	}
}
