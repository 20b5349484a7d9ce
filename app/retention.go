package app

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// RetentionEvery is how often delivery ids past retention are deleted.
const RetentionEvery = time.Hour

// RetentionArgs is the periodic job that deletes delivery rows older than
// the retention period (DEPLOYBOT_RETENTION).
type RetentionArgs struct{}

func (RetentionArgs) Kind() string { return "delivery_retention" }

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	app *App
}

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	_, err := w.app.DropExpiredDeliveries(ctx)
	return err
}

// registerRetention adds the retention worker and returns its schedule.
func (a *App) registerRetention(workers *river.Workers) *river.PeriodicJob {
	river.AddWorker(workers, &retentionWorker{app: a})
	return river.NewPeriodicJob(river.PeriodicInterval(RetentionEvery),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{ID: RetentionArgs{}.Kind()})
}

// DropExpiredDeliveries deletes the deliveries received longer ago than the
// retention period and returns how many it deleted.
func (a *App) DropExpiredDeliveries(ctx context.Context) (int64, error) {
	retention := a.Settings.Retention
	if retention <= 0 {
		retention = DefaultRetention
	}
	n, err := a.Store.DeleteDeliveriesBefore(ctx, a.now().Add(-retention))
	if err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	return n, nil
}
