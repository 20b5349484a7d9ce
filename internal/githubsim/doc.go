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
// (testdata/webhooks) with the current state, and signed like GitHub
// (X-Hub-Signature-256).
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
// CheckRun, Comments, Reactions, CommitStatuses, Refs. Faults: FailNext and
// Inject. Webhooks are delivered in order by one goroutine; Redeliver
// re-sends a delivery with the same GUID. Close stops everything (done
// automatically at test cleanup when Options.TB is set).
//
// Known gaps: only the operations listed in cmd/trimspec are emulated
// (others GitHub documents are reported as "not emulated" violations); no
// GraphQL; no status, check_suite or push webhooks; file contents are text
// only; merges never conflict.
package githubsim
