package deploy

import (
	"context"

	"github.com/deploybot/deploybot/config"
)

// planSwitchBack turns a rollback of a blue-green environment into one
// `switch` when the idle slot still holds the version rolled back to: the
// switch that replaced it is younger than keep_previous. After that the
// rollback is a normal redeploy.
func (s *Service) planSwitchBack(ctx context.Context, req *Request) error {
	bg := req.Environment.Strategy.BlueGreen
	if req.Task != TaskRollback || bg == nil || req.Environment.Strategy.Name != config.StrategyBlueGreen || bg.KeepPrevious.Duration <= 0 {
		return nil
	}
	slot, err := s.Store.EnvSlot(ctx, req.Owner+"/"+req.Repo, req.Environment.Name)
	if err != nil || slot == nil {
		return err
	}
	if slot.PreviousSHA != req.SHA || s.now().Sub(slot.SwitchedAt) > bg.KeepPrevious.Duration {
		return nil
	}
	req.Strategy, req.Context.SwitchBack = config.StrategyBlueGreen, true
	return nil
}
