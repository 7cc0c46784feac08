package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// TestListsTakeFewStatements: a list filter of any length matches its
// values, each row once, and the lists of every length up to n take about
// log2(n) statements, not n: each statement is prepared and kept.
func TestListsTakeFewStatements(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "site.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 70
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := db.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			tv := catalog.TapeVolume{Volcat: "VC", Pool: "P", Volser: fmt.Sprintf("S%05d", i), Label: "BACKUP",
				Type: "CART3480", Status: catalog.StatusFull, VolsetID: fmt.Sprintf("S%05d", i), VolIndex: 1, EndOfDataLBA: -1}
			if err := tx.PutTapeVolume(ctx, &tv); err != nil {
				return err
			}
			tf := catalog.TapeFile{Filecat: "FC", FileID: "F", Generation: i + 1, PhysicalCopy: 1, LogicalCopy: 1,
				Created: day, Expiration: day.Add(24 * time.Hour), RecordFormat: "UN", BlockLength: 28, Mode: "BKVO",
				Status: catalog.FileValid, Volcat: "VC", Pool: "P", VolsetID: tv.VolsetID}
			if err := tx.PutTapeFile(ctx, &tf); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= n; k++ {
		var ids []string
		var gens []store.FileGen
		for i := range k {
			ids = append(ids, fmt.Sprintf("S%05d", i))
			gens = append(gens, store.FileGen{FileID: "F", Generation: i + 1})
		}
		var vols, files []string
		if err := db.ScanTapeVolumes(ctx, store.Filter{Volcat: "VC", VolsetIDs: ids}, func(tv *catalog.TapeVolume) error {
			vols = append(vols, tv.VolsetID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.ScanTapeFiles(ctx, store.Filter{Filecat: "FC", Gens: gens}, func(tf *catalog.TapeFile) error {
			files = append(files, tf.VolsetID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := strings.Join(ids, " "); strings.Join(vols, " ") != want || strings.Join(files, " ") != want {
			t.Fatalf("lists of %d: TAPEVOLUMEs of %v, TAPEFILEs of %v, want %s", k, vols, files, want)
		}
	}
	byTable := map[string]int{}
	for q := range db.stmts.m {
		if strings.Contains(q, " IN (") {
			byTable[strings.Fields(q[strings.Index(q, " FROM "):])[1]]++
		}
	}
	for _, table := range []string{"tapevolume", "tapefile"} {
		if got := byTable[table]; got == 0 || got > 8 {
			t.Errorf("lists of 1 to %d values took %d statements of %s, want at most 8", n, got, table)
		}
	}
}
