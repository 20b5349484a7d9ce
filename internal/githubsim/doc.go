// Package githubsim is an honest, stateful, in-process GitHub emulator: the
// one test double of deploybot. End-to-end tests and `deploybot demo` run the
// real deploybot server against it over real HTTP.
//
// # Honesty
//
// Every request is checked against GitHub's published REST description
// (testdata/openapi.json, trimmed from octokit's api.github.com.json by
// cmd/trimspec via go generate). An unknown method+path answers 404, a bad
// query parameter or JSON body answers 422 ("Invalid request.") like GitHub,
// and both are recorded as violations. The emulator's own 2xx responses are
// validated against the description too, so it cannot drift. Webhooks are
// built by patching GitHub's documented payload examples
// (testdata/webhooks) with the current state, signed like GitHub
// (X-Hub-Signature-256), and validated against the description's
// webhook-<event>-<action> schemas (kept by cmd/trimspec): a payload that
// drifts is a violation too. GitHub publishes no example of the status
// event; testdata/webhooks/status was written to its webhook-status schema.
//
// Business rules emulated: installation tokens from an app JWT (RS256, iss,
// exp <= iat+10m); repositories visible only to their owner's installation;
// deployments with auto_merge (202 and a merge commit when the branch is
// behind the default branch), required_contexts (409 unless every status
// context and check run on the commit is successful), payload/task/
// environment/production_environment defaults, performed_via_github_app;
// the auto_inactive rule (prior non-transient, non-production deployments of
// the environment whose latest state is success get an inactive status,
// without a webhook); check run action limits (3 actions, label/identifier
// <= 20, description <= 40); collaborator permission where "permission"
// maps maintain->write and triage->read and "role_name" is precise;
// ETag/If-None-Match with 304s that do not count against the rate limit;
// primary rate-limit headers.
//
// GitHub Actions: a workflow dispatch takes a branch or a tag (name or full
// ref; a SHA or unknown ref answers 422 "No ref found for: x"), string
// inputs only (422 "For 'properties/x', true is not a string.") and at most
// 25 of them (the description's maxProperties); it queues a
// workflow_dispatch run as the app's bot, with its own check suite, and
// answers 204, or 200 with the run's id and URLs for return_run_details. A
// workflow's jobs are GitHub Actions check runs in its run's check suite.
// Custom deployment protection rules: RequestDeploymentProtection makes
// GitHub Actions create the deployment (github-actions[bot], performed via
// the GitHub Actions app) and puts the run in status waiting; only a
// pending request of the app for that run and environment (names ignore
// case) can be answered: 204, else 422 (already answered, or never asked;
// the message is the emulator's). A comment without a state is a status
// report that leaves the request pending; once none is pending the run is
// in_progress again.
//
// The web host (webhost.go, WebHostURL): GitHub's pages on a host of
// their own, as github.com is apart from api.github.com. Registering an app
// from a manifest (manifest.go): the form's manifest JSON is checked (known
// parameters and types, url, hook_attributes.url, redirect_url, at most 10
// callback_urls, known permissions and levels, each default event's
// permission) and refused with a 422 page and a violation; the one-time
// code (an hour) converts once, unauthenticated, into the app's id, key,
// webhook secret and OAuth client, and points webhooks and OAuth callbacks
// at the manifest's URLs. The OAuth web flow (oauth.go): authorize shows a
// sign-in form to a browser not signed in (SignInWeb signs one user in
// everywhere), checks client_id and that redirect_uri is a callback URL or
// below one, and redirects with a ten-minute one-use code and the state;
// access_token checks the client secret and code and answers like GitHub
// (200 with "error" when refused). The user-to-server token (ghu_) reads
// GET /user, GET /user/installations and an installation's repositories:
// those the user owns or has an explicit role on.
//
// Round trips (rounds.go): every request in the log carries its round, a
// maximal period during which at least one request was in flight, so
// concurrent requests count once; Rounds() counts them and SetLatency adds
// an emulated network delay to each request. Rounds measure a client's
// sequential requests only while nothing else talks to the Sim.
//
// # Usage
//
//	sim := githubsim.New(githubsim.Options{AppID: 1, AppSlug: "deploybot", TB: t})
//	sim.AddInstallation(42, "acme")
//	repo := sim.AddRepo("acme", "shop", "main")
//	repo.Commit("main", map[string]string{".github/deploy.yml": cfg}, "add config")
//	repo.Commit("feature", map[string]string{"app.go": "..."}, "change")
//	pr := repo.OpenPR("feature", "main", "alice", "Feature")
//	repo.SetPermission("alice", "maintain")
//
//	// deploybot: GITHUB_API_URL=sim.URL, GITHUB_APP_ID=sim.AppID(),
//	// GITHUB_APP_PRIVATE_KEY=sim.PrivateKeyPEM(), and once its server runs:
//	sim.SetWebhookTarget(srv.URL+"/api/github/hook", secret)
//
//	sim.Comment("acme/shop", pr, "alice", "/deploy staging")
//	err := sim.WaitFor(ctx, func() bool {
//		ds := sim.Deployments("acme/shop")
//		return len(ds) == 1 && ds[0].LatestState() == "success"
//	})
//
// Inspection: Requests, Violations, Deliveries, Deployments, CheckRuns,
// CheckRun, Comments, Reactions, CommitStatuses, Refs, Release, Releases,
// WorkflowRuns, WorkflowRun (with the dispatch inputs, which GitHub's run
// object does not show), ProtectionAnswers.
// Faults: FailNext, FailAfterApply (the request takes effect, its answer
// is lost) and Inject. Webhooks are delivered in order by one
// goroutine; Redeliver re-sends a delivery with the same GUID. Close stops
// everything (done automatically at test cleanup when Options.TB is set).
//
// # Operations
//
// Apps: GET /app, POST /app/installations/{id}/access_tokens, GET
// .../installation. Repository, contents, commits/{ref}, branches/{branch},
// compare/{base...head}, git refs (create, get, matching). Issues, issue
// comments, reactions, pull requests and their reviews, the pull requests
// associated with a commit (commits/{sha}/pulls: those whose commits include
// it, from the repository's branches or its forks; none once it is on the
// default branch, since the emulator merges nothing). Check runs (create,
// update, get, list for a ref with filter=latest|all, check_name, status,
// app_id; output annotations accumulate), commit statuses (create; the
// combined status pages its statuses). Deployments and deployment statuses.
// Code scanning, secret scanning and Dependabot alert lists; environment
// variables and secrets; releases (list, latest, by tag, by id, update,
// assets). GitHub Actions: workflows (list, get by id or file name),
// workflow dispatch, workflow runs (list for a workflow or the repository
// with actor, branch, event, status (a status or a conclusion), created
// (DATE, >DATE, >=DATE, <DATE, <=DATE, DATE..DATE, * for an open end; an
// unparsable value answers 422), head_sha, check_suite_id and
// exclude_pull_requests; get), and the review of custom deployment
// protection rules (POST actions/runs/{run_id}/deployment_protection_rule).
// Lists page with per_page/page and a Link header, except:
//
//   - compare pages its commits and its files with the same per_page/page
//     (GitHub pages the commits and sends the files, at most 300, on the first
//     page; read the files page by page and both agree). Without
//     per_page/page: at most 250 commits and 300 files, no Link;
//   - Dependabot alerts page by cursor only (before/after in Link; read
//     Response.After): GitHub answers 400 "Pagination using the `page`
//     parameter is not supported." to page, first and last;
//   - environment variables: per_page default 10, at most 30.
//
// Security features (Repo.SetFeature) answer like GitHub, with only the
// statuses each operation documents:
//
//	                 enabled     disabled                               forbidden
//	code scanning    200 [...]   404 "no analysis found"                403 "Advanced Security must be enabled for this repository to use code scanning."
//	secret scanning  200 [...]   404 "Secret scanning is disabled on    404 "Advanced Security must be enabled for this repository to use secret scanning."
//	                             this repository."                      (no 403 is documented)
//	Dependabot       200 [...]   403 "Dependabot alerts are disabled    403 "Resource not accessible by integration"
//	                             for this repository."
//
// Code scanning: state, tool_name (tool CodeQL), ref, sort, direction; the
// description documents no severity parameter for this operation, so none is
// applied (filter on rule.security_severity_level). Secret scanning: state,
// secret_type (comma list), sort, direction, hide_secret. Dependabot: state,
// severity, ecosystem, package, manifest (comma lists), scope, sort,
// direction. Environment variable and secret names are upper-cased like
// GitHub's; a secret has no value; an unknown environment is 404. Releases:
// drafts are listed and found by id but not by tag, and get their tag when
// published; latest is the release marked latest (make_latest, or the last
// full release published), never a draft or a pre-release; created_at is
// the date of the release's commit, as on GitHub.
//
// # Seed API
//
// Repositories and history: AddRepo, Repo.Commit, Repo.Branch, Repo.Tag,
// OpenPR, Repo.Fork(owner) (a fork in the repository's network: its
// branches start at the parent's, and its commits are readable by SHA
// through the parent, on no branch of it), OpenForkPR, OpenIssue,
// SetPermission, AddReview. Checks:
// Repo.AddCheckRun (app github-actions), Repo.AddCheckRunByApp(appSlug,
// ...), CompleteCheckRun, PressRequestedAction, Repo.SetCommitStatus.
// Security: Repo.AddCodeScanningAlert(severity, ruleID, description),
// Repo.AddSecretScanningAlert(secretType), Repo.AddDependabotAlert(ecosystem,
// pkg, severity), Repo.SetAlertState(kind, number, state), Repo.SetFeature(
// kind, state) with kind CodeScanning, SecretScanning or Dependabot.
// Environments: Repo.AddEnvironment, Repo.SetEnvVariable, Repo.SetEnvSecret.
// Releases: Repo.CreateRelease, Repo.PublishRelease, Repo.AddReleaseAsset.
// Comments and deployments: Comment, EditComment, CreateDeployment (as a
// user: performed_via_github_app null), AddDeploymentStatus,
// AddDeploymentStatusWithURLs (as a user, e.g. an external executor).
// GitHub Actions: Repo.AddWorkflow(file, name), Repo.AddWorkflowRun(file,
// event, branch, sha) (an in_progress run by octocat; adds the workflow if
// missing), StartWorkflowRun, CompleteWorkflowRun (completes the run's
// incomplete jobs with its conclusion), AddWorkflowJob (a check run in the
// run's suite; AddCheckRun on the run's SHA lands there too),
// RequestDeploymentProtection(fullName, environment, ref, runID).
//
// # Webhooks
//
//   - push: Repo.Commit, Repo.Branch, Repo.Tag, POST git/refs (a ref created
//     through the API is a push on GitHub too), the auto_merge merge
//     commit, and the tag of a published release. before/after, created,
//     forced, commits with added/modified/removed from the trees, head_commit,
//     pusher; the repository has Unix-time created_at/pushed_at like GitHub's;
//   - pull_request opened (OpenPR) and synchronize (every move of an open
//     PR's head branch, with before and after);
//   - issue_comment created/edited, deployment, deployment_status. A
//     deployment made by an Actions job (RequestDeploymentProtection)
//     carries workflow and workflow_run (GitHub's gh-pages example), and so
//     do its statuses; its sender is the run's triggering actor;
//   - workflow_run requested (dispatch, AddWorkflowRun), in_progress
//     (StartWorkflowRun, AddWorkflowRun) and completed
//     (CompleteWorkflowRun), sent by the run's triggering actor;
//   - deployment_protection_rule requested (RequestDeploymentProtection),
//     with environment, event, deployment_callback_url, deployment and the
//     run's pull requests. GitHub publishes no example of it:
//     testdata/webhooks/deployment_protection_rule was written to its
//     octokit schema and its description schema, which disagree (top-level
//     sha and ref: documented by the description, forbidden by octokit's
//     schema, so not sent);
//   - check_run created/completed/requested_action (requested_action only to
//     the app that created the run) and check_suite completed, when the last
//     incomplete run of a suite (one app's runs on one SHA) completes, with the
//     most severe conclusion. Like GitHub, check events of every app's runs
//     are sent to the app;
//   - status: Repo.SetCommitStatus and POST statuses/{sha};
//   - release created, then (unless a draft) published and released or
//     prereleased; PublishRelease and PATCH draft=false publish; a PATCH
//     sends edited with changes (body, name, tag_name, make_latest), so
//     deploybot's own release edits come back to it;
//   - ping (Ping).
//
// Options.Events limits the events sent, like the app's subscription.
//
// Known gaps: only the operations listed in cmd/trimspec are emulated
// (others GitHub documents are reported as "not emulated" violations); no
// GraphQL; no create, delete, check_suite requested/rerequested or release
// unpublished/deleted webhooks; refs are never deleted; file contents are
// text only and compare has no patch; merges never conflict; permissions of
// the app installation are not checked. Actions: workflow files are not
// read (declared inputs and the workflow_dispatch trigger are not checked,
// AddWorkflow commits no file), no workflow_dispatch or workflow_job
// webhooks, no jobs, logs, re-runs, cancel or pending_deployments API; the
// deployment of a protected job gets no waiting/queued statuses (GitHub
// adds them, but the description's deployment status states have no
// waiting) and a rejection does not fail the run by itself.
package githubsim
