package serve

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// The dev server's script registers, by name and type, every search
// attribute catsync setup registers: a worker started on the dev server
// checks them all and would not start without one.
func TestDevServerRegistersEverySearchAttribute(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "dev-server"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^for sa in ([^;]+); do`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/dev-server: no `for sa in ...` list of search attributes")
	}
	types := map[string]enumspb.IndexedValueType{"Keyword": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"Int": enumspb.INDEXED_VALUE_TYPE_INT, "Double": enumspb.INDEXED_VALUE_TYPE_DOUBLE}
	got := map[string]enumspb.IndexedValueType{}
	for _, sa := range strings.Fields(string(m[1])) {
		name, typ, _ := strings.Cut(sa, "=")
		got[name] = types[typ]
	}
	want := searchAttributes()
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("scripts/dev-server registers %s as %v, catsync setup as %v", name, got[name], typ)
		}
	}
	if len(got) != len(want) {
		t.Errorf("scripts/dev-server registers %v, catsync setup %v", got, want)
	}
}
