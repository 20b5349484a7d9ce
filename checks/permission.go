package checks

import (
	"context"
	"fmt"

	"github.com/deploybot/deploybot/config"
)

// Permission passes when the actor's collaborator role, read from the API,
// is at least the environment's required permission.
type Permission struct{}

func (Permission) Name() string { return "permission" }

func (Permission) Evaluate(_ context.Context, in Input) (Result, error) {
	need := in.Environment.Permission
	if need == "" {
		need = config.PermissionWrite
	}
	r := Result{Gate: "permission"}
	if in.ActorRole.AtLeast(need) {
		r.Verdict, r.Reason = Pass, fmt.Sprintf("@%s has %s (needs %s)", in.Actor, in.ActorRole, need)
	} else {
		r.Verdict, r.Reason = Block, fmt.Sprintf("@%s has %s; deploying to %s needs %s", in.Actor, roleOrNone(in.ActorRole), in.Environment.Name, need)
	}
	return r, nil
}

func roleOrNone(p config.Permission) config.Permission {
	if p == "" {
		return config.PermissionNone
	}
	return p
}
