package parity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keystore"
	"github.com/catsync/catsync/internal/snapshot"
)

func keystoreAt(t *testing.T, name string) *keystore.Store {
	t.Helper()
	s, err := keystore.Open(filepath.Join(t.TempDir(), name), bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var secondary = catalog.Site{Node: `\SECD`, DomainID: "BBOX", BackPakID: "BPSECD01",
	KeyManagers: []catalog.KeyManagerEntry{{BackPakID: "BPPRIM01", Server: "kms.secd:5696"}}}

// world is a primary key manager with one key per volume T00000..Tn-1,
// replicated to a secondary, and the records a snapshot would carry.
type world struct {
	prim, sec *keystore.Store
	records   []snapshot.Key
}

func newWorld(t *testing.T, n int) *world {
	ctx := context.Background()
	w := &world{prim: keystoreAt(t, "prim"), sec: keystoreAt(t, "sec")}
	for i := range n {
		label := fmt.Sprintf("T%05d", i)
		info, err := w.prim.Create(ctx, "BPPRIM01", "K_"+label)
		if err != nil {
			t.Fatal(err)
		}
		material, _ := w.prim.Material(ctx, info.ID)
		if _, err := w.sec.Register(ctx, "BPPRIM01", info.Name, material); err != nil {
			t.Fatal(err)
		}
		w.records = append(w.records, snapshot.Key{Label: label, LabelType: catalog.Labeled, Name: info.Name,
			State: info.State, Algorithm: info.Algorithm, Length: info.Length, Fingerprint: info.Fingerprint})
	}
	return w
}

func (w *world) check(t *testing.T, site catalog.Site, recorded bool, batch int) Report {
	t.Helper()
	ctx := context.Background()
	c := New(w.sec, site, "BPPRIM01", recorded, batch)
	for i, k := range w.records {
		if err := c.Add(ctx, fmt.Sprintf("SET%d", i/2), k); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAllInParity(t *testing.T) {
	w := newWorld(t, 7)
	for _, batch := range []int{1, 3, 7, 0} {
		r := w.check(t, secondary, true, batch)
		if r.Failed() || r.Volumes != 7 || r.OK != 7 || r.Total != 0 {
			t.Errorf("batch %d: %+v", batch, r)
		}
	}
	if r := w.check(t, secondary, true, 0); r.Summary() != "7 encrypted volumes under BPPRIM01: 7 in parity" {
		t.Errorf("summary %q", r.Summary())
	}
}

// Each problem, planted at the secondary or in the records, is found for
// exactly its volume, with its detail; the others stay in parity.
func TestEveryProblem(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 8)
	find := func(label string) keys.Info {
		info, err := keys.Find(ctx, w.sec, "BPPRIM01", "K_"+label)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	// T00001 deactivated at the secondary.
	if err := w.sec.Deactivate(ctx, find("T00001").ID); err != nil {
		t.Fatal(err)
	}
	// T00002 missing: the secondary never had it; T00008 is not a key of
	// either side.
	w.records[2].Name = "K_NOWHERE"
	// T00003 other material under the same name.
	other := bytes.Repeat([]byte{1}, 32)
	if _, err := w.sec.Register(ctx, "BPPRIM01", "K_T00003B", other); err != nil {
		t.Fatal(err)
	}
	w.records[3].Name = "K_T00003B"
	fpOther, _ := keys.CheckValue(other)
	// T00004 misfiled under the secondary's own BackPak id.
	if _, err := w.sec.Register(ctx, "BPSECD01", "K_T00004B", other); err != nil {
		t.Fatal(err)
	}
	w.records[4].Name = "K_T00004B"
	// T00005 unknown to the primary's key manager when the snapshot was
	// taken; T00006 deactivated there.
	w.records[5] = snapshot.Key{Label: "T00005", LabelType: catalog.Labeled, Name: "K_T00005"}
	w.records[6].State, w.records[6].Fingerprint = keys.Deactivated, ""

	r := w.check(t, secondary, true, 3)
	want := []Finding{
		{Set: "SET0", Label: "T00001", LabelType: catalog.Labeled, Key: "K_T00001", Problem: Inactive, Detail: "state Deactivated at the secondary"},
		{Set: "SET1", Label: "T00002", LabelType: catalog.Labeled, Key: "K_NOWHERE", Problem: Missing, Detail: "no key of this name under BackPak id BPPRIM01"},
		{Set: "SET1", Label: "T00003", LabelType: catalog.Labeled, Key: "K_T00003B", Problem: Mismatched,
			Detail: fmt.Sprintf("fingerprint %s at the secondary, %s at the primary", fpOther, w.records[3].Fingerprint)},
		{Set: "SET2", Label: "T00004", LabelType: catalog.Labeled, Key: "K_T00004B", Problem: Misfiled, Detail: "filed under BackPak id BPSECD01, not BPPRIM01"},
		{Set: "SET2", Label: "T00005", LabelType: catalog.Labeled, Key: "K_T00005", Problem: Unrecorded,
			Detail: "the primary's key manager had no key of this name under BPPRIM01 when the snapshot was taken"},
		{Set: "SET3", Label: "T00006", LabelType: catalog.Labeled, Key: "K_T00006", Problem: Unrecorded, Detail: "the key was Deactivated at the primary and gave no fingerprint"},
	}
	if !reflect.DeepEqual(r.Findings, want) {
		t.Errorf("findings\n got %v\nwant %v", r.Findings, want)
	}
	if r.Volumes != 8 || r.OK != 2 || r.Total != 6 || !r.Failed() ||
		!reflect.DeepEqual(r.ByProblem, map[Problem]int{Inactive: 1, Missing: 1, Mismatched: 1, Misfiled: 1, Unrecorded: 2}) {
		t.Errorf("counts %+v", r)
	}
	if got := r.Summary(); got != "8 encrypted volumes under BPPRIM01: 2 in parity, INACTIVE 1, MISFILED 1, MISMATCHED 1, MISSING 1, UNRECORDED 2" {
		t.Errorf("summary %q", got)
	}
	for p := range r.ByProblem {
		if Actions[p] == "" {
			t.Errorf("no action for %s", p)
		}
	}
}

// A secondary domain without an entry for the primary's BackPak id fails
// parity even when every key is there: BackPak would not look under it.
func TestDomainWithoutThePrimarysBackPakID(t *testing.T) {
	w := newWorld(t, 3)
	site := secondary
	site.KeyManagers = []catalog.KeyManagerEntry{{BackPakID: "BPWRONG", Server: "kms.secd:5696"}}
	r := w.check(t, site, true, 0)
	if !r.Failed() || r.OK != 3 ||
		r.Domain != `the secondary domain BBOX of \SECD has no key-manager entry with the primary's BackPak id BPPRIM01 (own id BPSECD01, entries: BPWRONG=kms.secd:5696): BackPak there cannot find the replicated keys` {
		t.Errorf("%+v", r)
	}
	// The domain's own BackPak id being the primary's is enough.
	site.KeyManagers, site.BackPakID = nil, "BPPRIM01"
	if r := w.check(t, site, true, 0); r.Failed() {
		t.Errorf("own id: %+v", r)
	}
}

func TestNoFingerprintsRecorded(t *testing.T) {
	w := newWorld(t, 2)
	r := w.check(t, secondary, false, 0)
	if r.ByProblem[Unrecorded] != 2 || !strings.Contains(r.Findings[0].Detail, "no key manager") {
		t.Errorf("%+v", r)
	}
}

func TestNoKeyManagerAtTheSecondary(t *testing.T) {
	c := New(nil, secondary, "BPPRIM01", true, 0)
	if err := c.Add(context.Background(), "S", snapshot.Key{Name: "K"}); !errors.Is(err, ErrNoKeyManager) {
		t.Fatalf("got %v", err)
	}
	// Nothing encrypted: nothing to check, no key manager needed.
	if r, err := New(nil, secondary, "BPPRIM01", true, 0).Report(context.Background()); err != nil || r.Failed() {
		t.Fatalf("%+v, %v", r, err)
	}
}

// Every finding is counted; the report lists the first MaxListed.
func TestFindingsBounded(t *testing.T) {
	ctx := context.Background()
	c := New(keystoreAt(t, "empty"), secondary, "BPPRIM01", true, 0)
	for i := range MaxListed + 20 {
		if err := c.Add(ctx, "S", snapshot.Key{Label: fmt.Sprintf("T%05d", i), Name: fmt.Sprintf("K%d", i), Fingerprint: "kcv:00"}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.Report(ctx)
	if err != nil || r.Total != MaxListed+20 || len(r.Findings) != MaxListed || !strings.HasSuffix(r.Summary(), "20 not listed") {
		t.Fatalf("total %d, listed %d, %q, %v", r.Total, len(r.Findings), r.Summary(), err)
	}
}

// After a failover the writer of a store's volumes changes: a key filed by
// another domain is recorded under that domain's id (Record looks under
// the ids the site reads), and checked there; a domain without an entry
// for that id is told, naming it.
func TestKeysOfAnotherDomain(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	// T00009 was written by a third domain BPDR0001, filed there under its
	// own id and replicated to the other site likewise.
	info, err := w.prim.Create(ctx, "BPDR0001", "K_T00009")
	if err != nil {
		t.Fatal(err)
	}
	material, _ := w.prim.Material(ctx, info.ID)
	if _, err := w.sec.Register(ctx, "BPDR0001", info.Name, material); err != nil {
		t.Fatal(err)
	}
	producer := catalog.Site{BackPakID: "BPPRIM01", KeyManagers: []catalog.KeyManagerEntry{{BackPakID: "BPDR0001", Server: "kms:5696"}}}
	vols := []catalog.Volume{{Label: "T00000", LabelType: catalog.Labeled, MediaKeyName: "K_T00000"},
		{Label: "T00009", LabelType: catalog.Labeled, MediaKeyName: "K_T00009"}}
	recs, err := Record(ctx, w.prim, producer.BackPakID, Readable(producer), vols)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Group != "" || recs[1].Group != "BPDR0001" || recs[1].Fingerprint != info.Fingerprint {
		t.Fatalf("records %+v", recs)
	}
	w.records = recs
	site := secondary
	site.KeyManagers = append(site.KeyManagers, catalog.KeyManagerEntry{BackPakID: "BPDR0001", Server: "kms:5696"})
	if r := w.check(t, site, true, 0); r.Failed() || r.OK != 2 {
		t.Fatalf("%+v", r)
	}
	if r := w.check(t, secondary, true, 0); r.OK != 2 || !strings.Contains(r.Domain, "no key-manager entry with BackPak id BPDR0001") {
		t.Fatalf("domain without the writer's id: %+v", r)
	}
	// Without the id to read, the key is not found under the producer's.
	if recs, _ := Record(ctx, w.prim, producer.BackPakID, nil, vols); recs[1].State != "" {
		t.Fatalf("found without looking under BPDR0001: %+v", recs[1])
	}
}
