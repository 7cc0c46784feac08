package importer

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// A set's check and diff read the secondary about twenty times, and on
// PostgreSQL each read is a round trip: a FULL into a secondary that does
// not hold the store yet spent most of its time reading nothing. Before a
// batch of sets is planned or applied, the keys those reads will ask for
// are looked up by lists, a few reads for the whole batch (LookUp); a read
// of a set that asks only for keys found absent is then answered, empty,
// without going to the store (Reader, Tx). A record the batch writes makes
// its keys present again. What was found absent must stay so until the
// batch commits: the apply holds other writers off the catalog meanwhile
// (store.Tx.HoldCatalog).

// readKey is what one read looks a record up by.
type readKey struct {
	kind    keyKind
	a, b, c string
	gen     int
}

type keyKind uint8

const (
	keyVolume     keyKind = iota // BackPak entry: label, label type
	keyTapeVolume                // TAPEVOLUME: VOLSER, in any VOLCAT and pool
	keyConfig                    // CONFIG: FILECAT, FILEID
	keyFileGen                   // TAPEFILE: FILECAT, FILEID, generation
	keyVTOFC                     // VTOFC: VOLCAT, VOLSETID
	keyTapeFile                  // TAPEFILE: VOLCAT, VOLSETID
	keyTFTOV                     // TFTOV: VOLCAT, VOLSETID
	keyDFTOV                     // DFTOV: VOLCAT, VOLSETID
)

// Keys under which records are read: a read asks for them, a put makes
// them present.
func volumeRead(k catalog.VolumeKey) readKey {
	return readKey{kind: keyVolume, a: k.Label, b: string(k.LabelType)}
}
func tapeVolumeRead(volser string) readKey { return readKey{kind: keyTapeVolume, a: volser} }
func configRead(filecat, fileID string) readKey {
	return readKey{kind: keyConfig, a: filecat, b: fileID}
}
func fileGenRead(filecat, fileID string, gen int) readKey {
	return readKey{kind: keyFileGen, a: filecat, b: fileID, gen: gen}
}
func volsetRead(kind keyKind, volcat, volsetID string) readKey {
	return readKey{kind: kind, a: volcat, b: volsetID}
}

// Absent is what the reads of a batch of sets are known to find nothing
// under, and the CONFIG rows they are known to find. A nil Absent knows
// nothing: every read goes to the store.
type Absent struct {
	keys map[readKey]bool // looked up and not found, not written since
	// configs are the CONFIG rows looked up, as last written since: the
	// row of a FILEID is read by every set holding one of its
	// generations, most of a FULL's reads once the sets were looked up.
	configs map[readKey]catalog.FileConfig
}

// lookupChunk bounds the keys of one read by list.
const lookupChunk = 500

// LookUp finds which keys the plan or apply of sets will read that r does
// not hold. The BackPak entries and tape volumes of every set are looked
// up first; the other keys only for the sets none of which were found: a
// set the secondary already holds reads its records anyway, and looking
// them up too would read them twice.
func (im *Import) LookUp(ctx context.Context, r store.Reader, sets []*Prepared) (*Absent, error) {
	labels := make([][]readKey, len(sets))
	var first []readKey
	for i, p := range sets {
		labels[i] = labelKeys(p.Want)
		first = append(first, labels[i]...)
	}
	ab := newAbsent()
	found, err := ab.lookUp(ctx, r, first)
	if err != nil {
		return nil, err
	}
	var rest []readKey
	for i, p := range sets {
		keys := labels[i]
		if slices.ContainsFunc(keys, func(k readKey) bool { return found[k] }) {
			continue
		}
		for _, k := range keys {
			ab.keys[k] = true
		}
		rest = append(rest, im.fileKeys(p.Want)...)
	}
	if err := ab.find(ctx, r, rest); err != nil {
		return nil, err
	}
	return ab, nil
}

func newAbsent() *Absent {
	return &Absent{keys: map[readKey]bool{}, configs: map[readKey]catalog.FileConfig{}}
}

// find looks keys up in r and notes those it holds no record under absent.
func (ab *Absent) find(ctx context.Context, r store.Reader, keys []readKey) error {
	found, err := ab.lookUp(ctx, r, keys)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if !found[k] {
			ab.keys[k] = true
		}
	}
	return nil
}

// labelKeys are the keys of a set's BackPak entries and tape volumes.
func labelKeys(s *snapshot.VolumeSet) []readKey {
	var keys []readKey
	for i := range s.Volumes {
		keys = append(keys, volumeRead(s.Volumes[i].Key()))
	}
	for i := range s.TapeVolumes {
		keys = append(keys, tapeVolumeRead(s.TapeVolumes[i].Volser))
	}
	return keys
}

