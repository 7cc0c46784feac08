package importer

import (
	"context"

	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// CheckStore tells, writing nothing, whether a data store can be imported
// safely now: the configuration rules first and, when they hold, every
// volume set of the store on the primary as a FULL import would receive
// it. fn is called with the conflicts of each set in conflict; the count of
// sets checked is returned. Unlike a sync's report, nothing is left unlisted.
func CheckStore(ctx context.Context, primary, secondary store.Reader, opts Options, fn func([]safety.Conflict) error) ([]safety.Problem, int, error) {
	p, err := safety.DescribePrimary(ctx, primary, opts.StoreID)
	if err != nil {
		return nil, 0, err
	}
	problems, err := safety.CheckConfig(ctx, secondary, p, opts.Setup())
	if err != nil || len(problems) > 0 {
		return problems, 0, err
	}
	sets, err := eachSet(ctx, primary, secondary, opts, p.Groups, func(im *Import, set *Prepared) error {
		conflicts, err := im.Check(ctx, secondary, set)
		if err != nil || len(conflicts) == 0 {
			return err
		}
		return fn(conflicts)
	})
	return nil, sets, err
}

// eachSet prepares every volume set of the store on the primary, as a FULL
// import would receive it, and calls fn with each; it returns the number
// of sets.
func eachSet(ctx context.Context, primary, secondary store.Reader, opts Options, groups []string, fn func(*Import, *Prepared) error) (int, error) {
	im, err := New(ctx, secondary, opts, groups)
	if err != nil {
		return 0, err
	}
	items, _, err := export.Plan(ctx, primary, opts.StoreID, snapshot.Full, 0, 0)
	if err != nil {
		return 0, err
	}
	x := &export.Reader{R: primary, StoreID: opts.StoreID, CatalogFiles: opts.CatalogFiles}
	sets := 0
	err = x.Walk(ctx, items, nil, func(_ export.Item, set *snapshot.VolumeSet) error {
		sets++
		p, err := im.Prepare(set)
		if err != nil {
			return err
		}
		return fn(im, p)
	})
	return sets, err
}
