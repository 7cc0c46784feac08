package activities

import (
	"context"

	"github.com/catsync/catsync/internal/catalog"
)

// PauseInput names the data store whose schedules a failover pauses, and
// the note they carry while paused.
type PauseInput struct {
	Store string `json:"store"`
	Note  string `json:"note"`
}

// PauseSchedules pauses the store's schedules, so that none starts an
// import into a store this site now owns; it returns their ids.
func (a *Activities) PauseSchedules(ctx context.Context, in PauseInput) ([]string, error) {
	if a.Schedules == nil {
		return nil, classify(catalog.ConfigErrorf("the worker of %s has no Temporal client to pause the schedules of %s with", a.Site.Name, in.Store))
	}
	return a.Schedules.PauseStore(ctx, in.Store, in.Note)
}
