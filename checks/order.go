package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Order passes when the SHA was deployed successfully to every environment
// in Requires (the environment's `requires`), according to the store's
// deployment history.
type Order struct{ Requires []string }

func (Order) Name() string { return "order" }

func (g Order) Evaluate(ctx context.Context, in Input) (Result, error) {
	r := Result{Gate: "order"}
	if len(g.Requires) == 0 {
		r.Verdict, r.Reason = Skip, "no environment must be deployed first"
		return r, nil
	}
	if in.Deployed == nil {
		return Result{}, errors.New("order gate: no deployment history available (Input.Deployed is nil)")
	}
	var done, missing []string
	for _, env := range g.Requires {
		ok, err := in.Deployed(ctx, env, in.SHA)
		if err != nil {
			return Result{}, fmt.Errorf("read deployments of %s to %s: %w", short(in.SHA), env, err)
		}
		if ok {
			done = append(done, env)
		} else {
			missing = append(missing, env)
		}
	}
	sha := short(in.SHA)
	target := "this environment"
	if in.Environment != nil && in.Environment.Name != "" {
		target = in.Environment.Name
	}
	if len(missing) > 0 {
		var cmds []string
		for _, env := range missing {
			cmds = append(cmds, "/deploy "+env)
		}
		r.Verdict = Block
		r.Reason = fmt.Sprintf("not yet deployed to %s; run %s first", joinNames(missing), joinNames(cmds))
		r.Detail = fmt.Sprintf("%s requires every commit to be deployed successfully to %s first, and `%s` has not been to %s. "+
			"Deploy the same commit there (`%s`), let it succeed, then deploy to %s again.\n",
			target, joinNames(g.Requires), sha, joinNames(missing), strings.Join(cmds, "`, `"), target)
		return r, nil
	}
	r.Verdict = Pass
	r.Reason = fmt.Sprintf("deployed to %s first", joinNames(done))
	r.Detail = fmt.Sprintf("`%s` was deployed successfully to %s before %s.\n", sha, joinNames(done), target)
	return r, nil
}
