package sqlstore

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// table describes how one record type maps to one SQL table. The first nkey
// columns are the primary key; scans return rows in key order.
type table[T any] struct {
	name    string
	cols    []string
	nkey    int
	values  func(*T) []any    // column values, in cols order
	dests   func(*T) []any    // scan destinations, in cols order
	filters map[string]string // store.Filter field -> column
	touch   func(*tx, *T)     // change tracking for a write of the record
	// fileGen, on a table filtered by Gens, is a record's FILEID and
	// generation.
	fileGen func(*T) store.FileGen
	valid   func(*T) error // validation before a write

	upsertOnce sync.Once
	upsertQ    string
	unnestOnce sync.Once
	unnestQ    string // the PostgreSQL upsert of column arrays (unnestSQL)
	unnestErr  error
}

// upsertSQL is built once per table: writes are the hot path.
func (t *table[T]) upsertSQL() string {
	t.upsertOnce.Do(func() { t.upsertQ = t.buildUpsert() })
	return t.upsertQ
}

func (t *table[T]) buildUpsert() string {
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ")
	var set []string
	for _, c := range t.cols[t.nkey:] {
		set = append(set, c+" = excluded."+c)
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s)", t.name, strings.Join(t.cols, ", "), ph,
		strings.Join(t.cols[:t.nkey], ", "))
	if len(set) == 0 {
		return q + " DO NOTHING"
	}
	return q + " DO UPDATE SET " + strings.Join(set, ", ")
}

func (t *table[T]) keyWhere() string {
	var w []string
	for _, c := range t.cols[:t.nkey] {
		w = append(w, c+" = ?")
	}
	return strings.Join(w, " AND ")
}

// selectSQL reads rows in key order. With a filter on SQLite the key
// columns are ordered as expressions (+col): otherwise SQLite's planner,
// having no statistics, walks the primary key index to spare a sort and
// scans a whole catalog for a handful of rows.
func (t *table[T]) selectSQL(d dialect, where string) string {
	q := "SELECT " + strings.Join(t.cols, ", ") + " FROM " + t.name
	order := t.cols[:t.nkey]
	if where != "" {
		q += " WHERE " + where
		if d == sqlite {
			order = make([]string, t.nkey)
			for i, c := range t.cols[:t.nkey] {
				order[i] = "+" + c
			}
		}
	}
	return q + " ORDER BY " + strings.Join(order, ", ")
}

// where turns a filter into a WHERE clause over this table's columns, in
// the SQL of d.
func (t *table[T]) where(d dialect, f store.Filter) (string, []any, error) {
	var w []string
	var args []any
	add := func(field string, set bool, op string, v any) error {
		if !set {
			return nil
		}
		col, ok := t.filters[field]
		if !ok {
			return fmt.Errorf("%s cannot be filtered by %s", t.name, field)
		}
		w = append(w, col+" "+op+" ?")
		args = append(args, v)
		return nil
	}
	for _, term := range []struct {
		field string
		set   bool
		op    string
		v     any
	}{
		{"StoreID", f.StoreID != "", "=", f.StoreID},
		{"Volcat", f.Volcat != "", "=", f.Volcat},
		{"Pool", f.Pool != "", "=", f.Pool},
		{"Filecat", f.Filecat != "", "=", f.Filecat},
		{"VolsetID", f.VolsetID != "", "=", f.VolsetID},
		{"Volser", f.Volser != "", "=", f.Volser},
		{"Label", f.Label != "", "=", f.Label},
		{"FileID", f.FileID != "", "=", f.FileID},
		{"Generation", f.Generation != 0, "=", f.Generation},
		{"Name", f.Name != "", "=", f.Name},
		{"Status", f.Status != "", "=", f.Status},
		{"ExpiresBefore", !f.ExpiresBefore.IsZero(), "<", micros(f.ExpiresBefore)},
	} {
		if err := add(term.field, term.set, term.op, term.v); err != nil {
			return "", nil, err
		}
	}
	if !f.ExpiresBefore.IsZero() {
		w = append(w, t.filters["ExpiresBefore"]+" <> 0") // 0: permanent
	}
	// A list is one of the values of its scalar field's column.
	for _, list := range []struct {
		name, field string
		vals        []string
	}{
		{"FileIDs", "FileID", f.FileIDs},
		{"Labels", "Label", f.Labels},
		{"Volsers", "Volser", f.Volsers},
		{"VolsetIDs", "VolsetID", f.VolsetIDs},
	} {
		if len(list.vals) == 0 {
			continue
		}
		col, ok := t.filters[list.field]
		if !ok {
			return "", nil, fmt.Errorf("%s cannot be filtered by %s", t.name, list.name)
		}
		term, vals := d.oneOf(col, list.vals)
		w = append(w, term)
		args = append(args, vals...)
	}
	if len(f.Gens) > 0 {
		fileID, ok1 := t.filters["FileID"]
		gen, ok2 := t.filters["Generation"]
		if !ok1 || !ok2 || t.fileGen == nil {
			return "", nil, fmt.Errorf("%s cannot be filtered by Gens", t.name)
		}
		if d == postgres {
			// PostgreSQL plans a list of pairs (IN, VALUES, unnest) as a
			// join, and scanned the table for it while its statistics
			// were those of an empty catalog (a FULL into a new one); an
			// OR of pairs sharing a generation it rewrote into a search
			// of the index by generation alone. A list of FILEIDs and one
			// of generations are both searched in the index whatever the
			// statistics; the rows of other pairs they match too are left
			// out as they are read (scan).
			var ids []string
			var gens []int64
			for _, g := range f.Gens {
				if !slices.Contains(ids, g.FileID) {
					ids = append(ids, g.FileID)
				}
				if !slices.Contains(gens, int64(g.Generation)) {
					gens = append(gens, int64(g.Generation))
				}
			}
			w = append(w, fileID+" = ANY(?)", gen+" = ANY(?)")
			args = append(args, ids, gens)
		} else {
			// A row-value IN takes its list as VALUES in SQLite; each
			// pair is then a search of the index, as EXPLAIN QUERY PLAN
			// shows.
			n := listLen(len(f.Gens))
			w = append(w, "("+fileID+", "+gen+") IN (VALUES "+strings.TrimSuffix(strings.Repeat("(?, ?), ", n), ", ")+")")
			for i := range n {
				g := f.Gens[min(i, len(f.Gens)-1)]
				args = append(args, g.FileID, g.Generation)
			}
		}
	}
	return strings.Join(w, " AND "), args, nil
}

