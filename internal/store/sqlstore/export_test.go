package sqlstore

import "context"

// OpenVersion opens dsn migrated up to version only: a catalog as an older
// catsync left it.
func OpenVersion(ctx context.Context, dsn string, version int) (*DB, error) {
	return open(ctx, dsn, version)
}

// MinAnalyzeRows is how many rows written make a PostgreSQL table analyzed.
const MinAnalyzeRows = minAnalyzeRows
