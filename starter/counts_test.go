package main

import (
	"context"
	"reflect"
	"strconv"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/inspect"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// TestCounts checks that counts prints what inspect counts (the join is
// tested there), as a table and as JSON.
func TestCounts(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := sqltest.Open(t, path)
	n, err := st.Count(ctx)
	must(t, err)
	stores, err := inspect.CountStores(ctx, st)
	must(t, err)
	if len(stores) != 1 || stores[0].ID != "DS_PROD" {
		t.Fatalf("data stores %+v", stores)
	}
	prod := stores[0]

	text := mustRun(t, "counts", "--catalog", path)
	for _, tab := range store.Tables {
		r := rows(text, tab)
		if len(r) != 1 || r[0][1] != strconv.FormatInt(n[tab], 10) {
			t.Errorf("counts: table %s: %v, want %d", tab, r, n[tab])
		}
	}
	want := []string{"DS_PROD", "PRIMARY", strconv.FormatInt(prod.Volumes, 10)}
	for _, a := range catalog.DomainAccesses {
		want = append(want, strconv.FormatInt(prod.ByAccess[string(a)], 10))
	}
	for _, s := range catalog.VolumeStatuses {
		want = append(want, strconv.FormatInt(prod.ByStatus[string(s)], 10))
	}
	want = append(want, strconv.FormatInt(prod.ByStatus[inspect.NoTapeVolume], 10), strconv.FormatInt(prod.LastSeq, 10))
	if r := rows(text, "DS_PROD"); len(r) != 1 || !reflect.DeepEqual(r[0], want) {
		t.Errorf("counts: DS_PROD row %v, want %v", r, want)
	}

	rep := jsonValue[countsReport](t, mustRun(t, "counts", "--catalog", path, "--json"))
	if rep.Node != `\PRIM` || rep.Clock != "2026-01-15" {
		t.Errorf("counts --json: node %q clock %q", rep.Node, rep.Clock)
	}
	for _, tab := range store.Tables {
		if rep.Tables[tab] != n[tab] {
			t.Errorf("counts --json: %s %d, want %d", tab, rep.Tables[tab], n[tab])
		}
	}
	if !reflect.DeepEqual(rep.Stores, stores) {
		t.Errorf("counts --json: stores %+v, want %+v", rep.Stores, stores)
	}
	if prod.Volumes == 0 || prod.ByAccess["PRIMARY"] != prod.Volumes {
		t.Errorf("DS_PROD: %+v", prod)
	}
}