// fileKeys are the keys of the rest of what a set's check and diff read:
// its CONFIG rows, its generations, and its volume set's entries in every
// VOLCAT the diff reads them in (current).
func (im *Import) fileKeys(s *snapshot.VolumeSet) []readKey {
	var keys []readKey
	for i := range s.Configs {
		keys = append(keys, configRead(s.Configs[i].Filecat, s.Configs[i].FileID))
	}
	for _, f := range s.TapeFiles {
		keys = append(keys, fileGenRead(f.Filecat, f.FileID, f.Generation))
	}
	volcats := slices.Clone(im.scope.volcats)
	for _, tv := range s.TapeVolumes {
		if !slices.Contains(volcats, tv.Volcat) {
			volcats = append(volcats, tv.Volcat)
		}
	}
	for _, vc := range volcats {
		for _, kind := range []keyKind{keyVTOFC, keyTapeFile, keyTFTOV, keyDFTOV} {
			keys = append(keys, volsetRead(kind, vc, s.ID))
		}
	}
	return keys
}

// lookUp returns which of keys r holds a record under, reading them by
// lists: one read for up to lookupChunk keys of a kind and a FILECAT or
// VOLCAT. The CONFIG rows it reads are kept in ab.
func (ab *Absent) lookUp(ctx context.Context, r store.Reader, keys []readKey) (map[readKey]bool, error) {
	type group struct {
		kind keyKind
		in   string // the FILECAT or VOLCAT the keys share
	}
	var order []group
	byGroup := map[group][]readKey{}
	for _, k := range keys {
		g := group{kind: k.kind}
		switch k.kind {
		case keyVolume, keyTapeVolume:
		default:
			g.in = k.a
		}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		if !slices.Contains(byGroup[g], k) {
			byGroup[g] = append(byGroup[g], k)
		}
	}
	found := map[readKey]bool{}
	for _, g := range order {
		for chunk := range slices.Chunk(byGroup[g], lookupChunk) {
			var names []string // the keys' labels, VOLSERs, FILEIDs or VOLSETIDs
			var gens []store.FileGen
			for _, k := range chunk {
				switch k.kind {
				case keyVolume, keyTapeVolume:
					names = append(names, k.a)
				case keyFileGen:
					gens = append(gens, store.FileGen{FileID: k.b, Generation: k.gen})
				default:
					names = append(names, k.b)
				}
			}
			if err := ab.lookUpChunk(ctx, r, g.kind, g.in, names, gens, found); err != nil {
				return nil, err
			}
		}
	}
	return found, nil
}

// lookUpChunk reads the records of one list and notes their keys in found;
// CONFIG rows are kept in ab.
func (ab *Absent) lookUpChunk(ctx context.Context, r store.Reader, kind keyKind, in string, names []string, gens []store.FileGen,
	found map[readKey]bool) error {
	switch kind {
	case keyVolume:
		return r.ScanVolumes(ctx, store.Filter{Labels: names}, func(v *catalog.Volume) error {
			found[volumeRead(v.Key())] = true
			return nil
		})
	case keyTapeVolume:
		return r.ScanTapeVolumes(ctx, store.Filter{Volsers: names}, func(v *catalog.TapeVolume) error {
			found[tapeVolumeRead(v.Volser)] = true
			return nil
		})
	case keyConfig:
		return r.ScanFileConfigs(ctx, store.Filter{Filecat: in, FileIDs: names}, func(c *catalog.FileConfig) error {
			k := configRead(c.Filecat, c.FileID)
			found[k], ab.configs[k] = true, *c
			return nil
		})
	case keyFileGen:
		return r.ScanTapeFiles(ctx, store.Filter{Filecat: in, Gens: gens}, func(f *catalog.TapeFile) error {
			found[fileGenRead(f.Filecat, f.FileID, f.Generation)] = true
			return nil
		})
	}
	f := store.Filter{Volcat: in, VolsetIDs: names}
	switch kind {
	case keyVTOFC:
		return r.ScanVolumeFilecats(ctx, f, func(e *catalog.VolumeFilecat) error {
			found[volsetRead(kind, e.Volcat, e.VolsetID)] = true
			return nil
		})
	case keyTapeFile:
		return r.ScanTapeFiles(ctx, f, func(e *catalog.TapeFile) error {
			found[volsetRead(kind, e.Volcat, e.VolsetID)] = true
			return nil
		})
	case keyTFTOV:
		return r.ScanTapeFileVolumes(ctx, f, func(e *catalog.TapeFileVolume) error {
			found[volsetRead(kind, e.Volcat, e.VolsetID)] = true
			return nil
		})
	default:
		return r.ScanDiskFileVolumes(ctx, f, func(e *catalog.DiskFileVolume) error {
			found[volsetRead(kind, e.Volcat, e.VolsetID)] = true
			return nil
		})
	}
}

