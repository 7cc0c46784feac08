package importer

import (
	"context"
	"fmt"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// TestAbsentConfigsFollowWrites: the CONFIG rows a batch's look-up knows
// are answered as the store would answer after each put and delete made
// through it, whether the look-up found the row or found it absent.
func TestAbsentConfigsFollowWrites(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		ctx := context.Background()
		st := newStore(t)
		const fc = `\SECD.FCREPL`
		had := catalog.FileConfig{Filecat: fc, FileID: "DAILY", LastGeneration: 3}
		err := st.Update(ctx, func(tx store.Tx) error { return tx.PutFileConfig(ctx, &had) })
		if err != nil {
			t.Fatal(err)
		}
		err = st.Update(ctx, func(tx store.Tx) error {
			ab := &Absent{keys: map[readKey]bool{}, configs: map[readKey]catalog.FileConfig{}}
			keys := []readKey{configRead(fc, "DAILY"), configRead(fc, "WEEKLY")}
			found, err := lookUp(ctx, tx, keys, ab.configs)
			if err != nil {
				return err
			}
			for _, k := range keys {
				if !found[k] {
					ab.keys[k] = true
				}
			}
			through := ab.Tx(tx)
			// read gives what a read of both FILEIDs, and of each, finds.
			read := func(r store.Reader) string {
				var out string
				for _, f := range []store.Filter{
					{Filecat: fc, FileIDs: []string{"WEEKLY", "DAILY", "WEEKLY"}},
					{Filecat: fc, FileID: "DAILY"}, {Filecat: fc, FileID: "WEEKLY"},
				} {
					if err := r.ScanFileConfigs(ctx, f, func(c *catalog.FileConfig) error {
						out += fmt.Sprintf("%s=%d ", c.FileID, c.LastGeneration)
						return nil
					}); err != nil {
						return err.Error()
					}
					out += "| "
				}
				return out
			}
			steps := []struct {
				what string
				do   func() error
			}{
				{"as looked up", func() error { return nil }},
				{"DAILY found, then put", func() error {
					return through.PutFileConfig(ctx, &catalog.FileConfig{Filecat: fc, FileID: "DAILY", LastGeneration: 4})
				}},
				{"WEEKLY absent, then put", func() error {
					return through.PutFileConfig(ctx, &catalog.FileConfig{Filecat: fc, FileID: "WEEKLY", LastGeneration: 1})
				}},
				{"DAILY deleted", func() error {
					return through.DeleteFileConfig(ctx, &catalog.FileConfig{Filecat: fc, FileID: "DAILY"})
				}},
				{"DAILY put again", func() error {
					return through.PutFileConfig(ctx, &catalog.FileConfig{Filecat: fc, FileID: "DAILY", LastGeneration: 7})
				}},
			}
			for _, s := range steps {
				if err := s.do(); err != nil {
					return fmt.Errorf("%s: %w", s.what, err)
				}
				if got, want := read(through), read(tx); got != want {
					t.Errorf("%s: through the look-up %q, the store %q", s.what, got, want)
				}
			}
			if n := len(ab.configs); n != 2 {
				t.Errorf("the look-up knows %d CONFIG rows, want both", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
