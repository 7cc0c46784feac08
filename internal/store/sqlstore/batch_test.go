package sqlstore

import (
	"reflect"
	"strings"
	"testing"
)

// Keys held back that print alike when joined, or as characters, stay apart.
func TestHeldKeysDiffer(t *testing.T) {
	pairs := [][2][]any{
		{{"AB", "C"}, {"A", "BC"}},
		{{"F", int64(1) << 40}, {"F", int64(1)<<40 + 1}},
		{{"F", 12, 0}, {"F", 1, 20}},
		{{"1:A"}, {"A", "1"}},
		{{int64(3)}, {"3"}},
		{{true, "x"}, {"true", "x"}},
	}
	for _, p := range pairs {
		if heldKey(p[0]) == heldKey(p[1]) {
			t.Errorf("%v and %v share the held key %s", p[0], p[1], heldKey(p[0]))
		}
	}
}

// Rows become one array a column; a value of a type the column's first
// row did not have is refused, naming the column, where a flush would
// have sent it under another type.
func TestColumnArrays(t *testing.T) {
	cols, err := columnArrays([][]any{{"A", 1, int64(1) << 40}, {"B", 2, int64(3)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{[]string{"A", "B"}, []int64{1, 2}, []int64{1 << 40, 3}}
	if !reflect.DeepEqual(cols, want) {
		t.Errorf("column arrays %v, want %v", cols, want)
	}
	for _, rows := range [][][]any{
		{{"A", 1}, {"B", "2"}},
		{{"A", 1}, {2, 2}},
		{{"A", true}},
	} {
		if _, err := columnArrays(rows); err == nil || !strings.Contains(err.Error(), "column ") {
			t.Errorf("rows %v: error %v, want one naming the column", rows, err)
		}
	}
}

// Every table's columns have an array type to be sent as, on PostgreSQL:
// a column of another Go type would fail only there, at its first write.
func TestEveryTableSendsAsArrays(t *testing.T) {
	for name, q := range map[string]func() (string, error){
		siteTable.name: siteTable.unnestSQL, dataStoreTable.name: dataStoreTable.unnestSQL,
		volumeGroupTable.name: volumeGroupTable.unnestSQL, volumeTable.name: volumeTable.unnestSQL,
		poolTable.name: poolTable.unnestSQL, tapeVolumeTable.name: tapeVolumeTable.unnestSQL,
		vtofcTable.name: vtofcTable.unnestSQL, configTable.name: configTable.unnestSQL,
		tapeFileTable.name: tapeFileTable.unnestSQL, tftovTable.name: tftovTable.unnestSQL,
		diskFileTable.name: diskFileTable.unnestSQL, dftovTable.name: dftovTable.unnestSQL,
		changeTable.name: changeTable.unnestSQL,
	} {
		if s, err := q(); err != nil || !strings.Contains(s, "unnest($1::") {
			t.Errorf("%s: %q, %v", name, s, err)
		}
	}
}
