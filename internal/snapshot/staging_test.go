package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// exported writes a snapshot of sets into the outbox src and returns its
// manifest and the Ref a primary would send.
func exported(t *testing.T, src Area, store, id string, sets []*VolumeSet, perSegment int) (Manifest, Ref) {
	t.Helper()
	w := signedWriter(src.Dir(store, id), Manifest{ID: id, Store: store, Type: Full, ToSeq: 42,
		Created: time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)}, perSegment)
	for _, s := range sets {
		if _, err := w.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	m, digest, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return m, Ref{Store: store, ID: id, Digest: digest, Type: m.Type, ToSeq: m.ToSeq, Sets: m.Counts["sets"]}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// outboxAndStaging returns two areas on separate roots.
func outboxAndStaging(t *testing.T) (Area, Area) {
	return Area{Root: filepath.Join(t.TempDir(), "outbox"), Keys: testKeys}, Area{Root: filepath.Join(t.TempDir(), "staging"), Keys: testKeys}
}

func TestTransferCopiesAndVerifies(t *testing.T) {
	src, dst := outboxAndStaging(t)
	sets := fxSets(0, 8)
	m, ref := exported(t, src, "DS PROD/1", "run-1", sets, 3)
	got, err := Transfer(src, dst, ref, Applied{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("Transfer returned\n%+v\nwant\n%+v", got, m)
	}
	from, to := src.Dir(ref.Store, ref.ID), dst.Dir(ref.Store, ref.ID)
	for _, name := range append([]string{ManifestFile}, SegmentName(1), SegmentName(2), SegmentName(3)) {
		a, err1 := os.ReadFile(filepath.Join(from, name))
		b, err2 := os.ReadFile(filepath.Join(to, name))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs in staging: %v %v", name, err1, err2)
		}
	}
	staged, _, err := ReadManifest(to, ref.Digest)
	if err != nil || !reflect.DeepEqual(staged, m) {
		t.Fatalf("staged manifest: %v", err)
	}
	for _, s := range staged.Segments {
		if err := VerifySegment(to, s); err != nil {
			t.Error(err)
		}
	}
	if read := readAll(t, to, staged); !reflect.DeepEqual(read, sets) {
		t.Error("staged sets differ from those exported")
	}
	noTempFiles(t, dst.Root)
	// The source is left as it was.
	if _, _, err := ReadManifest(from, ref.Digest); err != nil {
		t.Error(err)
	}
	// A transfer of a complete copy is a no-op that succeeds.
	if _, err := Transfer(src, dst, ref, Applied{}); err != nil {
		t.Errorf("second transfer: %v", err)
	}
}

// setOld backdates the staged segments so a re-copy shows in their mtime.
func setOld(t *testing.T, dir string, m Manifest) time.Time {
	t.Helper()
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range m.Segments {
		if err := os.Chtimes(filepath.Join(dir, s.Name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return old
}

func TestTransferRecopiesOnlyDamagedSegment(t *testing.T) {
	for name, damage := range map[string]func(string) error{
		"flipped byte": func(p string) error { return flipByte(p, 100) },
		"truncated":    func(p string) error { return truncateBy(p, 3) },
		"missing":      os.Remove,
		"replaced":     func(p string) error { return os.WriteFile(p, []byte(hdr), 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			src, dst := outboxAndStaging(t)
			m, ref := exported(t, src, "DS_PROD", "run-2", fxSets(0, 9), 3)
			if _, err := Transfer(src, dst, ref, Applied{}); err != nil {
				t.Fatal(err)
			}
			to := dst.Dir(ref.Store, ref.ID)
			old := setOld(t, to, m)
			damaged := filepath.Join(to, m.Segments[1].Name)
			if err := damage(damaged); err != nil {
				t.Fatal(err)
			}
			if _, err := Transfer(src, dst, ref, Applied{}); err != nil {
				t.Fatalf("transfer over a damaged staged segment: %v", err)
			}
			for n, s := range m.Segments {
				if err := VerifySegment(to, s); err != nil {
					t.Errorf("after the second transfer: %v", err)
				}
				fi, err := os.Stat(filepath.Join(to, s.Name))
				if err != nil {
					t.Fatal(err)
				}
				if recopied := !fi.ModTime().Equal(old); recopied != (n == 1) {
					t.Errorf("%s re-copied: %v, want %v", s.Name, recopied, n == 1)
				}
			}
			if _, _, err := ReadManifest(to, ref.Digest); err != nil {
				t.Error(err)
			}
			noTempFiles(t, dst.Root)
		})
	}
}

func TestTransferCorruptSource(t *testing.T) {
	src, dst := outboxAndStaging(t)
	m, ref := exported(t, src, "DS_PROD", "run-3", fxSets(0, 9), 3)
	bad := m.Segments[1]
	if err := flipByte(filepath.Join(src.Dir(ref.Store, ref.ID), bad.Name), 200); err != nil {
		t.Fatal(err)
	}
	_, err := Transfer(src, dst, ref, Applied{})
	asCorrupt(t, "corrupt source segment", err, bad.Name)
	if err != nil && !strings.Contains(err.Error(), "corrupt at the source") {
		t.Errorf("error %q does not say the source is corrupt", err)
	}
	to := dst.Dir(ref.Store, ref.ID)
	if exists(filepath.Join(to, ManifestFile)) {
		t.Error("a manifest was staged for an incomplete copy")
	}
	if exists(filepath.Join(to, bad.Name)) {
		t.Error("the corrupt segment was staged")
	}
	if err := VerifySegment(to, m.Segments[0]); err != nil {
		t.Errorf("the segment before the corrupt one: %v", err)
	}
	noTempFiles(t, dst.Root)

	// A truncated source segment is corrupt too.
	if err := truncateBy(filepath.Join(src.Dir(ref.Store, ref.ID), m.Segments[2].Name), 1); err != nil {
		t.Fatal(err)
	}
	if err := flipByte(filepath.Join(src.Dir(ref.Store, ref.ID), bad.Name), 200); err != nil { // repaired
		t.Fatal(err)
	}
	_, err = Transfer(src, dst, ref, Applied{})
	asCorrupt(t, "truncated source segment", err, m.Segments[2].Name)
	if exists(filepath.Join(to, ManifestFile)) {
		t.Error("a manifest was staged for an incomplete copy")
	}
}

func TestTransferMissingSourceSegment(t *testing.T) {
	src, dst := outboxAndStaging(t)
	m, ref := exported(t, src, "DS_PROD", "run-4", fxSets(0, 9), 3)
	from, to := src.Dir(ref.Store, ref.ID), dst.Dir(ref.Store, ref.ID)
	missing := filepath.Join(from, m.Segments[2].Name)
	saved, err := os.ReadFile(missing)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(missing)
	_, err = Transfer(src, dst, ref, Applied{})
	asCorrupt(t, "missing source segment", err, m.Segments[2].Name)
	if exists(filepath.Join(to, ManifestFile)) {
		t.Fatal("a manifest was staged although a segment is missing")
	}
	for _, s := range m.Segments[:2] {
		if err := VerifySegment(to, s); err != nil {
			t.Errorf("segment before the missing one: %v", err)
		}
	}
	// Once the segment is back, a retry copies only what is missing.
	old := setOld(t, to, Manifest{Segments: m.Segments[:2]})
	if err := os.WriteFile(missing, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Transfer(src, dst, ref, Applied{}); err != nil {
		t.Fatalf("retried transfer: %v", err)
	}
	for _, s := range m.Segments[:2] {
		if fi, err := os.Stat(filepath.Join(to, s.Name)); err != nil || !fi.ModTime().Equal(old) {
			t.Errorf("%s copied again on the retry", s.Name)
		}
	}
	if _, _, err := ReadManifest(to, ref.Digest); err != nil {
		t.Error(err)
	}
}

func TestTransferWrongDigest(t *testing.T) {
	src, dst := outboxAndStaging(t)
	_, ref := exported(t, src, "DS_PROD", "run-5", fxSets(0, 4), 2)
	for _, digest := range []string{strings.Repeat("0", 64), ref.Digest[:63] + "0", "abc"} {
		if digest == ref.Digest {
			continue
		}
		bad := ref
		bad.Digest = digest
		_, err := Transfer(src, dst, bad, Applied{})
		asCorrupt(t, "digest "+digest, err, ManifestFile)
		if err != nil && !strings.Contains(err.Error(), ref.ID) {
			t.Errorf("error %q does not name the snapshot", err)
		}
		if exists(dst.Dir(ref.Store, ref.ID)) {
			t.Error("something was staged from a manifest with a wrong digest")
		}
	}
	// A source manifest edited after the export fails the same way.
	path := filepath.Join(src.Dir(ref.Store, ref.ID), ManifestFile)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"to_seq": 42`), []byte(`"to_seq": 43`), 1), 0o644)
	_, err := Transfer(src, dst, ref, Applied{})
	asCorrupt(t, "edited source manifest", err, ManifestFile)
}

func TestTransferMissingSource(t *testing.T) {
	src, dst := outboxAndStaging(t)
	_, err := Transfer(src, dst, Ref{Store: "DS_PROD", ID: "nothing", Digest: strings.Repeat("0", 64)}, Applied{})
	if err == nil {
		t.Fatal("transfer of a snapshot that does not exist succeeded")
	}
	if exists(dst.Dir("DS_PROD", "nothing")) {
		t.Error("staging directory created for a snapshot that does not exist")
	}
}

// The manifest Transfer stages must be the one it verified: if the
// source's manifest.json changes while segments are copied, nothing may be
// left in staging that looks like a whole copy.
func TestTransferStagesOnlyTheVerifiedManifest(t *testing.T) {
	mkfifo, err := exec.LookPath("mkfifo")
	if err != nil {
		t.Skip("needs mkfifo")
	}
	src, dst := outboxAndStaging(t)
	m, ref := exported(t, src, "DS_PROD", "run-6", fxSets(0, 4), 2)
	from, to := src.Dir(ref.Store, ref.ID), dst.Dir(ref.Store, ref.ID)
	// The last source segment becomes a FIFO: the test controls when
	// Transfer gets its bytes, and replaces the manifest just before.
	seg := filepath.Join(from, m.Segments[1].Name)
	content, _ := os.ReadFile(seg)
	os.Remove(seg)
	if out, err := exec.Command(mkfifo, seg).CombinedOutput(); err != nil {
		t.Skipf("mkfifo: %v %s", err, out)
	}
	go func() {
		f, err := os.OpenFile(seg, os.O_WRONLY, 0) // until Transfer opens it
		if err != nil {
			return
		}
		defer f.Close()
		other := m
		other.ToSeq = 99
		b, _ := json.MarshalIndent(other, "", "  ")
		os.WriteFile(filepath.Join(from, ManifestFile), b, 0o644)
		f.Write(content)
	}()
	// The transfer stages the manifest it verified, not the replacement.
	if _, err := Transfer(src, dst, ref, Applied{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadManifest(to, ref.Digest); err != nil {
		t.Errorf("staged manifest does not match the ref: %v", err)
	}
}

// escapes reports whether a path relative to a root leads out of it.
func escapes(rel string) bool {
	return filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func TestAreaDirEscapesIDs(t *testing.T) {
	a := Area{Root: filepath.Join(t.TempDir(), "staging")}
	seen := map[string]string{}
	for _, store := range []string{"DS_PROD", "DS PROD", "DS/PROD", "../x", `..\x`, "x/../../y", "/etc", "a%2Fb", "DS_PROD "} {
		for _, id := range []string{"s1", "y/z", "../../etc", "a b", "%2e%2e"} {
			d := a.Dir(store, id)
			rel, err := filepath.Rel(a.Root, d)
			if err != nil || escapes(rel) {
				t.Errorf("Dir(%q, %q) = %s escapes the root", store, id, d)
				continue
			}
			if parts := strings.Split(rel, string(filepath.Separator)); len(parts) != 2 {
				t.Errorf("Dir(%q, %q) = %s is not two levels below the root", store, id, d)
			}
			if filepath.Dir(d) != a.storeDir(store) {
				t.Errorf("Dir(%q, %q) = %s is not in the store's folder %s", store, id, d, a.storeDir(store))
			}
			if prev, dup := seen[d]; dup {
				t.Errorf("Dir(%q, %q) = %s, the folder of %s too", store, id, d, prev)
			}
			seen[d] = store + " " + id
		}
	}
}

// Store and snapshot ids "." and ".." are left as they are by
// url.PathEscape, so Dir resolves them to the root or its parent.
func TestAreaDirDotIDs(t *testing.T) {
	a := Area{Root: filepath.Join(t.TempDir(), "staging")}
	for _, c := range [][2]string{{"..", "x"}, {".", "x"}, {"DS_PROD", ".."}, {"DS_PROD", "."}, {"..", ".."}, {"", "x"}, {"DS_PROD", ""}} {
		d := a.Dir(c[0], c[1])
		rel, err := filepath.Rel(a.Root, d)
		if err != nil || escapes(rel) || len(strings.Split(rel, string(filepath.Separator))) != 2 {
			t.Errorf("Dir(%q, %q) = %s", c[0], c[1], d)
		}
	}
	// The damage: a FULL snapshot of store ".." recorded in the staging area.
	parent := filepath.Dir(a.Root)
	sibling := filepath.Join(parent, "precious")
	os.MkdirAll(sibling, 0o755)
	os.MkdirAll(a.Dir("DS_PROD", "s1"), 0o755)
	if err := a.Record("..", Manifest{ID: "f1", Type: Full}); err != nil {
		t.Fatal(err)
	}
	if !exists(sibling) || !exists(a.Dir("DS_PROD", "s1")) {
		t.Error("recording store \"..\" removed folders outside its store folder")
	}
}

func TestChainOfUnknownStoreIsEmpty(t *testing.T) {
	for _, a := range []Area{{Root: t.TempDir()}, {Root: filepath.Join(t.TempDir(), "never", "created")}} {
		chain, err := a.Chain("DS_NONE")
		if err != nil || len(chain) != 0 {
			t.Errorf("chain of an unknown store in %s: %v, %v", a.Root, chain, err)
		}
		if err := a.Keep("DS_NONE", "x"); err != nil {
			t.Errorf("keep in an unknown store: %v", err)
		}
	}
}

func TestRecordBuildsTheChain(t *testing.T) {
	a := Area{Root: t.TempDir(), Keys: testKeys}
	const store, other = "DS PROD", "DS_TEST"
	mk := func(store, id string) string {
		d := a.Dir(store, id)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, ManifestFile), []byte("{}"), 0o644)
		return d
	}
	// Another store's snapshots must survive everything done to this one.
	otherDir := mk(other, "t1")
	if err := a.Record(other, Manifest{ID: "t1", Type: Full}); err != nil {
		t.Fatal(err)
	}
	abandoned := mk(store, "abandoned") // a snapshot never recorded
	steps := []struct {
		m     Manifest
		chain []string
		gone  []string
	}{
		{Manifest{ID: "f1", Type: Full}, []string{"f1"}, []string{"abandoned"}},
		{Manifest{ID: "u1", Type: Update}, []string{"f1", "u1"}, nil},
		{Manifest{ID: "u/2", Type: Update}, []string{"f1", "u1", "u/2"}, nil},
		{Manifest{ID: "u/2", Type: Update}, []string{"f1", "u1", "u/2"}, nil}, // recorded again: once
		{Manifest{ID: "f2", Type: Full}, []string{"f2"}, []string{"f1", "u1", "u/2"}},
		{Manifest{ID: "u3", Type: Update}, []string{"f2", "u3"}, nil},
		{Manifest{ID: "f2", Type: Full}, []string{"f2"}, []string{"u3"}}, // the FULL again: a new chain
	}
	for n, step := range steps {
		mk(store, step.m.ID)
		if err := a.Record(store, step.m); err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		chain, err := a.Chain(store)
		if err != nil || !reflect.DeepEqual(chain, step.chain) {
			t.Errorf("step %d (%s %s): chain %q, %v, want %q", n, step.m.Type, step.m.ID, chain, err, step.chain)
		}
		for _, id := range chain {
			if !exists(filepath.Join(a.Dir(store, id), ManifestFile)) {
				t.Errorf("step %d: snapshot %q of the chain was removed", n, id)
			}
		}
		for _, id := range step.gone {
			if exists(a.Dir(store, id)) {
				t.Errorf("step %d: snapshot %q kept, no longer in the chain", n, id)
			}
		}
	}
	if exists(abandoned) {
		t.Error("an abandoned snapshot folder was kept")
	}
	if chain, err := a.Chain(other); err != nil || !reflect.DeepEqual(chain, []string{"t1"}) || !exists(otherDir) {
		t.Errorf("the other store was touched: %v %v", chain, err)
	}
	// Files in the store folder are not snapshots; chain.json stays.
	if !exists(filepath.Join(a.storeDir(store), chainFile)) {
		t.Error("chain file removed")
	}
	noTempFiles(t, a.Root)
}

// stage writes an empty snapshot of DS_PROD into a, of type typ covering
// the changes (from, to], and returns its manifest.
func stage(t *testing.T, a Area, id string, typ Type, from, to int64) Manifest {
	t.Helper()
	m, _, err := signedWriter(a.Dir("DS_PROD", id), Manifest{ID: id, Store: "DS_PROD", Type: typ, FromSeq: from, ToSeq: to,
		Created: time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC).Add(time.Duration(to) * time.Minute)}, 1).Close()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// damage writes content over the chain file of DS_PROD.
func damage(t *testing.T, a Area, content string) string {
	t.Helper()
	path := filepath.Join(a.storeDir("DS_PROD"), chainFile)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A damaged chain file is reported by Chain, and Record rebuilds the chain
// from the manifests staged: the last FULL, then the UPDATEs leaving no
// gap up to the one recorded; snapshots off the chain (a run that failed
// before its apply, a folder without a manifest) are removed as usual.
func TestRecordRebuildsADamagedChain(t *testing.T) {
	for _, content := range []string{"", "{", `{"a":1}`, `[1,2]`, "\x00garbage"} {
		a := Area{Root: t.TempDir(), Keys: testKeys}
		for _, m := range []struct {
			id       string
			typ      Type
			from, to int64
		}{{"f0", Full, 0, 5}, {"f1", Full, 0, 10}, {"u1", Update, 10, 20}, {"u2", Update, 20, 30}} {
			if err := a.Record("DS_PROD", stage(t, a, m.id, m.typ, m.from, m.to)); err != nil {
				t.Fatal(err)
			}
		}
		stage(t, a, "f0", Full, 0, 5)        // an older FULL, staged again
		stage(t, a, "early", Update, 20, 25) // a run failed after its transfer
		os.MkdirAll(a.Dir("DS_PROD", "empty"), 0o755)
		damage(t, a, content)
		_, err := a.Chain("DS_PROD")
		asCorrupt(t, "chain "+content, err, chainFile)
		if err := a.Record("DS_PROD", stage(t, a, "u3", Update, 30, 40)); err != nil {
			t.Fatalf("record over the chain %q: %v", content, err)
		}
		want := []string{"f1", "u1", "u2", "u3"}
		if chain, err := a.Chain("DS_PROD"); err != nil || !reflect.DeepEqual(chain, want) {
			t.Errorf("chain rebuilt over %q: %q, %v; want %q", content, chain, err, want)
		}
		for _, id := range []string{"f0", "early", "empty"} {
			if exists(a.Dir("DS_PROD", id)) {
				t.Errorf("snapshot %s, off the rebuilt chain, kept", id)
			}
		}
	}
}

// An UPDATE re-importing from the start follows whatever is staged, the
// furthest-reaching UPDATE is taken, and a FULL reads no chain at all.
func TestRecordRebuildsFromTheStart(t *testing.T) {
	a := Area{Root: t.TempDir(), Keys: testKeys}
	stage(t, a, "f1", Full, 0, 10)
	stage(t, a, "u1", Update, 10, 20)
	stage(t, a, "r1", Update, 0, 50) // the re-import after a failed run
	for _, step := range []struct {
		id       string
		typ      Type
		from, to int64
		chain    []string
	}{
		{"u4", Update, 50, 60, []string{"f1", "r1", "u4"}},
		{"r2", Update, 0, 70, []string{"f1", "r2"}}, // it needs nothing but the FULL before it
		{"f2", Full, 0, 80, []string{"f2"}},
	} {
		m := stage(t, a, step.id, step.typ, step.from, step.to)
		damage(t, a, "[")
		if err := a.Record("DS_PROD", m); err != nil {
			t.Fatalf("record %s: %v", step.id, err)
		}
		if chain, err := a.Chain("DS_PROD"); err != nil || !reflect.DeepEqual(chain, step.chain) {
			t.Errorf("record %s: chain %q, %v; want %q", step.id, chain, err, step.chain)
		}
	}
	// Nothing staged but an UPDATE from the start: it is the chain.
	b := Area{Root: t.TempDir(), Keys: testKeys}
	r1 := stage(t, b, "r1", Update, 0, 9)
	damage(t, b, "")
	if err := b.Record("DS_PROD", r1); err != nil {
		t.Fatal(err)
	}
	if chain, err := b.Chain("DS_PROD"); err != nil || !reflect.DeepEqual(chain, []string{"r1"}) {
		t.Errorf("chain %q, %v; want [r1]", chain, err)
	}
}

// When the snapshots staged cannot carry the chain to the UPDATE recorded,
// Record refuses, naming the file and the remedy, and changes nothing.
func TestRecordRefusesAChainItCannotRebuild(t *testing.T) {
	for name, c := range map[string]struct {
		staged []func(Area) Manifest
		reason string
	}{
		"no FULL": {[]func(Area) Manifest{
			func(a Area) Manifest { return stage(t, a, "u2", Update, 20, 30) },
		}, "no FULL snapshot is staged"},
		"a gap": {[]func(Area) Manifest{
			func(a Area) Manifest { return stage(t, a, "f1", Full, 0, 10) },
			func(a Area) Manifest { return stage(t, a, "u2", Update, 20, 30) },
		}, "reach change 10 only"},
	} {
		a := Area{Root: t.TempDir(), Keys: testKeys}
		var ids []string
		for _, s := range c.staged {
			ids = append(ids, s(a).ID)
		}
		path := damage(t, a, "{")
		u3 := stage(t, a, "u3", Update, 30, 40)
		err := a.Record("DS_PROD", u3)
		ce := asCorrupt(t, name, err, chainFile)
		for _, want := range []string{path, c.reason, "follows change 30", "remove the file and run a FULL sync of DS_PROD",
			"the next UPDATE of DS_PROD re-imports every volume"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", name, err, want)
			}
		}
		if !errors.As(ce.Err, new(*CorruptError)) {
			t.Errorf("%s: the refusal does not carry the damage: %v", name, ce.Err)
		}
		if b, _ := os.ReadFile(path); string(b) != "{" {
			t.Errorf("%s: the damaged chain file was rewritten: %q", name, b)
		}
		for _, id := range append(ids, "u3") {
			if !exists(a.Dir("DS_PROD", id)) {
				t.Errorf("%s: snapshot %s removed by a refused record", name, id)
			}
		}
	}
}

func TestKeep(t *testing.T) {
	a := Area{Root: t.TempDir(), Keys: testKeys}
	for _, id := range []string{"a", "b/1", "c d"} {
		os.MkdirAll(a.Dir("DS_PROD", id), 0o755)
	}
	if err := a.Keep("DS_PROD", "b/1"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(a.storeDir("DS_PROD"))
	if len(entries) != 1 || !exists(a.Dir("DS_PROD", "b/1")) {
		t.Errorf("after Keep(b/1): %v", entries)
	}
	if err := a.Keep("DS_PROD"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(a.storeDir("DS_PROD")); len(entries) != 0 {
		t.Errorf("after Keep(): %v", entries)
	}
	// Ids that escaping must mangle to stay one path element are kept too.
	for _, id := range []string{".", "..", ""} {
		os.MkdirAll(a.Dir("DS_PROD", id), 0o755)
		if err := a.Keep("DS_PROD", id); err != nil || !exists(a.Dir("DS_PROD", id)) {
			t.Errorf("Keep(%q) removed it (%v)", id, err)
		}
	}
}

// A whole cycle: export, transfer, record; a second UPDATE extends the chain.
func TestTransferThenRecord(t *testing.T) {
	src, dst := outboxAndStaging(t)
	m1, ref1 := exported(t, src, "DS_PROD", "f1", fxSets(0, 4), 2)
	if _, err := Transfer(src, dst, ref1, Applied{}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Record("DS_PROD", m1); err != nil {
		t.Fatal(err)
	}
	src.Keep("DS_PROD") // the outbox drops it once transferred
	w := signedWriter(src.Dir("DS_PROD", "u1"), Manifest{ID: "u1", Store: "DS_PROD", Type: Update, FromSeq: 42, ToSeq: 50}, 2)
	w.Add(fxSet(9))
	m2, d2, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Transfer(src, dst, Ref{Store: "DS_PROD", ID: "u1", Digest: d2}, Applied{}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Record("DS_PROD", m2); err != nil {
		t.Fatal(err)
	}
	chain, err := dst.Chain("DS_PROD")
	if err != nil || !reflect.DeepEqual(chain, []string{"f1", "u1"}) {
		t.Fatalf("chain %v, %v", chain, err)
	}
	var total int64
	for _, id := range chain {
		m, _, err := ReadManifest(dst.Dir("DS_PROD", id), "")
		if err != nil {
			t.Fatal(err)
		}
		total += m.Counts["sets"]
		readAll(t, dst.Dir("DS_PROD", id), m)
	}
	if total != 5 {
		t.Errorf("chain holds %d sets, want 5", total)
	}
}