// is tells whether k is known absent.
func (ab *Absent) is(k readKey) bool { return ab != nil && ab.keys[k] }

// wrote notes a record written under k: it is no longer absent.
func (ab *Absent) wrote(k readKey) {
	if ab != nil {
		delete(ab.keys, k)
	}
}

// wroteConfig notes the CONFIG row c written: a read of its key finds it.
func (ab *Absent) wroteConfig(c *catalog.FileConfig) {
	k := configRead(c.Filecat, c.FileID)
	delete(ab.keys, k)
	ab.configs[k] = *c
}

// deletedConfig notes the CONFIG row of c's key deleted: its key, that of
// the table's primary key, finds nothing.
func (ab *Absent) deletedConfig(c *catalog.FileConfig) {
	k := configRead(c.Filecat, c.FileID)
	delete(ab.configs, k)
	ab.keys[k] = true
}

// Reader returns r answering from ab the reads ab knows the answer of.
func (ab *Absent) Reader(r store.Reader) store.Reader {
	if ab == nil {
		return r
	}
	return absentReader{Reader: r, ab: ab}
}

// Tx returns tx answering from ab the reads ab knows the answer of, and
// noting in ab the records it writes.
func (ab *Absent) Tx(tx store.Tx) store.Tx {
	if ab == nil {
		return tx
	}
	return absentTx{absentReader: absentReader{Reader: tx, ab: ab}, Writer: tx, tx: tx}
}

// Each read answered from ab asks for records that, whatever its other
// fields, must match a key ab knows absent; a list is narrowed to the
// keys not known absent.

func (ab *Absent) volume(ctx context.Context, r store.Reader, key catalog.VolumeKey) (catalog.Volume, error) {
	if ab.is(volumeRead(key)) {
		return catalog.Volume{}, store.ErrNotFound
	}
	return r.Volume(ctx, key)
}

func (ab *Absent) tapeVolumes(ctx context.Context, r store.Reader, f store.Filter, fn func(*catalog.TapeVolume) error) error {
	if f.Volser != "" && ab.is(tapeVolumeRead(f.Volser)) {
		return nil
	}
	return r.ScanTapeVolumes(ctx, f, fn)
}

// fileConfigs answers a read of CONFIG rows by FILECAT and FILEIDs from
// what ab knows, reading the store for the rest; the rows come in the
// store's order, each once.
func (ab *Absent) fileConfigs(ctx context.Context, r store.Reader, f store.Filter, fn func(*catalog.FileConfig) error) error {
	ids := f.FileIDs
	switch {
	case f.Filecat == "" || (f.FileID == "") == (len(ids) == 0):
		return r.ScanFileConfigs(ctx, f, fn) // not a read by FILEIDs alone
	case f.FileID != "":
		ids = []string{f.FileID}
	}
	var rows []catalog.FileConfig
	var read []string
	for _, id := range ids {
		k := configRead(f.Filecat, id)
		if c, ok := ab.configs[k]; ok {
			rows = append(rows, c)
		} else if !ab.is(k) {
			read = append(read, id)
		}
	}
	if len(read) > 0 {
		if err := r.ScanFileConfigs(ctx, store.Filter{Filecat: f.Filecat, FileIDs: read}, appendTo(&rows)); err != nil {
			return err
		}
	}
	slices.SortFunc(rows, func(a, b catalog.FileConfig) int { return strings.Compare(a.FileID, b.FileID) })
	rows = slices.CompactFunc(rows, func(a, b catalog.FileConfig) bool { return a.FileID == b.FileID })
	for i := range rows {
		if err := fn(&rows[i]); err != nil {
			return err
		}
	}
	return nil
}

func (ab *Absent) tapeFiles(ctx context.Context, r store.Reader, f store.Filter, fn func(*catalog.TapeFile) error) error {
	switch {
	case f.Volcat != "" && f.VolsetID != "" && ab.is(volsetRead(keyTapeFile, f.Volcat, f.VolsetID)):
		return nil
	case f.Filecat != "" && f.FileID != "" && f.Generation != 0 && ab.is(fileGenRead(f.Filecat, f.FileID, f.Generation)):
		return nil
	case f.Filecat != "" && len(f.Gens) > 0:
		f.Gens = slices.DeleteFunc(slices.Clone(f.Gens), func(g store.FileGen) bool {
			return ab.is(fileGenRead(f.Filecat, g.FileID, g.Generation))
		})
		if len(f.Gens) == 0 {
			return nil
		}
	}
	return r.ScanTapeFiles(ctx, f, fn)
}

