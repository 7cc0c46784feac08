package activities

import (
	"context"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
)

// Describe reads, on the primary, what the configuration check needs.
func (a *Activities) Describe(ctx context.Context, storeID string) (safety.Primary, error) {
	return safety.DescribePrimary(ctx, a.Site.Catalog, storeID)
}

// CheckInput asks the secondary whether importing a data store is safe.
type CheckInput struct {
	Primary safety.Primary   `json:"primary"`
	Options importer.Options `json:"options"`
}

// CheckConfig checks, on the secondary, the configuration rules of an
// import; any rule broken fails with a configuration error listing them all.
func (a *Activities) CheckConfig(ctx context.Context, in CheckInput) error {
	problems, err := safety.CheckConfig(ctx, a.Site.Catalog, in.Primary, in.Options.Setup())
	if err != nil {
		return err
	}
	return classify(safety.ProblemsError(problems))
}