// oneOf is the condition that col is one of vals, and its arguments: on
// PostgreSQL one array parameter, so one statement prepared whatever the
// length; on SQLite an IN list.
func (d dialect) oneOf(col string, vals []string) (string, []any) {
	if d == postgres {
		return col + " = ANY(?)", []any{vals}
	}
	args := make([]any, listLen(len(vals)))
	for i := range args {
		args[i] = vals[min(i, len(vals)-1)]
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ") + ")", args
}

// listLen is how many values an SQLite list of n takes in its statement:
// the next power of two, the last value repeated to fill it, which changes
// nothing of what it matches. Each length is a statement prepared and
// kept (stmtCache): a length a list kept a statement for every length a
// run's lists had.
func listLen(n int) int {
	if n <= 1 {
		return n
	}
	return 1 << bits.Len(uint(n-1))
}

// Column adapters: times are stored as UTC microseconds, flags as 0/1.

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

type timeCol struct{ p *time.Time }

func (c timeCol) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("time column holds %T", src)
	}
	if v == 0 {
		*c.p = time.Time{}
	} else {
		*c.p = time.UnixMicro(v).UTC()
	}
	return nil
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

type flagCol struct{ p *bool }

func (c flagCol) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("flag column holds %T", src)
	}
	*c.p = v != 0
	return nil
}

// strCol scans into a string-kinded type such as catalog.VolumeStatus.
type strCol[S ~string] struct{ p *S }

func (c strCol[S]) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*c.p = S(v)
	case []byte:
		*c.p = S(v)
	default:
		return fmt.Errorf("text column holds %T", src)
	}
	return nil
}

