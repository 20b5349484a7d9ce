package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v62/github"
)

// Variables passes when every name exists as a variable or a secret of the
// GitHub environment being deployed to. Only names are read: the API never
// returns secret values, and nothing here logs what it reads.
type Variables struct{ Names []string }

func (Variables) Name() string { return "variables" }

func (g Variables) Evaluate(ctx context.Context, in Input) (Result, error) {
	r := Result{Gate: g.Name()}
	env := in.Environment.Name
	if len(g.Names) == 0 {
		r.Verdict, r.Reason = Skip, "no variables or secrets required"
		return r, nil
	}
	where := fmt.Sprintf("Settings → Environments → %s", env)

	// GitHub stores variable and secret names upper-cased and compares
	// them case-insensitively; so does this gate.
	vars, status, err := envVariableNames(ctx, in, env)
	if err != nil {
		return Result{}, err
	}
	if status == http.StatusNotFound {
		r.Verdict = Block
		r.Reason = fmt.Sprintf("GitHub environment `%s` does not exist; create it in %s and add %s", env, where, joinNames(g.Names))
		r.Detail = fmt.Sprintf("The `variables` gate needs these names as variables or secrets of the GitHub environment `%s`: %s.\n\n"+
			"GitHub answered 404 for the environment. Create it under %s, add the variables or secrets, then deploy again.", env, backticked(g.Names), where)
		return r, nil
	}
	if status == http.StatusForbidden {
		return permissionBlock(r, env, "variables", "Variables"), nil
	}
	kind := map[string]string{} // upper-cased name → "variable" | "secret"
	for _, n := range vars {
		kind[strings.ToUpper(n)] = "variable"
	}
	if missingNames(g.Names, kind) != nil {
		secrets, status, err := envSecretNames(ctx, in, env)
		if err != nil {
			return Result{}, err
		}
		if status == http.StatusForbidden {
			return permissionBlock(r, env, "secrets", "Secrets"), nil
		}
		for _, n := range secrets {
			if _, ok := kind[strings.ToUpper(n)]; !ok {
				kind[strings.ToUpper(n)] = "secret"
			}
		}
	}

	var d strings.Builder
	fmt.Fprintf(&d, "GitHub environment `%s`:\n\n| name | found as |\n|---|---|\n", env)
	for _, n := range g.Names {
		k := kind[strings.ToUpper(n)]
		if k == "" {
			k = "⛔ missing"
		}
		fmt.Fprintf(&d, "| `%s` | %s |\n", n, k)
	}
	missing := missingNames(g.Names, kind)
	if len(missing) > 0 {
		r.Verdict = Block
		r.Reason = fmt.Sprintf("%s is missing from GitHub environment `%s`; add it as a variable or secret in %s", joinNames(missing), env, where)
		if len(missing) > 1 {
			r.Reason = fmt.Sprintf("%s are missing from GitHub environment `%s`; add them as variables or secrets in %s", joinNames(missing), env, where)
		}
		fmt.Fprintf(&d, "\nAdd %s as a variable or a secret in %s, then deploy again.", backticked(missing), where)
	} else {
		r.Verdict = Pass
		r.Reason = fmt.Sprintf("%s present in GitHub environment `%s`", joinNames(g.Names), env)
	}
	r.Detail = d.String()
	return r, nil
}

// permissionBlock answers a 403: the app lacks the permission named perm.
func permissionBlock(r Result, env, what, perm string) Result {
	r.Verdict = Block
	r.Reason = fmt.Sprintf("deploybot may not read the %s of GitHub environment `%s`; grant the app read access to %s", what, env, what)
	r.Detail = fmt.Sprintf("GitHub answered 403 when deploybot listed the %s of the environment `%s`. "+
		"An organization owner can grant the app the repository permission \"%s: read\" (only names are read, never values); then deploy again.", what, env, perm)
	return r
}

func missingNames(names []string, kind map[string]string) []string {
	var out []string
	for _, n := range names {
		if kind[strings.ToUpper(n)] == "" {
			out = append(out, n)
		}
	}
	return out
}

func joinNames(names []string) string {
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " and " + names[1]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// envVariableNames lists the names of the environment's variables (all
// pages). A 404 or 403 is returned as status, not as an error.
func envVariableNames(ctx context.Context, in Input, env string) ([]string, int, error) {
	vars, err := ListAll("variables", func(p PageRef) ([]*github.ActionsVariable, *github.Response, error) {
		// go-github puts env into the path as is; escape it here.
		res, resp, err := in.GitHub.Actions.ListEnvVariables(ctx, in.Owner, in.Name, url.PathEscape(env), &github.ListOptions{PerPage: 30, Page: p.Number})
		if res == nil {
			return nil, resp, err
		}
		return res.Variables, resp, err
	})
	if err != nil {
		if st := clientErrorStatus(err); st != 0 {
			return nil, st, nil
		}
		return nil, 0, fmt.Errorf("list variables of environment %s: %w", env, err)
	}
	var names []string
	for _, v := range vars {
		names = append(names, v.Name)
	}
	return names, 0, nil
}

// envSecretNames lists the names of the environment's secrets (all pages).
// go-github v62's ListEnvSecrets uses /repositories/{id}/…, which GitHub's
// REST description does not have, so the documented path is built here.
func envSecretNames(ctx context.Context, in Input, env string) ([]string, int, error) {
	secrets, err := ListAll("secrets", func(p PageRef) ([]*github.Secret, *github.Response, error) {
		u := fmt.Sprintf("repos/%s/%s/environments/%s/secrets?per_page=100&page=%d",
			url.PathEscape(in.Owner), url.PathEscape(in.Name), url.PathEscape(env), max(p.Number, 1))
		req, err := in.GitHub.NewRequest("GET", u, nil)
		if err != nil {
			return nil, nil, err
		}
		var page github.Secrets
		resp, err := in.GitHub.Do(ctx, req, &page)
		return page.Secrets, resp, err
	})
	if err != nil {
		if st := clientErrorStatus(err); st != 0 {
			return nil, st, nil
		}
		return nil, 0, fmt.Errorf("list secrets of environment %s: %w", env, err)
	}
	var names []string
	for _, s := range secrets {
		names = append(names, s.Name)
	}
	return names, 0, nil
}

// clientErrorStatus returns 404 or 403 when err is GitHub answering that
// (not a rate limit, which go-github reports as its own error types), else 0.
func clientErrorStatus(err error) int {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return 0
	}
	switch er.Response.StatusCode {
	case http.StatusNotFound, http.StatusForbidden:
		return er.Response.StatusCode
	}
	return 0
}
