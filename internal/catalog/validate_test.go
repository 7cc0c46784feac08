package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// ---------------------------------------------------------------------------
// Table machinery

// rule is one row of a rejection table: mutate a fresh valid fixture so that
// exactly one rule is violated and expect that rule's FieldError.
type rule[T any] struct {
	name   string
	mutate func(*T)
	field  string // expected FieldError.Field
	value  any    // expected FieldError.Value (with its dynamic type)
	reason string // substring of FieldError.Reason telling apart rules on one field
}

// variant is one row of an acceptance table: a valid fixture changed to
// another valid value (boundaries, optional fields, alternative value sets).
type variant[T any] struct {
	name   string
	mutate func(*T)
}

func testRecord[T any](t *testing.T, record string, fixture func() *T, validate func(*T) error, accept []variant[T], reject []rule[T]) {
	t.Helper()
	t.Run("fixture", func(t *testing.T) {
		if err := validate(fixture()); err != nil {
			t.Fatalf("valid fixture rejected: %v", err)
		}
	})
	for _, v := range accept {
		t.Run("accept/"+v.name, func(t *testing.T) {
			r := fixture()
			v.mutate(r)
			if err := validate(r); err != nil {
				t.Errorf("rejected: %v", err)
			}
		})
	}
	for _, tc := range reject {
		t.Run("reject/"+tc.name, func(t *testing.T) {
			r := fixture()
			tc.mutate(r)
			err := validate(r)
			if err == nil {
				t.Fatalf("accepted, want %s error", tc.field)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FieldError", err, err)
			}
			if fe.Record != record {
				t.Errorf("Record = %q, want %q", fe.Record, record)
			}
			if fe.Field != tc.field {
				t.Errorf("Field = %q, want %q (error: %v)", fe.Field, tc.field, err)
			}
			if !sameValue(fe.Value, tc.value) {
				t.Errorf("Value = %#v (%T), want %#v (%T)", fe.Value, fe.Value, tc.value, tc.value)
			}
			if fe.Reason == "" {
				t.Errorf("empty Reason")
			}
			if tc.reason != "" && !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("Reason = %q, want it to mention %q", fe.Reason, tc.reason)
			}
			msg := err.Error()
			for _, want := range []string{record, tc.field, quote(display(tc.value))} {
				if !strings.Contains(msg, want) {
					t.Errorf("Error() = %q does not mention %q", msg, want)
				}
			}
		})
	}
}

// sameValue compares FieldError values: times by instant, the rest with ==
// (so a DomainAccess("X") is not the string "X").
func sameValue(got, want any) bool {
	if w, ok := want.(time.Time); ok {
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	}
	return got == want
}

