package sim

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/catsync/catsync/internal/store/sqlstore"
)

func TestSmoke(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	p := DefaultParams()
	if err := Init(ctx, st, p); err != nil {
		t.Fatal(err)
	}
	n, _ := st.Count(ctx)
	t.Log(n)
	if err := Advance(ctx, st, 5); err != nil {
		t.Fatal(err)
	}
	n, _ = st.Count(ctx)
	t.Log(n)
}