var (
	siteTable = &table[catalog.Site]{
		name: store.TableSite,
		cols: []string{"id", "node", "domain_id", "backpak_id", "default_volcat", "default_filecat", "retention",
			"abend_retention", "searchlist_system", "search_list", "key_managers"},
		nkey: 1,
		values: func(s *catalog.Site) []any {
			m := &s.MediaDefs
			return []any{1, s.Node, s.DomainID, s.BackPakID, m.DefaultVolcat, m.DefaultFilecat, m.Retention,
				m.AbendRetention, m.SearchListSystem, strings.Join(s.SearchList, " "), joinEntries(s.KeyManagers)}
		},
		valid: (*catalog.Site).Validate,
	}

	dataStoreTable = &table[catalog.DataStore]{
		name: store.TableDataStore,
		cols: []string{"store_id", "access", "status", "check_timestamp", "location"},
		nkey: 1,
		values: func(d *catalog.DataStore) []any {
			return []any{d.ID, string(d.Access), string(d.Status), flag(d.CheckVolumeTimestamp), d.Location}
		},
		dests: func(d *catalog.DataStore) []any {
			return []any{&d.ID, strCol[catalog.DomainAccess]{&d.Access}, strCol[catalog.StoreStatus]{&d.Status},
				flagCol{&d.CheckVolumeTimestamp}, &d.Location}
		},
		valid: (*catalog.DataStore).Validate,
	}

	volumeGroupTable = &table[catalog.VolumeGroup]{
		name: store.TableVolumeGroup,
		cols: []string{"name", "original_name", "volcat", "poolname", "filecat", "encrypted"},
		nkey: 1,
		values: func(g *catalog.VolumeGroup) []any {
			return []any{g.Name, g.OriginalName, g.Volcat, g.Pool, g.Filecat, flag(g.Encrypted)}
		},
		dests: func(g *catalog.VolumeGroup) []any {
			return []any{&g.Name, &g.OriginalName, &g.Volcat, &g.Pool, &g.Filecat, flagCol{&g.Encrypted}}
		},
		valid: (*catalog.VolumeGroup).Validate,
	}

	volumeTable = &table[catalog.Volume]{
		name: store.TableVolume,
		cols: []string{"label", "label_type", "store_id", "group_name", "access", "volume_timestamp", "prev_unload",
			"last_update", "check_timestamp", "locked", "owner_node", "owner_user", "auth", "comment", "max_size",
			"index_path", "data_path", "data_size", "storage_size", "compression", "media_key_name"},
		nkey: 2,
		values: func(v *catalog.Volume) []any {
			return []any{v.Label, string(v.LabelType), v.StoreID, v.Group, string(v.Access), micros(v.Timestamp),
				micros(v.PrevUnload), micros(v.LastUpdate), flag(v.CheckTimestamp), flag(v.Locked), v.OwnerNode,
				v.OwnerUser, v.Auth, v.Comment, v.MaxSize, v.IndexPath, v.DataPath, v.DataSize, v.StorageSize,
				string(v.Compression), v.MediaKeyName}
		},
		dests: func(v *catalog.Volume) []any {
			return []any{&v.Label, strCol[catalog.LabelType]{&v.LabelType}, &v.StoreID, &v.Group,
				strCol[catalog.DomainAccess]{&v.Access}, timeCol{&v.Timestamp}, timeCol{&v.PrevUnload},
				timeCol{&v.LastUpdate}, flagCol{&v.CheckTimestamp}, flagCol{&v.Locked}, &v.OwnerNode, &v.OwnerUser,
				&v.Auth, &v.Comment, &v.MaxSize, &v.IndexPath, &v.DataPath, &v.DataSize, &v.StorageSize,
				strCol[catalog.Compression]{&v.Compression}, &v.MediaKeyName}
		},
		filters: map[string]string{"StoreID": "store_id", "Label": "label"},
		valid:   (*catalog.Volume).Validate,
	}

	poolTable = &table[catalog.Pool]{
		name: store.TablePool,
		cols: []string{"volcat", "poolname", "label", "density", "type", "autoscratch", "searchspace",
			"lastscratchvol", "canappend"},
		nkey: 2,
		values: func(p *catalog.Pool) []any {
			return []any{p.Volcat, p.Name, p.Label, p.Density, p.Type, flag(p.AutoScratch), p.SearchSpace,
				p.LastScratchVol, flag(p.CanAppend)}
		},
		dests: func(p *catalog.Pool) []any {
			return []any{&p.Volcat, &p.Name, &p.Label, &p.Density, &p.Type, flagCol{&p.AutoScratch}, &p.SearchSpace,
				&p.LastScratchVol, flagCol{&p.CanAppend}}
		},
		filters: map[string]string{"Volcat": "volcat", "Pool": "poolname"},
		valid:   (*catalog.Pool).Validate,
	}

	tapeVolumeTable = &table[catalog.TapeVolume]{
		name: store.TableTapeVolume,
		cols: []string{"volcat", "poolname", "volser", "label", "type", "volumestatus", "volsetid", "volindex",
			"ownerid", "density", "endofdatalba"},
		nkey: 3,
		values: func(v *catalog.TapeVolume) []any {
			return []any{v.Volcat, v.Pool, v.Volser, v.Label, v.Type, string(v.Status), v.VolsetID, v.VolIndex,
				v.OwnerID, v.Density, v.EndOfDataLBA}
		},
		dests: func(v *catalog.TapeVolume) []any {
			return []any{&v.Volcat, &v.Pool, &v.Volser, &v.Label, &v.Type, strCol[catalog.VolumeStatus]{&v.Status},
				&v.VolsetID, &v.VolIndex, &v.OwnerID, &v.Density, &v.EndOfDataLBA}
		},
		filters: map[string]string{"Volcat": "volcat", "Pool": "poolname", "Volser": "volser",
			"VolsetID": "volsetid", "Status": "volumestatus"},
		touch: func(t *tx, v *catalog.TapeVolume) { t.touchVolser(v.Volser) },
		valid: (*catalog.TapeVolume).Validate,
	}

	vtofcTable = &table[catalog.VolumeFilecat]{
		name: store.TableVTOFC,
		cols: []string{"volcat", "volsetid", "poolname", "filecatalog", "tapeformat"},
		nkey: 3,
		values: func(f *catalog.VolumeFilecat) []any {
			return []any{f.Volcat, f.VolsetID, f.Pool, f.Filecat, f.TapeFormat}
		},
		dests: func(f *catalog.VolumeFilecat) []any {
			return []any{&f.Volcat, &f.VolsetID, &f.Pool, &f.Filecat, &f.TapeFormat}
		},
		filters: map[string]string{"Volcat": "volcat", "VolsetID": "volsetid", "Pool": "poolname", "Filecat": "filecatalog"},
		touch:   func(t *tx, f *catalog.VolumeFilecat) { t.touchVolset(f.Volcat, f.VolsetID) },
		valid:   (*catalog.VolumeFilecat).Validate,
	}

	configTable = &table[catalog.FileConfig]{
		name:    store.TableConfig,
		cols:    []string{"filecat", "fileid", "lastgeneration"},
		nkey:    2,
		values:  func(f *catalog.FileConfig) []any { return []any{f.Filecat, f.FileID, f.LastGeneration} },
		dests:   func(f *catalog.FileConfig) []any { return []any{&f.Filecat, &f.FileID, &f.LastGeneration} },
		filters: map[string]string{"Filecat": "filecat", "FileID": "fileid"},
		valid:   (*catalog.FileConfig).Validate,
	}

	tapeFileTable = &table[catalog.TapeFile]{
		name: store.TableTapeFile,
		cols: []string{"filecat", "fileid", "generation", "version", "physicalcopy", "logicalcopy", "creationdate",
			"expirationdate", "recordformat", "recordlength", "blocklength", "tapefilemode", "catalogfiles",
			"tapefilestatus", "volumecatalog", "poolname", "volsetid", "comment"},
		nkey: 6,
		values: func(f *catalog.TapeFile) []any {
			return []any{f.Filecat, f.FileID, f.Generation, f.Version, f.PhysicalCopy, f.LogicalCopy, micros(f.Created),
				micros(f.Expiration), f.RecordFormat, f.RecordLength, f.BlockLength, f.Mode, flag(f.CatalogFiles),
				f.Status, f.Volcat, f.Pool, f.VolsetID, f.Comment}
		},
		dests: func(f *catalog.TapeFile) []any {
			return []any{&f.Filecat, &f.FileID, &f.Generation, &f.Version, &f.PhysicalCopy, &f.LogicalCopy,
				timeCol{&f.Created}, timeCol{&f.Expiration}, &f.RecordFormat, &f.RecordLength, &f.BlockLength, &f.Mode,
				flagCol{&f.CatalogFiles}, &f.Status, &f.Volcat, &f.Pool, &f.VolsetID, &f.Comment}
		},
		filters: map[string]string{"Filecat": "filecat", "FileID": "fileid", "Generation": "generation",
			"Volcat": "volumecatalog", "VolsetID": "volsetid", "Status": "tapefilestatus", "ExpiresBefore": "expirationdate"},
		fileGen: func(f *catalog.TapeFile) store.FileGen {
			return store.FileGen{FileID: f.FileID, Generation: f.Generation}
		},
		touch: func(t *tx, f *catalog.TapeFile) { t.touchVolset(f.Volcat, f.VolsetID) },
		valid: (*catalog.TapeFile).Validate,
	}

	tftovTable = &table[catalog.TapeFileVolume]{
		name: store.TableTFTOV,
		cols: []string{"filecat", "volumecatalog", "volser", "poolname", "fileid", "generation", "version",
			"physicalcopy", "logicalcopy", "volsetid", "volindex", "filesection", "filesequence", "fileseqlabellba"},
		nkey: 7,
		values: func(v *catalog.TapeFileVolume) []any {
			return []any{v.Filecat, v.Volcat, v.Volser, v.Pool, v.FileID, v.Generation, v.Version, v.PhysicalCopy,
				v.LogicalCopy, v.VolsetID, v.VolIndex, v.FileSection, v.FileSequence, v.LabelLBA}
		},
		dests: func(v *catalog.TapeFileVolume) []any {
			return []any{&v.Filecat, &v.Volcat, &v.Volser, &v.Pool, &v.FileID, &v.Generation, &v.Version,
				&v.PhysicalCopy, &v.LogicalCopy, &v.VolsetID, &v.VolIndex, &v.FileSection, &v.FileSequence, &v.LabelLBA}
		},
		filters: map[string]string{"Filecat": "filecat", "Volcat": "volumecatalog", "Volser": "volser",
			"FileID": "fileid", "Generation": "generation", "VolsetID": "volsetid"},
		fileGen: func(v *catalog.TapeFileVolume) store.FileGen {
			return store.FileGen{FileID: v.FileID, Generation: v.Generation}
		},
		touch: func(t *tx, v *catalog.TapeFileVolume) { t.touchVolset(v.Volcat, v.VolsetID); t.touchVolser(v.Volser) },
		valid: (*catalog.TapeFileVolume).Validate,
	}

	diskFileTable = &table[catalog.DiskFile]{
		name: store.TableDiskFile,
		cols: []string{"filecat", "diskfilename", "fileid", "generation", "volsetid", "version", "timedumped",
			"physicalcopy", "logicalcopy", "diskfilestatus", "opened", "broken", "rfneeded", "corrupt", "audited",
			"filecode", "filetype", "diskfileeof", "diskfileeof64", "lastmodtime", "poolname", "volumecatalog"},
		nkey: 5,
		values: func(d *catalog.DiskFile) []any {
			return []any{d.Filecat, d.Name, d.FileID, d.Generation, d.VolsetID, d.Version, micros(d.TimeDumped),
				d.PhysicalCopy, d.LogicalCopy, d.Status, flag(d.Opened), flag(d.Broken), flag(d.RFNeeded),
				flag(d.Corrupt), flag(d.Audited), d.FileCode, d.FileType, d.EOF32(), d.EOF, micros(d.LastModified),
				d.Pool, d.Volcat}
		},
		dests: func(d *catalog.DiskFile) []any {
			var eof32 int64
			return []any{&d.Filecat, &d.Name, &d.FileID, &d.Generation, &d.VolsetID, &d.Version, timeCol{&d.TimeDumped},
				&d.PhysicalCopy, &d.LogicalCopy, &d.Status, flagCol{&d.Opened}, flagCol{&d.Broken}, flagCol{&d.RFNeeded},
				flagCol{&d.Corrupt}, flagCol{&d.Audited}, &d.FileCode, &d.FileType, &eof32, &d.EOF,
				timeCol{&d.LastModified}, &d.Pool, &d.Volcat}
		},
		filters: map[string]string{"Filecat": "filecat", "Name": "diskfilename", "FileID": "fileid",
			"Generation": "generation", "Volcat": "volumecatalog", "VolsetID": "volsetid"},
		fileGen: func(d *catalog.DiskFile) store.FileGen {
			return store.FileGen{FileID: d.FileID, Generation: d.Generation}
		},
		touch: func(t *tx, d *catalog.DiskFile) { t.touchVolset(d.Volcat, d.VolsetID) },
		valid: (*catalog.DiskFile).Validate,
	}

	dftovTable = &table[catalog.DiskFileVolume]{
		name: store.TableDFTOV,
		cols: []string{"filecat", "diskfilename", "timedumped", "volumecatalog", "volser", "poolname", "volsetid",
			"volindex", "filepositionlba"},
		nkey: 6,
		values: func(d *catalog.DiskFileVolume) []any {
			return []any{d.Filecat, d.Name, micros(d.TimeDumped), d.Volcat, d.Volser, d.Pool, d.VolsetID, d.VolIndex,
				d.PositionLBA}
		},
		dests: func(d *catalog.DiskFileVolume) []any {
			return []any{&d.Filecat, &d.Name, timeCol{&d.TimeDumped}, &d.Volcat, &d.Volser, &d.Pool, &d.VolsetID,
				&d.VolIndex, &d.PositionLBA}
		},
		filters: map[string]string{"Filecat": "filecat", "Name": "diskfilename", "Volcat": "volumecatalog",
			"Volser": "volser", "VolsetID": "volsetid"},
		touch: func(t *tx, d *catalog.DiskFileVolume) { t.touchVolset(d.Volcat, d.VolsetID); t.touchVolser(d.Volser) },
		valid: (*catalog.DiskFileVolume).Validate,
	}
)
