package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
)

// PauseInput names the data store whose schedules a failover pauses, the
// note they carry while paused, and who approved.
type PauseInput struct {
	Store    string `json:"store"`
	Note     string `json:"note"`
	Operator string `json:"operator,omitempty"`
}

// PauseSchedules pauses the store's schedules, so that none starts an
// import into a store this site now owns, records the change in the audit
// trail as every schedule change is, and returns their ids.
func (a *Activities) PauseSchedules(ctx context.Context, in PauseInput) ([]string, error) {
	return a.setSchedules(ctx, in, true)
}

// UnpauseSchedules resumes the store's schedules once a failback gave the
// store back to the primary, recorded likewise.
func (a *Activities) UnpauseSchedules(ctx context.Context, in PauseInput) ([]string, error) {
	return a.setSchedules(ctx, in, false)
}

func (a *Activities) setSchedules(ctx context.Context, in PauseInput, pause bool) ([]string, error) {
	if a.Schedules == nil {
		return nil, classify(catalog.ConfigErrorf("the worker of %s has no Temporal client to change the schedules of %s with", a.Site.Name, in.Store))
	}
	// The outcomes are the schedule CLI's, for one filter of both.
	verb, act, change := "paused", "paused", a.Schedules.PauseStore
	if !pause {
		verb, act, change = "unpaused", "unpaused", a.Schedules.UnpauseStore
	}
	ids, err := change(ctx, in.Store, in.Note)
	if err != nil || len(ids) == 0 {
		return ids, err
	}
	e := audit.Entry{Kind: audit.KindSchedule, Store: in.Store, Operator: in.Operator, Outcome: verb,
		Detail: act + " " + strings.Join(ids, ", ") + ": " + in.Note, Started: time.Now().UTC(), Finished: time.Now().UTC()}
	if activity.IsActivity(ctx) {
		run := activity.GetInfo(ctx).WorkflowExecution
		e.WorkflowID, e.RunID = run.ID, run.RunID
	}
	if _, err := audit.Append(ctx, a.Site.Catalog, e); err != nil {
		return ids, fmt.Errorf("schedules of %s %s, but not recorded: %w", in.Store, act, err)
	}
	return ids, nil
}
