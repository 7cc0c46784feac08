package safety

import (
	"encoding/json"
	"testing"

	"github.com/catsync/catsync/internal/snapshot"
)

// FuzzSetRules runs the set invariants and the reference walk on arbitrary
// volume sets, as a hostile snapshot could carry them: they never panic,
// and every conflict names the set, a known rule and what to do.
func FuzzSetRules(f *testing.F) {
	good, err := json.Marshal(fixtureSet())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, true)
	f.Add(good, false)
	for _, s := range []string{`{"id":"A"}`, `{"id":"A","tapefiles":[{"Filecat":"F","FileID":"X","Generation":40000,"Status":"VALID"}]}`,
		`{"id":"A","tftov":[{"Filecat":"F"}],"dftov":[{"Name":"N"}],"diskfiles":[{"Name":"N"}]}`,
		`{"id":"A","vtofc":[{"Filecat":"F1"},{"Filecat":"F2"}],"configs":[{"Filecat":"F1","FileID":"X","LastGeneration":-5}]}`} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, catalogFiles bool) {
		var s snapshot.VolumeSet
		if json.Unmarshal(b, &s) != nil {
			return
		}
		cs := Invariants(&s, catalogFiles)
		refs, bad := References(&s, catalogFiles)
		for _, c := range append(cs, bad...) {
			if c.Set != s.ID || c.Detail == "" || c.Action == "" || Rules[c.Rule].Explain == "" || c.String() == "" {
				t.Fatalf("incomplete conflict %+v", c)
			}
		}
		for _, r := range refs {
			if r.From == "" || r.String() == "" {
				t.Fatalf("reference without origin %+v", r)
			}
		}
	})
}
