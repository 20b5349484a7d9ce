package githubsim

//go:generate go run ./cmd/trimspec -in /work/shared/github/openapi/api.github.com.json -out testdata/openapi.json
