package importer

import (
	"context"
	"errors"
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
			ab := newAbsent()
			if err := ab.find(ctx, tx, []readKey{configRead(fc, "DAILY"), configRead(fc, "WEEKLY")}); err != nil {
				return err
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
				want := read(tx)
				if got := read(through); got != want {
					t.Errorf("%s: through the look-up %q, the store %q", s.what, got, want)
				}
				// Every FILEID read is known, found or absent: the
				// answer comes without a read of the store's CONFIG.
				if got := read(ab.Reader(noConfigReads{tx})); got != want {
					t.Errorf("%s: the look-up alone answers %q, the store %q", s.what, got, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// noConfigReads is a reader whose CONFIG table cannot be read.
type noConfigReads struct{ store.Reader }

func (noConfigReads) ScanFileConfigs(context.Context, store.Filter, func(*catalog.FileConfig) error) error {
	return errors.New("CONFIG read from the store")
}
