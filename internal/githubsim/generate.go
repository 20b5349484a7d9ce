package githubsim

// The description comes from the project's shared folder beside the checkout
// (octokit's OpenAPI package); the trimmed output is committed so tests run
// without it.

//go:generate go run ./cmd/trimspec -in ../../../shared/github/openapi/api.github.com.json -out testdata/openapi.json