// ofVolset tells whether a read of f matches only entries of one volume
// set in one VOLCAT that ab knows absent.
func (ab *Absent) ofVolset(kind keyKind, f store.Filter) bool {
	return f.Volcat != "" && f.VolsetID != "" && ab.is(volsetRead(kind, f.Volcat, f.VolsetID))
}

type absentReader struct {
	store.Reader
	ab *Absent
}

func (r absentReader) Volume(ctx context.Context, key catalog.VolumeKey) (catalog.Volume, error) {
	return r.ab.volume(ctx, r.Reader, key)
}
func (r absentReader) ScanTapeVolumes(ctx context.Context, f store.Filter, fn func(*catalog.TapeVolume) error) error {
	return r.ab.tapeVolumes(ctx, r.Reader, f, fn)
}
func (r absentReader) ScanFileConfigs(ctx context.Context, f store.Filter, fn func(*catalog.FileConfig) error) error {
	return r.ab.fileConfigs(ctx, r.Reader, f, fn)
}
func (r absentReader) ScanTapeFiles(ctx context.Context, f store.Filter, fn func(*catalog.TapeFile) error) error {
	return r.ab.tapeFiles(ctx, r.Reader, f, fn)
}
func (r absentReader) ScanVolumeFilecats(ctx context.Context, f store.Filter, fn func(*catalog.VolumeFilecat) error) error {
	if r.ab.ofVolset(keyVTOFC, f) {
		return nil
	}
	return r.Reader.ScanVolumeFilecats(ctx, f, fn)
}
func (r absentReader) ScanTapeFileVolumes(ctx context.Context, f store.Filter, fn func(*catalog.TapeFileVolume) error) error {
	if r.ab.ofVolset(keyTFTOV, f) {
		return nil
	}
	return r.Reader.ScanTapeFileVolumes(ctx, f, fn)
}
func (r absentReader) ScanDiskFileVolumes(ctx context.Context, f store.Filter, fn func(*catalog.DiskFileVolume) error) error {
	if r.ab.ofVolset(keyDFTOV, f) {
		return nil
	}
	return r.Reader.ScanDiskFileVolumes(ctx, f, fn)
}

// absentTx is a transaction read through its Absent, which each put
// updates. A deletion makes no key present: it needs no note, but that of
// a CONFIG row, whose row a read would find.
type absentTx struct {
	absentReader
	store.Writer
	tx store.Tx
}

func (t absentTx) Savepoint(ctx context.Context, fn func() error) error {
	return t.tx.Savepoint(ctx, fn)
}
func (t absentTx) HoldCatalog(ctx context.Context) error { return t.tx.HoldCatalog(ctx) }

func (t absentTx) PutVolume(ctx context.Context, v *catalog.Volume) error {
	t.ab.wrote(volumeRead(v.Key()))
	return t.Writer.PutVolume(ctx, v)
}
func (t absentTx) PutTapeVolume(ctx context.Context, v *catalog.TapeVolume) error {
	t.ab.wrote(tapeVolumeRead(v.Volser))
	return t.Writer.PutTapeVolume(ctx, v)
}
func (t absentTx) PutVolumeFilecat(ctx context.Context, f *catalog.VolumeFilecat) error {
	t.ab.wrote(volsetRead(keyVTOFC, f.Volcat, f.VolsetID))
	return t.Writer.PutVolumeFilecat(ctx, f)
}
func (t absentTx) PutFileConfig(ctx context.Context, c *catalog.FileConfig) error {
	if err := t.Writer.PutFileConfig(ctx, c); err != nil {
		return err
	}
	t.ab.wroteConfig(c)
	return nil
}
func (t absentTx) DeleteFileConfig(ctx context.Context, c *catalog.FileConfig) error {
	err := t.Writer.DeleteFileConfig(ctx, c)
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.ab.deletedConfig(c)
	}
	return err
}
func (t absentTx) PutTapeFile(ctx context.Context, f *catalog.TapeFile) error {
	t.ab.wrote(volsetRead(keyTapeFile, f.Volcat, f.VolsetID))
	t.ab.wrote(fileGenRead(f.Filecat, f.FileID, f.Generation))
	return t.Writer.PutTapeFile(ctx, f)
}
func (t absentTx) PutTapeFileVolume(ctx context.Context, v *catalog.TapeFileVolume) error {
	t.ab.wrote(volsetRead(keyTFTOV, v.Volcat, v.VolsetID))
	return t.Writer.PutTapeFileVolume(ctx, v)
}
func (t absentTx) PutDiskFileVolume(ctx context.Context, d *catalog.DiskFileVolume) error {
	t.ab.wrote(volsetRead(keyDFTOV, d.Volcat, d.VolsetID))
	return t.Writer.PutDiskFileVolume(ctx, d)
}