// display renders a value the way fmt.Sprint does for the types the
// validators report.
func display(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case DomainAccess:
		return string(x)
	case StoreStatus:
		return string(x)
	case LabelType:
		return string(x)
	case Compression:
		return string(x)
	case VolumeStatus:
		return string(x)
	case int:
		return itoa(int64(x))
	case int64:
		return itoa(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case time.Time:
		return x.String()
	}
	panic("display: unexpected type")
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	var b []byte
	for n != 0 {
		d := n % 10
		if d < 0 {
			d = -d
		}
		b = append([]byte{byte('0' + d)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// quote mirrors %q for the ASCII strings used in these tests.
func quote(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\a':
			b.WriteString(`\a`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\v':
			b.WriteString(`\v`)
		case c < ' ' || c == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestTestHelpers(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{0, "0"}, {-1, "-1"}, {int64(2147483648), "2147483648"}, {int64(-9223372036854775808), "-9223372036854775808"},
		{true, "true"}, {DomainAccess("OWNER"), "OWNER"},
	} {
		if got := display(tc.in); got != tc.want {
			t.Errorf("display(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got, want := quote("\\PRIM \"x\"\t\x01\a\x7f"), `"\\PRIM \"x\"\t\x01\a\x7f"`; got != want {
		t.Errorf("quote = %s, want %s", got, want)
	}
}

// Shared sample values.
var (
	t0   = time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)
	est  = time.FixedZone("EST", -5*3600)
	cet  = time.FixedZone("CEST", 2*3600)
	s31  = alnum(31)
	s33  = strings.Repeat("X", 33)
	id61 = strings.Repeat("F", 61)
)

// ---------------------------------------------------------------------------
// Site

func validSite() *Site {
	return &Site{
		Node:      `\PRIM`,
		DomainID:  "BBOX",
		BackPakID: "BBOX-PRIM-01",
		MediaDefs: MediaDefs{
			DefaultVolcat:    `\PRIM.VCLOCAL`,
			DefaultFilecat:   `\PRIM.FCLOCAL`,
			Retention:        30,
			AbendRetention:   1,
			SearchListSystem: `\PRIM`,
		},
		SearchList: []string{`\PRIM.VCPROD`, `\PRIM.FCPROD`, `\NODEP.VCPROD`},
	}
}

func TestSiteValidate(t *testing.T) {
	testRecord(t, "SITE", validSite, (*Site).Validate,
		[]variant[Site]{
			{"7-char node", func(s *Site) { s.Node = `\NSBLDE4` }},
			{"8-char domain id", func(s *Site) { s.DomainID = "BACKBOX1" }},
			{"32-char backpak id", func(s *Site) { s.BackPakID = strings.Repeat("K", 32) }},
			{"unqualified default catalogs", func(s *Site) { s.MediaDefs.DefaultVolcat, s.MediaDefs.DefaultFilecat = "VCLOCAL", "FCLOCAL" }},
			{"permanent retention", func(s *Site) { s.MediaDefs.Retention = RetentionPermanent }},
			{"retention 1", func(s *Site) { s.MediaDefs.Retention = 1 }},
			{"retention 9999", func(s *Site) { s.MediaDefs.Retention = 9999 }},
			{"abend retention 0", func(s *Site) { s.MediaDefs.AbendRetention = 0 }},
			{"abend retention 9999", func(s *Site) { s.MediaDefs.AbendRetention = 9999 }},
			{"no search list system", func(s *Site) { s.MediaDefs.SearchListSystem = "" }},
			{"empty search list", func(s *Site) { s.SearchList = nil }},
			{"key-manager entries", func(s *Site) {
				s.KeyManagers = []KeyManagerEntry{{"BPPRIM01", "eskm2.example:5696"}, {"BPOLD", "ESKM3"}}
			}},
		},
		[]rule[Site]{
			{"node 8 chars", func(s *Site) { s.Node = `\PRIMARY1` }, "NODE", `\PRIMARY1`, ""},
			{"node without backslash", func(s *Site) { s.Node = "PRIM" }, "NODE", "PRIM", ""},
			{"node empty", func(s *Site) { s.Node = "" }, "NODE", "", ""},
			{"domain id starts with digit", func(s *Site) { s.DomainID = "9BOX" }, "DOMAINID", "9BOX", ""},
			{"domain id 9 chars", func(s *Site) { s.DomainID = "BACKBOXES" }, "DOMAINID", "BACKBOXES", ""},
			{"domain id empty", func(s *Site) { s.DomainID = "" }, "DOMAINID", "", ""},
			{"backpak id empty", func(s *Site) { s.BackPakID = "" }, "BACKPAKID", "", ""},
			{"backpak id with space", func(s *Site) { s.BackPakID = "BBOX PRIM" }, "BACKPAKID", "BBOX PRIM", ""},
			{"backpak id 33 chars", func(s *Site) { s.BackPakID = s33 }, "BACKPAKID", s33, ""},
			{"backpak id control char", func(s *Site) { s.BackPakID = "BBOX\x01" }, "BACKPAKID", "BBOX\x01", ""},
			{"default volcat empty", func(s *Site) { s.MediaDefs.DefaultVolcat = "" }, "MEDIADEFS.VOLCAT", "", ""},
			{"default volcat 31 chars", func(s *Site) { s.MediaDefs.DefaultVolcat = s31 }, "MEDIADEFS.VOLCAT", s31, ""},
			{"default filecat starts with digit", func(s *Site) { s.MediaDefs.DefaultFilecat = `\PRIM.1FC` }, "MEDIADEFS.FILECAT", `\PRIM.1FC`, ""},
			{"retention 0", func(s *Site) { s.MediaDefs.Retention = 0 }, "MEDIADEFS.RETENTION", 0, ""},
			{"retention 10000", func(s *Site) { s.MediaDefs.Retention = 10000 }, "MEDIADEFS.RETENTION", 10000, ""},
			{"retention -2", func(s *Site) { s.MediaDefs.Retention = -2 }, "MEDIADEFS.RETENTION", -2, ""},
			{"abend retention -1", func(s *Site) { s.MediaDefs.AbendRetention = -1 }, "MEDIADEFS.ABENDRETENTION", -1, ""},
			{"abend retention 10000", func(s *Site) { s.MediaDefs.AbendRetention = 10000 }, "MEDIADEFS.ABENDRETENTION", 10000, ""},
			{"search list system not a node", func(s *Site) { s.MediaDefs.SearchListSystem = "PRIM" }, "MEDIADEFS.SEARCHLISTSYSTEM", "PRIM", ""},
			{"search list entry unqualified", func(s *Site) { s.SearchList[1] = "FCPROD" }, "SEARCHLIST[1]", "FCPROD", "node-qualified"},
			{"key-manager entry without server", func(s *Site) { s.KeyManagers = []KeyManagerEntry{{"BPPRIM01", ""}} },
				"KEYMANAGER[0].SERVER", "", ""},
			{"key-manager entry with = in id", func(s *Site) { s.KeyManagers = []KeyManagerEntry{{"BP=1", "k:5696"}} },
				"KEYMANAGER[0].BACKPAKID", "BP=1", ""},
			{"key-manager entries repeat an id", func(s *Site) { s.KeyManagers = []KeyManagerEntry{{"BP1", "a"}, {"BP1", "b"}} },
				"KEYMANAGER[1].BACKPAKID", "BP1", "repeat"},
			{"search list entry without name", func(s *Site) { s.SearchList[0] = `\PRIM.` }, "SEARCHLIST[0]", `\PRIM.`, ""},
			{"search list entry too long", func(s *Site) { s.SearchList[2] = `\NODEP.` + s31 }, "SEARCHLIST[2]", `\NODEP.` + s31, ""},
		})
}

func TestSiteSearchListNodes(t *testing.T) {
	s := validSite()
	s.SearchList = append(s.SearchList, "UNQUALIFIED", `\SECD.VCREPL`, `\PRIM.VCOTHER`)
	got := s.SearchListNodes()
	want := []string{`\PRIM`, `\NODEP`, `\SECD`}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("SearchListNodes() = %q, want %q", got, want)
	}
	if got := (&Site{}).SearchListNodes(); len(got) != 0 {
		t.Errorf("empty search list: SearchListNodes() = %q", got)
	}
}

// ---------------------------------------------------------------------------
// BackPak: DataStore, VolumeGroup, Volume

func validDataStore() *DataStore {
	return &DataStore{ID: "DS_PROD", Access: AccessPrimary, Status: StoreActive, CheckVolumeTimestamp: true, Location: `\\NAS1\VTC\DS_PROD`}
}

func TestDataStoreValidate(t *testing.T) {
	loc201 := `\\NAS1\` + strings.Repeat("D", 194)
	testRecord(t, "DATASTORE", validDataStore, (*DataStore).Validate,
		[]variant[DataStore]{
			{"id with inner space", func(d *DataStore) { d.ID = "PROD STORE" }},
			{"id 32 chars", func(d *DataStore) { d.ID = strings.Repeat("S", 32) }},
			{"secondary", func(d *DataStore) { d.Access = AccessSecondary }},
			{"restricted", func(d *DataStore) { d.Access = AccessRestricted }},
			{"inactive", func(d *DataStore) { d.Status = StoreInactive }},
			{"no location", func(d *DataStore) { d.Location = "" }},
			{"location 200 chars", func(d *DataStore) { d.Location = loc201[:200] }},
		},
		[]rule[DataStore]{
			{"id empty", func(d *DataStore) { d.ID = "" }, "STOREID", "", ""},
			{"id leading space", func(d *DataStore) { d.ID = " DS_PROD" }, "STOREID", " DS_PROD", ""},
			{"id trailing space", func(d *DataStore) { d.ID = "DS_PROD " }, "STOREID", "DS_PROD ", ""},
			{"id 33 chars", func(d *DataStore) { d.ID = s33 }, "STOREID", s33, ""},
			{"id with tab", func(d *DataStore) { d.ID = "DS\tPROD" }, "STOREID", "DS\tPROD", ""},
			{"access legacy OWNER", func(d *DataStore) { d.Access = "OWNER" }, "DOMAINACCESS", DomainAccess("OWNER"), ""},
			{"access empty", func(d *DataStore) { d.Access = "" }, "DOMAINACCESS", DomainAccess(""), ""},
			{"access lower case", func(d *DataStore) { d.Access = "primary" }, "DOMAINACCESS", DomainAccess("primary"), ""},
			{"status unknown", func(d *DataStore) { d.Status = "ONLINE" }, "STATUS", StoreStatus("ONLINE"), ""},
			{"status empty", func(d *DataStore) { d.Status = "" }, "STATUS", StoreStatus(""), ""},
			{"location 201 chars", func(d *DataStore) { d.Location = loc201 }, "LOCATION", loc201, ""},
			{"location with newline", func(d *DataStore) { d.Location = "\\\\NAS1\\VTC\n" }, "LOCATION", "\\\\NAS1\\VTC\n", ""},
		})
}

func validVolumeGroup() *VolumeGroup {
	return &VolumeGroup{Name: "BBOX_BACKUP", Volcat: `\SECD.VCREPL`, Pool: "BBOX_BACKUP", Filecat: `\SECD.FCREPL`, Encrypted: true}
}

func TestVolumeGroupValidate(t *testing.T) {
	testRecord(t, "VOLUMEGROUP", validVolumeGroup, (*VolumeGroup).Validate,
		[]variant[VolumeGroup]{
			{"original name", func(g *VolumeGroup) { g.OriginalName = "PROD_BACKUP" }},
			{"unqualified catalogs", func(g *VolumeGroup) { g.Volcat, g.Filecat = "VCREPL", "FCREPL" }},
			{"30-char name", func(g *VolumeGroup) { g.Name = alnum(30) }},
		},
		[]rule[VolumeGroup]{
			{"name starts with digit", func(g *VolumeGroup) { g.Name = "1BACKUP" }, "NAME", "1BACKUP", ""},
			{"name empty", func(g *VolumeGroup) { g.Name = "" }, "NAME", "", ""},
			{"name 31 chars", func(g *VolumeGroup) { g.Name = s31 }, "NAME", s31, ""},
			{"original name with hyphen", func(g *VolumeGroup) { g.OriginalName = "PROD-GROUP" }, "ORIGINALNAME", "PROD-GROUP", ""},
			{"volcat node without backslash", func(g *VolumeGroup) { g.Volcat = "SECD.VCREPL" }, "VOLCAT", "SECD.VCREPL", ""},
			{"volcat empty", func(g *VolumeGroup) { g.Volcat = "" }, "VOLCAT", "", ""},
			{"pool starts with underscore", func(g *VolumeGroup) { g.Pool = "_POOL" }, "POOL", "_POOL", ""},
			{"pool starts with digit", func(g *VolumeGroup) { g.Pool = "1993TAPES" }, "POOL", "1993TAPES", ""},
			{"filecat node only", func(g *VolumeGroup) { g.Filecat = `\SECD` }, "FILECAT", `\SECD`, ""},
		})
}

func validVolume() *Volume {
	return &Volume{
		Label:          "T00045",
		LabelType:      Labeled,
		StoreID:        "DS_PROD",
		Group:          "BBOX_BACKUP",
		Access:         AccessPrimary,
		Timestamp:      t0,
		PrevUnload:     t0.Add(time.Hour),
		LastUpdate:     t0.Add(2 * time.Hour),
		CheckTimestamp: true,
		OwnerNode:      `\PRIM`,
		OwnerUser:      "SUPER.OPER",
		Auth:           "GGO",
		Comment:        "weekly payroll",
		MaxSize:        4 << 30,
		IndexPath:      `\\NAS1\VTC\DS_PROD\LBT00045.IND`,
		DataPath:       `\\NAS1\VTC\DS_PROD\LBT00045.DAT`,
		DataSize:       1 << 30,
		StorageSize:    1<<30 + 4096,
		Compression:    CompressNone,
		MediaKeyName:   "N7566B3CCLAB035D873833A969D0008_BBBBBBBB_1911112113",
	}
}

func TestVolumeValidate(t *testing.T) {
	path261 := `\\NAS1\` + strings.Repeat("P", 241) + `\LBT00045.IND`
	comment81 := strings.Repeat("c", 81)
	key65 := strings.Repeat("K", 65)
	testRecord(t, "VOLUME", validVolume, (*Volume).Validate,
		[]variant[Volume]{
			{"unlabeled with NL paths", func(v *Volume) {
				v.LabelType = Unlabeled
				v.IndexPath, v.DataPath = `D:\VTC\NLT00045.IND`, `D:\VTC\NLT00045.DAT`
			}},
			{"short label", func(v *Volume) {
				v.Label = "A20"
				v.IndexPath, v.DataPath = `D:\LBA20.IND`, `D:\LBA20.DAT`
			}},
			{"no image paths", func(v *Volume) { v.IndexPath, v.DataPath = "", "" }},
			{"no owner", func(v *Volume) { v.OwnerNode, v.OwnerUser = "", "" }},
			{"secondary", func(v *Volume) { v.Access = AccessSecondary }},
			{"restricted auth", func(v *Volume) { v.Access, v.Auth = AccessRestricted, "??N" }},
			{"auth NNN", func(v *Volume) { v.Auth = "NNN" }},
			{"auth all codes", func(v *Volume) { v.Auth = "CUA" }},
			{"empty comment", func(v *Volume) { v.Comment = "" }},
			{"80-char comment", func(v *Volume) { v.Comment = comment81[:80] }},
			{"no max size", func(v *Volume) { v.MaxSize, v.DataSize = 0, 1<<40 }},
			{"data size equals max size", func(v *Volume) { v.DataSize = v.MaxSize }},
			{"zlib data beyond max size", func(v *Volume) { v.Compression, v.DataSize = CompressZlib, v.MaxSize*3 }},
			{"minilzo data beyond max size", func(v *Volume) { v.Compression, v.DataSize = CompressMiniLZO, v.MaxSize+1 }},
			{"zero sizes", func(v *Volume) { v.MaxSize, v.DataSize, v.StorageSize = 0, 0, 0 }},
			{"no media key", func(v *Volume) { v.MediaKeyName = "" }},
			{"64-char media key", func(v *Volume) { v.MediaKeyName = key65[:64] }},
			{"prev unload equals last update", func(v *Volume) { v.PrevUnload = v.LastUpdate }},
			{"no prev unload", func(v *Volume) { v.PrevUnload = time.Time{} }},
			{"no last update", func(v *Volume) { v.LastUpdate = time.Time{} }},
			{"locked", func(v *Volume) { v.Locked = true }},
		},
		[]rule[Volume]{
			{"label 7 chars", func(v *Volume) { v.Label = "T000456" }, "LABEL", "T000456", ""},
			{"label lower case", func(v *Volume) { v.Label = "t00045" }, "LABEL", "t00045", ""},
			{"label empty", func(v *Volume) { v.Label = "" }, "LABEL", "", ""},
			{"label type unknown", func(v *Volume) { v.LabelType = "NL" }, "LABELTYPE", LabelType("NL"), ""},
			{"label type empty", func(v *Volume) { v.LabelType = "" }, "LABELTYPE", LabelType(""), ""},
			{"store id empty", func(v *Volume) { v.StoreID = "" }, "STOREID", "", ""},
			{"group with space", func(v *Volume) { v.Group = "BBOX BACKUP" }, "VOLUMEGROUP", "BBOX BACKUP", ""},
			{"group empty", func(v *Volume) { v.Group = "" }, "VOLUMEGROUP", "", ""},
			{"access legacy OWNER", func(v *Volume) { v.Access = "OWNER" }, "DOMAINACCESS", DomainAccess("OWNER"), ""},
			{"owner node without backslash", func(v *Volume) { v.OwnerNode = "PRIM" }, "OWNERNODE", "PRIM", ""},
			{"owner user without dot", func(v *Volume) { v.OwnerUser = "SUPER" }, "OWNERUSER", "SUPER", ""},
			{"owner user empty user", func(v *Volume) { v.OwnerUser = "SUPER." }, "OWNERUSER", "SUPER.", ""},
			{"owner user 9-char user", func(v *Volume) { v.OwnerUser = "SUPER.OPERATORS" }, "OWNERUSER", "SUPER.OPERATORS", ""},
			{"owner user numeric", func(v *Volume) { v.OwnerUser = "255.255" }, "OWNERUSER", "255.255", ""},
			{"auth 2 codes", func(v *Volume) { v.Auth = "GG" }, "AUTH", "GG", ""},
			{"auth 4 codes", func(v *Volume) { v.Auth = "GGOO" }, "AUTH", "GGOO", ""},
			{"auth unknown code", func(v *Volume) { v.Auth = "GGX" }, "AUTH", "GGX", ""},
			{"auth display-only dot", func(v *Volume) { v.Auth = "G.O" }, "AUTH", "G.O", ""},
			{"auth lower case", func(v *Volume) { v.Auth = "ggo" }, "AUTH", "ggo", ""},
			{"auth empty", func(v *Volume) { v.Auth = "" }, "AUTH", "", ""},
			{"comment 81 chars", func(v *Volume) { v.Comment = comment81 }, "COMMENT", comment81, ""},
			{"comment with newline", func(v *Volume) { v.Comment = "line\nbreak" }, "COMMENT", "line\nbreak", ""},
			{"max size negative", func(v *Volume) { v.MaxSize = -1 }, "MAXSIZE", int64(-1), ""},
			{"data size negative", func(v *Volume) { v.DataSize = -1 }, "DATASIZE", int64(-1), "negative"},
			{"storage size negative", func(v *Volume) { v.StorageSize = -1 }, "STORAGESIZE", int64(-1), ""},
			{"uncompressed data beyond max size", func(v *Volume) { v.DataSize = v.MaxSize + 1 }, "DATASIZE", int64(4<<30 + 1), "exceed MAXSIZE"},
			{"compression unknown", func(v *Volume) { v.Compression = "LZ4" }, "COMPRESSION", Compression("LZ4"), ""},
			{"compression empty", func(v *Volume) { v.Compression = "" }, "COMPRESSION", Compression(""), ""},
			{"index path of another label", func(v *Volume) { v.IndexPath = `\\NAS1\VTC\DS_PROD\LBT00046.IND` }, "INDEXPATH", `\\NAS1\VTC\DS_PROD\LBT00046.IND`, ""},
			{"index path with NL prefix on labeled", func(v *Volume) { v.IndexPath = `\\NAS1\VTC\DS_PROD\NLT00045.IND` }, "INDEXPATH", `\\NAS1\VTC\DS_PROD\NLT00045.IND`, ""},
			{"index path without separator", func(v *Volume) { v.IndexPath = `\\NAS1\VTC\DS_PRODLBT00045.IND` }, "INDEXPATH", `\\NAS1\VTC\DS_PRODLBT00045.IND`, ""},
			{"index path is the data file", func(v *Volume) { v.IndexPath = v.DataPath }, "INDEXPATH", `\\NAS1\VTC\DS_PROD\LBT00045.DAT`, ""},
			{"index path 261 chars", func(v *Volume) { v.IndexPath = path261 }, "INDEXPATH", path261, ""},
			{"data path is the index file", func(v *Volume) { v.DataPath = `\\NAS1\VTC\DS_PROD\LBT00045.IND` }, "DATAPATH", `\\NAS1\VTC\DS_PROD\LBT00045.IND`, ""},
			{"labeled paths on unlabeled volume", func(v *Volume) { v.LabelType = Unlabeled }, "INDEXPATH", `\\NAS1\VTC\DS_PROD\LBT00045.IND`, ""},
			{"media key with hyphen", func(v *Volume) { v.MediaKeyName = "N2108-001" }, "MEDIAKEYNAME", "N2108-001", ""},
			{"media key 65 chars", func(v *Volume) { v.MediaKeyName = key65 }, "MEDIAKEYNAME", key65, ""},
			{"prev unload after last update", func(v *Volume) { v.PrevUnload = t0.Add(3 * time.Hour) }, "PREVUNLOAD", t0.Add(3 * time.Hour), ""},
		})
}

func TestVolumeKeyAndPrefix(t *testing.T) {
	v := validVolume()
	if got := v.Key().String(); got != "T00045/LABELED" {
		t.Errorf("Key() = %q", got)
	}
	if Labeled.FilePrefix() != "LB" || Unlabeled.FilePrefix() != "NL" {
		t.Errorf("FilePrefix: labeled %q, unlabeled %q", Labeled.FilePrefix(), Unlabeled.FilePrefix())
	}
	// A labeled and an unlabeled volume may share a label: their keys differ.
	u := validVolume()
	u.LabelType = Unlabeled
	if v.Key() == u.Key() {
		t.Errorf("labeled and unlabeled volumes share key %v", v.Key())
	}
}

// ---------------------------------------------------------------------------
// DSM/TC: Pool, TapeVolume, VolumeFilecat

func validPool() *Pool {
	return &Pool{Volcat: `\PRIM.VCPROD`, Name: "BBOX_BACKUP", Label: "BACKUP", Density: "ANY", Type: "LTO4",
		AutoScratch: true, SearchSpace: "IN", LastScratchVol: "T00045", CanAppend: true}
}

func TestPoolValidate(t *testing.T) {
	testRecord(t, "POOL", validPool, (*Pool).Validate,
		[]variant[Pool]{
			{"label ANY", func(p *Pool) { p.Label = "ANY" }},
			{"label ANSI", func(p *Pool) { p.Label = "ANSI" }},
			{"label IBM", func(p *Pool) { p.Label = "IBM" }},
			{"density 1600", func(p *Pool) { p.Density = "1600" }},
			{"density 6250", func(p *Pool) { p.Density = "6250" }},
			{"type ANY", func(p *Pool) { p.Type = "ANY" }},
			{"type CART3480", func(p *Pool) { p.Type = "CART3480" }},
			{"type SDLT", func(p *Pool) { p.Type = "SDLT" }},
			{"open reel without append", func(p *Pool) { p.Type, p.Density, p.CanAppend = "OPEN", "6250", false }},
			{"excluded from search space", func(p *Pool) { p.SearchSpace = "EX" }},
			{"no last scratch volume", func(p *Pool) { p.LastScratchVol = "" }},
			{"unqualified volcat", func(p *Pool) { p.Volcat = "VCPROD" }},
			{"30-char name", func(p *Pool) { p.Name = alnum(30) }},
		},
		[]rule[Pool]{
			{"volcat empty", func(p *Pool) { p.Volcat = "" }, "VOLCAT", "", ""},
			{"volcat 31 chars", func(p *Pool) { p.Volcat = `\PRIM.` + alnum(25) }, "VOLCAT", `\PRIM.` + alnum(25), ""},
			{"name starts with digit", func(p *Pool) { p.Name = "1993TAPES" }, "POOLNAME", "1993TAPES", ""},
			{"name with hyphen", func(p *Pool) { p.Name = "MKT-TAPES" }, "POOLNAME", "MKT-TAPES", ""},
			{"name 31 chars", func(p *Pool) { p.Name = s31 }, "POOLNAME", s31, ""},
			{"label TMF", func(p *Pool) { p.Label = "TMF" }, "LABEL", "TMF", ""},
			{"label empty", func(p *Pool) { p.Label = "" }, "LABEL", "", ""},
			{"density 800", func(p *Pool) { p.Density = "800" }, "DENSITY", "800", ""},
			{"type LTO6", func(p *Pool) { p.Type = "LTO6" }, "TYPE", "LTO6", ""},
			{"type empty", func(p *Pool) { p.Type = "" }, "TYPE", "", ""},
			{"search space INCLUDE", func(p *Pool) { p.SearchSpace = "INCLUDE" }, "SEARCHSPACE", "INCLUDE", ""},
			{"search space empty", func(p *Pool) { p.SearchSpace = "" }, "SEARCHSPACE", "", ""},
			{"last scratch vol 7 chars", func(p *Pool) { p.LastScratchVol = "T000456" }, "LASTSCRATCHVOL", "T000456", ""},
			{"open reel appending", func(p *Pool) { p.Type = "OPEN" }, "CANAPPEND", true, "open-reel"},
		})
}

func validTapeVolume() *TapeVolume {
	return &TapeVolume{Volcat: `\PRIM.VCPROD`, Volser: "T00045", Pool: "BBOX_BACKUP", Label: "BACKUP", Type: "LTO4",
		Status: StatusAssigned, VolsetID: "T00045", VolIndex: 1, EndOfDataLBA: 123456}
}

func TestTapeVolumeValidate(t *testing.T) {
	owner48 := strings.Repeat("\x00", 48)
	testRecord(t, "TAPEVOLUME", validTapeVolume, (*TapeVolume).Validate,
		[]variant[TapeVolume]{
			{"scratch outside any set", func(v *TapeVolume) { v.Status, v.VolsetID, v.VolIndex = StatusScratch, "", 0 }},
			{"selected outside any set", func(v *TapeVolume) { v.Status, v.VolsetID, v.VolIndex = StatusSelected, "", 0 }},
			{"inuse in a set", func(v *TapeVolume) { v.Status = StatusInUse }},
			{"inuse outside any set", func(v *TapeVolume) { v.Status, v.VolsetID, v.VolIndex = StatusInUse, "", 0 }},
			{"full", func(v *TapeVolume) { v.Status, v.EndOfDataLBA = StatusFull, MaxEndOfDataLBA }},
			{"released in a set", func(v *TapeVolume) { v.Status = StatusReleased }},
			{"released outside any set", func(v *TapeVolume) { v.Status, v.VolsetID, v.VolIndex = StatusReleased, "", 0 }},
			{"bad", func(v *TapeVolume) { v.Status = StatusBad }},
			{"second volume of a set", func(v *TapeVolume) { v.VolsetID, v.VolIndex = "T00044", 2 }},
			{"volindex 32767", func(v *TapeVolume) { v.VolsetID, v.VolIndex = "T00044", 32767 }},
			{"label ANSI", func(v *TapeVolume) { v.Label = "ANSI" }},
			{"label IBM", func(v *TapeVolume) { v.Label = "IBM" }},
			{"open reel 6250", func(v *TapeVolume) { v.Type, v.Density = "OPEN", "6250" }},
			{"open reel 1600", func(v *TapeVolume) { v.Type, v.Density = "OPEN", "1600" }},
			{"owner id 47 bytes non-printable", func(v *TapeVolume) { v.OwnerID = owner48[:47] }},
			{"end of data -1", func(v *TapeVolume) { v.EndOfDataLBA = -1 }},
			{"end of data 0", func(v *TapeVolume) { v.EndOfDataLBA = 0 }},
			{"end of data full", func(v *TapeVolume) { v.EndOfDataLBA = MaxEndOfDataLBA }},
		},
		[]rule[TapeVolume]{
			{"volcat empty", func(v *TapeVolume) { v.Volcat = "" }, "VOLCAT", "", ""},
			{"volser 7 chars", func(v *TapeVolume) { v.Volser = "T000456" }, "VOLSER", "T000456", ""},
			{"volser empty", func(v *TapeVolume) { v.Volser = "" }, "VOLSER", "", ""},
			{"pool starts with digit", func(v *TapeVolume) { v.Pool = "9POOL" }, "POOLNAME", "9POOL", ""},
			{"label ANY is for pools only", func(v *TapeVolume) { v.Label = "ANY" }, "LABEL", "ANY", ""},
			{"label lower case", func(v *TapeVolume) { v.Label = "backup" }, "LABEL", "backup", ""},
			{"type ANY is for pools only", func(v *TapeVolume) { v.Type = "ANY" }, "TYPE", "ANY", ""},
			{"status unknown", func(v *TapeVolume) { v.Status = "PENDING" }, "VOLUMESTATUS", VolumeStatus("PENDING"), ""},
			{"status lower case", func(v *TapeVolume) { v.Status = "assigned" }, "VOLUMESTATUS", VolumeStatus("assigned"), ""},
			{"status empty", func(v *TapeVolume) { v.Status = "" }, "VOLUMESTATUS", VolumeStatus(""), ""},
			{"volsetid 7 chars", func(v *TapeVolume) { v.VolsetID = "T000456" }, "VOLSETID", "T000456", "volume name"},
			{"volindex missing in a set", func(v *TapeVolume) { v.VolIndex = 0 }, "VOLINDEX", 0, "exactly when VOLSETID"},
			{"volindex outside any set", func(v *TapeVolume) { v.Status, v.VolsetID, v.VolIndex = StatusInUse, "", 2 }, "VOLINDEX", 2, "exactly when VOLSETID"},
			{"volindex 32768", func(v *TapeVolume) { v.VolsetID, v.VolIndex = "T00044", 32768 }, "VOLINDEX", 32768, "1-32767"},
			{"volindex negative", func(v *TapeVolume) { v.VolIndex = -1 }, "VOLINDEX", -1, "1-32767"},
			{"first volume names another set", func(v *TapeVolume) { v.VolsetID = "T00044" }, "VOLSETID", "T00044", "first volume"},
			{"assigned outside any set", func(v *TapeVolume) { v.VolsetID, v.VolIndex = "", 0 }, "VOLSETID", "", "ASSIGNED or FULL"},
			{"full outside any set", func(v *TapeVolume) { v.Status, v.VolsetID, v.VolIndex = StatusFull, "", 0 }, "VOLSETID", "", "ASSIGNED or FULL"},
			{"scratch in a set", func(v *TapeVolume) { v.Status = StatusScratch }, "VOLSETID", "T00045", "SCRATCH or SELECTED"},
			{"selected in a set", func(v *TapeVolume) { v.Status = StatusSelected }, "VOLSETID", "T00045", "SCRATCH or SELECTED"},
			{"owner id 48 bytes", func(v *TapeVolume) { v.OwnerID = owner48 }, "OWNERID", owner48, ""},
			{"density 800", func(v *TapeVolume) { v.Density = "800" }, "DENSITY", "800", ""},
			{"density ANY is for pools only", func(v *TapeVolume) { v.Density = "ANY" }, "DENSITY", "ANY", ""},
			{"end of data -2", func(v *TapeVolume) { v.EndOfDataLBA = -2 }, "ENDOFDATALBA", int64(-2), ""},
			{"end of data beyond full", func(v *TapeVolume) { v.EndOfDataLBA = MaxEndOfDataLBA + 1 }, "ENDOFDATALBA", int64(MaxEndOfDataLBA + 1), ""},
		})
}

func validVolumeFilecat() *VolumeFilecat {
	return &VolumeFilecat{Volcat: `\PRIM.VCPROD`, VolsetID: "T00045", Pool: "BBOX_BACKUP", Filecat: `\PRIM.FCPROD`, TapeFormat: FormatArchive}
}

func TestVolumeFilecatValidate(t *testing.T) {
	testRecord(t, "VTOFC", validVolumeFilecat, (*VolumeFilecat).Validate,
		[]variant[VolumeFilecat]{
			{"nonbackup", func(f *VolumeFilecat) { f.TapeFormat = FormatNonBackup }},
			{"longname", func(f *VolumeFilecat) { f.TapeFormat = FormatLongName }},
		},
		[]rule[VolumeFilecat]{
			{"volcat empty", func(f *VolumeFilecat) { f.Volcat = "" }, "VOLCAT", "", ""},
			{"volsetid empty", func(f *VolumeFilecat) { f.VolsetID = "" }, "VOLSETID", "", ""},
			{"volsetid 7 chars", func(f *VolumeFilecat) { f.VolsetID = "T000456" }, "VOLSETID", "T000456", ""},
			{"pool with space", func(f *VolumeFilecat) { f.Pool = "BBOX BACKUP" }, "POOLNAME", "BBOX BACKUP", ""},
			{"filecat two dots", func(f *VolumeFilecat) { f.Filecat = `\PRIM.FC.PROD` }, "FILECATALOG", `\PRIM.FC.PROD`, ""},
			{"tape format -1", func(f *VolumeFilecat) { f.TapeFormat = -1 }, "TAPEFORMAT", -1, ""},
			{"tape format 3", func(f *VolumeFilecat) { f.TapeFormat = 3 }, "TAPEFORMAT", 3, ""},
		})
}

// ---------------------------------------------------------------------------
// DSM/TC file catalog: FileConfig, TapeFile, TapeFileVolume

func validFileConfig() *FileConfig {
	return &FileConfig{Filecat: `\PRIM.FCPROD`, FileID: "PAYROLL_BACKUP", LastGeneration: 12}
}

func TestFileConfigValidate(t *testing.T) {
	testRecord(t, "CONFIG", validFileConfig, (*FileConfig).Validate,
		[]variant[FileConfig]{
			{"generation 1", func(f *FileConfig) { f.LastGeneration = 1 }},
			{"generation 32767", func(f *FileConfig) { f.LastGeneration = MaxGeneration }},
			{"60-char file id", func(f *FileConfig) { f.FileID = id61[:60] }},
			{"file id starting with digit", func(f *FileConfig) { f.FileID = "123_START" }},
		},
		[]rule[FileConfig]{
			{"filecat empty", func(f *FileConfig) { f.Filecat = "" }, "FILECAT", "", ""},
			{"file id 61 chars", func(f *FileConfig) { f.FileID = id61 }, "FILEID", id61, ""},
			{"file id empty", func(f *FileConfig) { f.FileID = "" }, "FILEID", "", ""},
			{"file id with space", func(f *FileConfig) { f.FileID = "PAYROLL BACKUP" }, "FILEID", "PAYROLL BACKUP", ""},
			{"generation 0", func(f *FileConfig) { f.LastGeneration = 0 }, "LASTGENERATION", 0, ""},
			{"generation 32768", func(f *FileConfig) { f.LastGeneration = 32768 }, "LASTGENERATION", 32768, ""},
			{"generation 40000", func(f *FileConfig) { f.LastGeneration = 40000 }, "LASTGENERATION", 40000, ""},
		})
}

func validTapeFile() *TapeFile {
	return &TapeFile{
		Filecat:      `\PRIM.FCPROD`,
		FileID:       "PAYROLL_BACKUP",
		Generation:   12,
		Version:      0,
		PhysicalCopy: 1,
		LogicalCopy:  1,
		Created:      t0,
		Expiration:   time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC),
		RecordFormat: "FI",
		RecordLength: 2048,
		BlockLength:  28,
		Mode:         "BKVO",
		CatalogFiles: true,
		Status:       FileValid,
		Volcat:       `\PRIM.VCPROD`,
		Pool:         "BBOX_BACKUP",
		VolsetID:     "X00030",
		Comment:      "weekly payroll",
	}
}

func TestTapeFileValidate(t *testing.T) {
	comment81 := strings.Repeat("c", 81)
	testRecord(t, "TAPEFILE", validTapeFile, (*TapeFile).Validate,
		[]variant[TapeFile]{
			{"permanent", func(f *TapeFile) { f.Expiration = time.Time{} }},
			{"expires the day it was created", func(f *TapeFile) { f.Expiration = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC) }},
			{"expires the day it was created, west of UTC", func(f *TapeFile) {
				f.Created = time.Date(2024, 3, 1, 23, 0, 0, 0, est)
				f.Expiration = time.Date(2024, 3, 1, 0, 0, 0, 0, est)
			}},
			{"expires the day it was created, date read as UTC", func(f *TapeFile) {
				f.Created = time.Date(2024, 3, 1, 23, 0, 0, 0, est)
				f.Expiration = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
			}},
			{"generation 1", func(f *TapeFile) { f.Generation = 1 }},
			{"generation 32767", func(f *TapeFile) { f.Generation = MaxGeneration }},
			{"version 100", func(f *TapeFile) { f.Version = MaxVersion }},
			{"logical copy 2", func(f *TapeFile) { f.LogicalCopy = 2 }},
			{"physical copy 32767", func(f *TapeFile) { f.PhysicalCopy = 32767 }},
			{"record format UN", func(f *TapeFile) { f.RecordFormat = "UN" }},
			{"record length 0", func(f *TapeFile) { f.RecordLength = 0 }},
			{"record length 56K", func(f *TapeFile) { f.RecordLength = 56 * 1024 }},
			{"block length 0", func(f *TapeFile) { f.BlockLength = 0 }},
			{"block length 52", func(f *TapeFile) { f.BlockLength = 52 }},
			{"mode USER", func(f *TapeFile) { f.Mode, f.CatalogFiles = "USER", false }},
			{"mode BIFI", func(f *TapeFile) { f.Mode = "BIFI" }},
			{"invalid", func(f *TapeFile) { f.Status = FileInvalid }},
			{"80-char comment", func(f *TapeFile) { f.Comment = comment81[:80] }},
			{"60-char file id", func(f *TapeFile) { f.FileID = id61[:60] }},
		},
		[]rule[TapeFile]{
			{"filecat empty", func(f *TapeFile) { f.Filecat = "" }, "FILECAT", "", ""},
			{"file id 61 chars", func(f *TapeFile) { f.FileID = id61 }, "FILEID", id61, ""},
			{"file id with space", func(f *TapeFile) { f.FileID = "WEEKLY BACKUP" }, "FILEID", "WEEKLY BACKUP", ""},
			{"generation 0", func(f *TapeFile) { f.Generation = 0 }, "GENERATION", 0, ""},
			{"generation 40000", func(f *TapeFile) { f.Generation = 40000 }, "GENERATION", 40000, ""},
			{"generation relative -1", func(f *TapeFile) { f.Generation = -1 }, "GENERATION", -1, ""},
			{"version 101", func(f *TapeFile) { f.Version = 101 }, "VERSION", 101, ""},
			{"version -1", func(f *TapeFile) { f.Version = -1 }, "VERSION", -1, ""},
			{"physical copy 0", func(f *TapeFile) { f.PhysicalCopy = 0 }, "PHYSICALCOPY", 0, ""},
			{"physical copy 32768", func(f *TapeFile) { f.PhysicalCopy = 32768 }, "PHYSICALCOPY", 32768, ""},
			{"logical copy 0", func(f *TapeFile) { f.LogicalCopy = 0 }, "LOGICALCOPY", 0, ""},
			{"logical copy 3", func(f *TapeFile) { f.LogicalCopy = 3 }, "LOGICALCOPY", 3, ""},
			{"no creation date", func(f *TapeFile) { f.Created = time.Time{} }, "CREATIONDATE", time.Time{}, ""},
			{"expires the day before creation", func(f *TapeFile) { f.Expiration = time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC) }, "EXPIRATIONDATE", "2024-02-29", ""},
			{"expires the day before creation, west of UTC", func(f *TapeFile) {
				f.Created = time.Date(2024, 3, 1, 1, 0, 0, 0, est)
				f.Expiration = time.Date(2024, 2, 29, 0, 0, 0, 0, est)
			}, "EXPIRATIONDATE", "2024-02-29", ""},
			{"expires the day before creation, east of UTC", func(f *TapeFile) {
				f.Created = time.Date(2024, 3, 1, 1, 0, 0, 0, cet)
				f.Expiration = time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
			}, "EXPIRATIONDATE", "2024-02-29", ""},
			{"record format VB", func(f *TapeFile) { f.RecordFormat = "VB" }, "RECORDFORMAT", "VB", ""},
			{"record format empty", func(f *TapeFile) { f.RecordFormat = "" }, "RECORDFORMAT", "", ""},
			{"record length -1", func(f *TapeFile) { f.RecordLength = -1 }, "RECORDLENGTH", -1, ""},
			{"record length 56K+1", func(f *TapeFile) { f.RecordLength = 56*1024 + 1 }, "RECORDLENGTH", 57345, ""},
			{"block length 53", func(f *TapeFile) { f.BlockLength = 53 }, "BLOCKLENGTH", 53, ""},
			{"block length -1", func(f *TapeFile) { f.BlockLength = -1 }, "BLOCKLENGTH", -1, ""},
			{"mode unknown", func(f *TapeFile) { f.Mode = "BACKUP" }, "TAPEFILEMODE", "BACKUP", ""},
			{"status expired", func(f *TapeFile) { f.Status = "EXPIRED" }, "TAPEFILESTATUS", "EXPIRED", ""},
			{"status disk-file code", func(f *TapeFile) { f.Status = DiskValid }, "TAPEFILESTATUS", "VA", ""},
			{"volcat empty", func(f *TapeFile) { f.Volcat = "" }, "VOLUMECATALOG", "", ""},
			{"pool starts with digit", func(f *TapeFile) { f.Pool = "1POOL" }, "POOLNAME", "1POOL", ""},
			{"volsetid 7 chars", func(f *TapeFile) { f.VolsetID = "X000300" }, "VOLSETID", "X000300", ""},
			{"volsetid empty", func(f *TapeFile) { f.VolsetID = "" }, "VOLSETID", "", ""},
			{"comment 81 chars", func(f *TapeFile) { f.Comment = comment81 }, "COMMENT", comment81, ""},
			{"comment with control char", func(f *TapeFile) { f.Comment = "bell\a" }, "COMMENT", "bell\a", ""},
		})
}

func TestTapeFileKey(t *testing.T) {
	f := validTapeFile()
	f.PhysicalCopy, f.LogicalCopy, f.Version = 1, 2, 3
	want := `\PRIM.FCPROD PAYROLL_BACKUP GEN 12 VERSION 3 COPY 1.2`
	if got := f.Key().String(); got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
}

func validTapeFileVolume() *TapeFileVolume {
	return &TapeFileVolume{Filecat: `\PRIM.FCPROD`, Volcat: `\PRIM.VCPROD`, Volser: "X00031", Pool: "BBOX_BACKUP",
		FileID: "PAYROLL_BACKUP", Generation: 12, Version: 0, PhysicalCopy: 1, LogicalCopy: 1,
		VolsetID: "X00030", VolIndex: 2, FileSection: 2, FileSequence: 1, LabelLBA: 0}
}

func TestTapeFileVolumeValidate(t *testing.T) {
	testRecord(t, "TFTOV", validTapeFileVolume, (*TapeFileVolume).Validate,
		[]variant[TapeFileVolume]{
			{"first volume", func(v *TapeFileVolume) { v.Volser, v.VolIndex, v.FileSection = "X00030", 1, 1 }},
			{"label lba -1", func(v *TapeFileVolume) { v.LabelLBA = -1 }},
			{"label lba large", func(v *TapeFileVolume) { v.LabelLBA = 1 << 40 }},
			{"maxima", func(v *TapeFileVolume) {
				v.Generation, v.Version, v.PhysicalCopy, v.LogicalCopy = MaxGeneration, MaxVersion, 32767, 2
				v.VolIndex, v.FileSection, v.FileSequence = 32767, 9999, 9999
			}},
		},
		[]rule[TapeFileVolume]{
			{"filecat empty", func(v *TapeFileVolume) { v.Filecat = "" }, "FILECAT", "", ""},
			{"volcat empty", func(v *TapeFileVolume) { v.Volcat = "" }, "VOLUMECATALOG", "", ""},
			{"volser 7 chars", func(v *TapeFileVolume) { v.Volser = "X000310" }, "VOLSER", "X000310", ""},
			{"pool with hyphen", func(v *TapeFileVolume) { v.Pool = "BBOX-BACKUP" }, "POOLNAME", "BBOX-BACKUP", ""},
			{"file id 61 chars", func(v *TapeFileVolume) { v.FileID = id61 }, "FILEID", id61, ""},
			{"generation 0", func(v *TapeFileVolume) { v.Generation = 0 }, "GENERATION", 0, ""},
			{"generation 40000", func(v *TapeFileVolume) { v.Generation = 40000 }, "GENERATION", 40000, ""},
			{"version 101", func(v *TapeFileVolume) { v.Version = 101 }, "VERSION", 101, ""},
			{"physical copy 0", func(v *TapeFileVolume) { v.PhysicalCopy = 0 }, "PHYSICALCOPY", 0, ""},
			{"logical copy 3", func(v *TapeFileVolume) { v.LogicalCopy = 3 }, "LOGICALCOPY", 3, ""},
			{"volsetid empty", func(v *TapeFileVolume) { v.VolsetID = "" }, "VOLSETID", "", ""},
			{"volindex 0", func(v *TapeFileVolume) { v.VolIndex = 0 }, "VOLINDEX", 0, ""},
			{"volindex 32768", func(v *TapeFileVolume) { v.VolIndex = 32768 }, "VOLINDEX", 32768, ""},
			{"file section 0", func(v *TapeFileVolume) { v.FileSection = 0 }, "FILESECTION", 0, ""},
			{"file section 10000", func(v *TapeFileVolume) { v.FileSection = 10000 }, "FILESECTION", 10000, ""},
			{"file sequence 0", func(v *TapeFileVolume) { v.FileSequence = 0 }, "FILESEQUENCE", 0, ""},
			{"file sequence 10000", func(v *TapeFileVolume) { v.FileSequence = 10000 }, "FILESEQUENCE", 10000, ""},
			{"label lba -2", func(v *TapeFileVolume) { v.LabelLBA = -2 }, "FILESEQLABELLBA", int64(-2), ""},
		})
}

// ---------------------------------------------------------------------------
// DSM/TC disk files: DiskFile, DiskFileVolume

func validDiskFile() *DiskFile {
	return &DiskFile{
		Filecat:      `\PRIM.FCPROD`,
		Name:         `\PRIM.$DATA.OPER.RECDS`,
		TimeDumped:   t0,
		PhysicalCopy: 1,
		LogicalCopy:  1,
		FileID:       "PAYROLL_BACKUP",
		Generation:   12,
		Version:      0,
		Status:       DiskValid,
		Audited:      true,
		FileCode:     101,
		FileType:     "EN",
		EOF:          1 << 33,
		LastModified: t0.Add(-time.Hour),
		VolsetID:     "X00030",
		Pool:         "BBOX_BACKUP",
		Volcat:       `\PRIM.VCPROD`,
	}
}

func TestDiskFileValidate(t *testing.T) {
	name36 := `\` + alnum(7) + `.$` + alnum(7) + `.` + alnum(8) + `.` + alnum(9)
	testRecord(t, "DISKFILE", validDiskFile, (*DiskFile).Validate,
		[]variant[DiskFile]{
			{"35-char name", func(d *DiskFile) { d.Name = name36[:35] }},
			{"remote node", func(d *DiskFile) { d.Name = `\NODEP.$PAY.PAYAP.ACCTS` }},
			{"invalid", func(d *DiskFile) { d.Status = DiskInvalid }},
			{"file code 0", func(d *DiskFile) { d.FileCode = 0 }},
			{"file code 65535", func(d *DiskFile) { d.FileCode = 65535 }},
			{"SQL table", func(d *DiskFile) { d.FileType = "TA" }},
			{"shorthand view", func(d *DiskFile) { d.FileType = "SV" }},
			{"empty file", func(d *DiskFile) { d.EOF = 0 }},
			{"logical copy 2", func(d *DiskFile) { d.LogicalCopy = 2 }},
			{"version 100", func(d *DiskFile) { d.Version = MaxVersion }},
		},
		[]rule[DiskFile]{
			{"filecat empty", func(d *DiskFile) { d.Filecat = "" }, "FILECAT", "", ""},
			{"name without node", func(d *DiskFile) { d.Name = "$DATA.OPER.RECDS" }, "DISKFILENAME", "$DATA.OPER.RECDS", ""},
			{"name without dollar", func(d *DiskFile) { d.Name = `\PRIM.DATA.OPER.RECDS` }, "DISKFILENAME", `\PRIM.DATA.OPER.RECDS`, ""},
			{"name 36 chars", func(d *DiskFile) { d.Name = name36 }, "DISKFILENAME", name36, ""},
			{"name wildcard", func(d *DiskFile) { d.Name = `\PRIM.$DATA.OPER.*` }, "DISKFILENAME", `\PRIM.$DATA.OPER.*`, ""},
			{"no time dumped", func(d *DiskFile) { d.TimeDumped = time.Time{} }, "TIMEDUMPED", time.Time{}, ""},
			{"physical copy 0", func(d *DiskFile) { d.PhysicalCopy = 0 }, "PHYSICALCOPY", 0, ""},
			{"logical copy 3", func(d *DiskFile) { d.LogicalCopy = 3 }, "LOGICALCOPY", 3, ""},
			{"file id 61 chars", func(d *DiskFile) { d.FileID = id61 }, "FILEID", id61, ""},
			{"generation 0", func(d *DiskFile) { d.Generation = 0 }, "GENERATION", 0, ""},
			{"generation 40000", func(d *DiskFile) { d.Generation = 40000 }, "GENERATION", 40000, ""},
			{"version 101", func(d *DiskFile) { d.Version = 101 }, "VERSION", 101, ""},
			{"status VALID is a tape-file code", func(d *DiskFile) { d.Status = FileValid }, "DISKFILESTATUS", "VALID", ""},
			{"file code -1", func(d *DiskFile) { d.FileCode = -1 }, "FILECODE", -1, ""},
			{"file code 65536", func(d *DiskFile) { d.FileCode = 65536 }, "FILECODE", 65536, ""},
			{"file type unknown", func(d *DiskFile) { d.FileType = "SQ" }, "FILETYPE", "SQ", ""},
			{"file type empty", func(d *DiskFile) { d.FileType = "" }, "FILETYPE", "", ""},
			{"eof negative", func(d *DiskFile) { d.EOF = -1 }, "DISKFILEEOF64", int64(-1), ""},
			{"volsetid 7 chars", func(d *DiskFile) { d.VolsetID = "X000300" }, "VOLSETID", "X000300", ""},
			{"pool empty", func(d *DiskFile) { d.Pool = "" }, "POOLNAME", "", ""},
			{"volcat empty", func(d *DiskFile) { d.Volcat = "" }, "VOLUMECATALOG", "", ""},
		})
}

func TestDiskFileEOF32(t *testing.T) {
	for _, tc := range []struct{ eof, want int64 }{
		{0, 0},
		{12345, 12345},
		{1<<32 - 1, 1<<32 - 1},
		{1 << 32, 1<<32 - 1},
		{1 << 40, 1<<32 - 1},
	} {
		d := DiskFile{EOF: tc.eof}
		if got := d.EOF32(); got != tc.want {
			t.Errorf("EOF32() with EOF %d = %d, want %d", tc.eof, got, tc.want)
		}
	}
}

func validDiskFileVolume() *DiskFileVolume {
	return &DiskFileVolume{Filecat: `\PRIM.FCPROD`, Name: `\PRIM.$DATA.OPER.RECDS`, TimeDumped: t0, Volser: "X00031",
		Volcat: `\PRIM.VCPROD`, Pool: "BBOX_BACKUP", VolsetID: "X00030", VolIndex: 2, PositionLBA: -1}
}

func TestDiskFileVolumeValidate(t *testing.T) {
	testRecord(t, "DFTOV", validDiskFileVolume, (*DiskFileVolume).Validate,
		[]variant[DiskFileVolume]{
			{"first volume", func(d *DiskFileVolume) { d.Volser, d.VolIndex = "X00030", 1 }},
			{"volindex 32767", func(d *DiskFileVolume) { d.VolIndex = 32767 }},
			{"position 0", func(d *DiskFileVolume) { d.PositionLBA = 0 }},
		},
		[]rule[DiskFileVolume]{
			{"filecat empty", func(d *DiskFileVolume) { d.Filecat = "" }, "FILECAT", "", ""},
			{"name without node", func(d *DiskFileVolume) { d.Name = "$DATA.OPER.RECDS" }, "DISKFILENAME", "$DATA.OPER.RECDS", ""},
			{"name empty", func(d *DiskFileVolume) { d.Name = "" }, "DISKFILENAME", "", ""},
			{"no time dumped", func(d *DiskFileVolume) { d.TimeDumped = time.Time{} }, "TIMEDUMPED", time.Time{}, ""},
			{"volser 7 chars", func(d *DiskFileVolume) { d.Volser = "X000310" }, "VOLSER", "X000310", ""},
			{"volcat empty", func(d *DiskFileVolume) { d.Volcat = "" }, "VOLUMECATALOG", "", ""},
			{"pool starts with digit", func(d *DiskFileVolume) { d.Pool = "1POOL" }, "POOLNAME", "1POOL", ""},
			{"volsetid empty", func(d *DiskFileVolume) { d.VolsetID = "" }, "VOLSETID", "", ""},
			{"volindex 0", func(d *DiskFileVolume) { d.VolIndex = 0 }, "VOLINDEX", 0, ""},
			{"volindex 32768", func(d *DiskFileVolume) { d.VolIndex = 32768 }, "VOLINDEX", 32768, ""},
			{"position -2", func(d *DiskFileVolume) { d.PositionLBA = -2 }, "FILEPOSITIONLBA", int64(-2), ""},
		})
}

// ---------------------------------------------------------------------------
// FieldError: keys, message, first violation wins

func TestFieldErrorKeyAndMessage(t *testing.T) {
	tv := validTapeVolume()
	tv.Status = "PENDING"
	v := validVolume()
	v.Auth = "GGX"
	tf := validTapeFile()
	tf.Version = 101
	p := validPool()
	p.SearchSpace = "XX"
	df := validDiskFile()
	df.FileType = "SQ"
	dv := validDiskFileVolume()
	dv.VolIndex = 0
	tv2 := validTapeFileVolume()
	tv2.FileSection = 0
	fc := validFileConfig()
	fc.LastGeneration = 0
	vf := validVolumeFilecat()
	vf.TapeFormat = 9
	s := validSite()
	s.DomainID = ""
	ds := validDataStore()
	ds.Status = ""
	g := validVolumeGroup()
	g.Pool = ""

	for _, tc := range []struct {
		err     error
		key     string
		message string // full Error() text, when checked
	}{
		{tv.Validate(), `\PRIM.VCPROD BBOX_BACKUP T00045`,
			`TAPEVOLUME \PRIM.VCPROD BBOX_BACKUP T00045: VOLUMESTATUS "PENDING": must be SCRATCH, SELECTED, INUSE, ASSIGNED, FULL, RELEASED or BAD`},
		{v.Validate(), "T00045/LABELED", ""},
		{tf.Validate(), `\PRIM.FCPROD PAYROLL_BACKUP GEN 12 VERSION 101 COPY 1.1`,
			`TAPEFILE \PRIM.FCPROD PAYROLL_BACKUP GEN 12 VERSION 101 COPY 1.1: VERSION "101": must be 0-100`},
		{p.Validate(), `\PRIM.VCPROD BBOX_BACKUP`, ""},
		{df.Validate(), `\PRIM.FCPROD \PRIM.$DATA.OPER.RECDS IN PAYROLL_BACKUP GEN 12`, ""},
		{dv.Validate(), `\PRIM.FCPROD \PRIM.$DATA.OPER.RECDS ON X00031`, ""},
		{tv2.Validate(), `\PRIM.FCPROD PAYROLL_BACKUP GEN 12 VERSION 0 ON X00031`, ""},
		{fc.Validate(), `\PRIM.FCPROD PAYROLL_BACKUP`, ""},
		{vf.Validate(), `\PRIM.VCPROD BBOX_BACKUP T00045`, ""},
		{s.Validate(), `\PRIM`, ""},
		{ds.Validate(), "DS_PROD", ""},
		{g.Validate(), "BBOX_BACKUP", ""},
	} {
		var fe *FieldError
		if !errors.As(tc.err, &fe) {
			t.Errorf("error %v is not a *FieldError", tc.err)
			continue
		}
		if fe.Key != tc.key {
			t.Errorf("%s: Key = %q, want %q", fe.Record, fe.Key, tc.key)
		}
		if !strings.Contains(fe.Error(), tc.key) {
			t.Errorf("Error() = %q does not mention key %q", fe.Error(), tc.key)
		}
		if tc.message != "" && fe.Error() != tc.message {
			t.Errorf("Error() =\n %s\nwant\n %s", fe.Error(), tc.message)
		}
	}
}

func TestFieldErrorFirstViolationWins(t *testing.T) {
	v := validTapeVolume()
	v.Volser = "T000456" // checked before VOLUMESTATUS and DENSITY
	v.Status = "PENDING"
	v.Density = "800"
	var fe *FieldError
	if err := v.Validate(); !errors.As(err, &fe) || fe.Field != "VOLSER" {
		t.Fatalf("Validate() = %v, want the VOLSER error first", err)
	}

	f := validTapeFile()
	f.Generation, f.Version = 0, 101
	if err := f.Validate(); !errors.As(err, &fe) || fe.Field != "GENERATION" {
		t.Fatalf("Validate() = %v, want the GENERATION error first", err)
	}
}

func TestValidateReturnsUntypedNil(t *testing.T) {
	// A nil *FieldError wrapped in an error interface would be non-nil.
	for name, err := range map[string]error{
		"site":   validSite().Validate(),
		"store":  validDataStore().Validate(),
		"group":  validVolumeGroup().Validate(),
		"volume": validVolume().Validate(),
		"pool":   validPool().Validate(),
		"tapevo": validTapeVolume().Validate(),
		"vtofc":  validVolumeFilecat().Validate(),
		"config": validFileConfig().Validate(),
		"tapefi": validTapeFile().Validate(),
		"tftov":  validTapeFileVolume().Validate(),
		"diskfi": validDiskFile().Validate(),
		"dftov":  validDiskFileVolume().Validate(),
	} {
		if err != nil {
			t.Errorf("%s: Validate() = %#v, want nil", name, err)
		}
	}
}

// ---------------------------------------------------------------------------
// Volume status transitions

func TestTransitionAllowed(t *testing.T) {
	for _, tc := range []struct {
		from, to VolumeStatus
		why      string
	}{
		{StatusScratch, StatusSelected, "DSM/TC selects a scratch tape"},
		{StatusSelected, StatusInUse, "selected tape mounted"},
		{StatusInUse, StatusAssigned, "application closes"},
		{StatusScratch, StatusInUse, "premounted scratch tape"},
		{StatusSelected, StatusScratch, "proposed tape not mounted"},
		{StatusInUse, StatusScratch, "failed write"},
		{StatusAssigned, StatusScratch, "expiry with AUTOSCRATCH"},
		{StatusAssigned, StatusReleased, "expiry without AUTOSCRATCH"},
		{StatusFull, StatusScratch, "full tape expires, AUTOSCRATCH"},
		{StatusFull, StatusReleased, "full tape expires"},
		{StatusReleased, StatusScratch, "operator ALTER"},
		{StatusBad, StatusScratch, "operator ALTER"},
		{StatusBad, StatusReleased, "operator ALTER"},
		{StatusScratch, StatusReleased, "operator ALTER"},
		{StatusAssigned, StatusInUse, "append"},
		{StatusAssigned, StatusFull, "pool APPEND change"},
		{StatusFull, StatusAssigned, "pool APPEND OFF then ON"},
		{StatusInUse, StatusFull, "appendable tape filled"},
		{StatusAssigned, StatusAssigned, "unchanged"},
		{StatusBad, StatusBad, "unchanged"},
	} {
		if err := Transition("T00045", tc.from, tc.to); err != nil {
			t.Errorf("%s -> %s (%s): %v", tc.from, tc.to, tc.why, err)
		}
	}
	// Any status may become BAD (parity errors).
	for _, from := range VolumeStatuses {
		if err := Transition("T00045", from, StatusBad); err != nil {
			t.Errorf("%s -> BAD: %v", from, err)
		}
	}
}

func TestTransitionRefused(t *testing.T) {
	for _, tc := range []struct {
		from, to VolumeStatus
		why      string
	}{
		{StatusScratch, StatusAssigned, "a scratch tape must be written first"},
		{StatusScratch, StatusFull, "a scratch tape must be written first"},
		{StatusSelected, StatusAssigned, "a selected tape must be mounted first"},
		{StatusBad, StatusAssigned, "BAD only leaves to SCRATCH or RELEASED"},
		{StatusBad, StatusInUse, "BAD only leaves to SCRATCH or RELEASED"},
		{StatusBad, StatusSelected, "BAD only leaves to SCRATCH or RELEASED"},
		{StatusReleased, StatusAssigned, "RELEASED must be scratched first"},
		{StatusReleased, StatusInUse, "RELEASED must be scratched first"},
		{StatusReleased, StatusSelected, "RELEASED must be scratched first"},
		{StatusReleased, StatusFull, "RELEASED must be scratched first"},
		{StatusAssigned, StatusSelected, "input tapes are never SELECTED"},
		{StatusFull, StatusSelected, "input tapes are never SELECTED"},
		{StatusFull, StatusInUse, "a full tape is not appended to"},
		{StatusInUse, StatusSelected, "no way back to SELECTED"},
		{StatusInUse, StatusReleased, "an INUSE tape does not expire"},
		{StatusSelected, StatusReleased, "a SELECTED tape does not expire"},
		{StatusScratch, "PENDING", "unknown target status"},
		{"PENDING", StatusScratch, "unknown source status"},
	} {
		err := Transition("T00045", tc.from, tc.to)
		if err == nil {
			t.Errorf("%s -> %s accepted (%s)", tc.from, tc.to, tc.why)
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s -> %s: error %T is not a *FieldError", tc.from, tc.to, err)
			continue
		}
		if fe.Record != "TAPEVOLUME" || fe.Key != "T00045" || fe.Field != "VOLUMESTATUS" || fe.Value != tc.to {
			t.Errorf("%s -> %s: got %+v", tc.from, tc.to, *fe)
		}
		msg := err.Error()
		for _, want := range []string{"VOLUMESTATUS", "T00045", string(tc.from), string(tc.to)} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s -> %s: Error() = %q does not mention %q", tc.from, tc.to, msg, want)
			}
		}
	}
}

// TestTransitionMatrix pins the whole state machine of DSM/TC User's Guide
// §3.7 (domain.md): every pair of statuses is either listed here or refused.
func TestTransitionMatrix(t *testing.T) {
	allowed := map[VolumeStatus][]VolumeStatus{
		StatusScratch:  {StatusSelected, StatusInUse, StatusReleased},
		StatusSelected: {StatusInUse, StatusScratch},
		StatusInUse:    {StatusAssigned, StatusFull, StatusScratch},
		StatusAssigned: {StatusInUse, StatusFull, StatusScratch, StatusReleased},
		StatusFull:     {StatusAssigned, StatusScratch, StatusReleased},
		StatusReleased: {StatusScratch},
		StatusBad:      {StatusScratch, StatusReleased},
	}
	if len(VolumeStatuses) != 7 {
		t.Fatalf("VolumeStatuses has %d entries, want 7", len(VolumeStatuses))
	}
	for _, from := range VolumeStatuses {
		for _, to := range VolumeStatuses {
			want := from == to || to == StatusBad || oneOf(to, allowed[from]...)
			err := Transition("X00030", from, to)
			if (err == nil) != want {
				t.Errorf("Transition(%s -> %s) = %v, want allowed=%v", from, to, err, want)
			}
		}
	}
}
