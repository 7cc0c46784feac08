package sqlstore

// migration is one versioned schema step. Steps are applied in order, each in
// its own transaction, and recorded in schema_migrations; a database that has
// a step recorded never runs it again.
type migration struct {
	version int
	name    string
	stmts   []string
}

// The schema uses only types both SQLite and PostgreSQL accept with the same
// meaning (TEXT, INTEGER, BIGINT), so one set of migrations serves both.
// Times are UTC microseconds since the epoch (0 for none); flags are 0/1.
// Value sets and lengths are enforced by catalog validation before writing.
var migrations = []migration{
	{1, "catalog tables", []string{
		`CREATE TABLE site (
			id INTEGER PRIMARY KEY, node TEXT NOT NULL, domain_id TEXT NOT NULL, backpak_id TEXT NOT NULL,
			default_volcat TEXT NOT NULL, default_filecat TEXT NOT NULL, retention INTEGER NOT NULL,
			abend_retention INTEGER NOT NULL, searchlist_system TEXT NOT NULL, search_list TEXT NOT NULL)`,
		`CREATE TABLE datastore (
			store_id TEXT PRIMARY KEY, access TEXT NOT NULL, status TEXT NOT NULL,
			check_timestamp INTEGER NOT NULL, location TEXT NOT NULL)`,
		`CREATE TABLE volumegroup (
			name TEXT PRIMARY KEY, original_name TEXT NOT NULL, volcat TEXT NOT NULL, poolname TEXT NOT NULL,
			filecat TEXT NOT NULL, encrypted INTEGER NOT NULL)`,
		`CREATE TABLE volume (
			label TEXT NOT NULL, label_type TEXT NOT NULL, store_id TEXT NOT NULL, group_name TEXT NOT NULL,
			access TEXT NOT NULL, volume_timestamp BIGINT NOT NULL, prev_unload BIGINT NOT NULL,
			last_update BIGINT NOT NULL, check_timestamp INTEGER NOT NULL, locked INTEGER NOT NULL,
			owner_node TEXT NOT NULL, owner_user TEXT NOT NULL, auth TEXT NOT NULL, comment TEXT NOT NULL,
			max_size BIGINT NOT NULL, index_path TEXT NOT NULL, data_path TEXT NOT NULL, data_size BIGINT NOT NULL,
			storage_size BIGINT NOT NULL, compression TEXT NOT NULL, media_key_name TEXT NOT NULL,
			PRIMARY KEY (label, label_type))`,
		`CREATE INDEX volume_store ON volume (store_id, label, label_type)`,
		`CREATE TABLE pool (
			volcat TEXT NOT NULL, poolname TEXT NOT NULL, label TEXT NOT NULL, density TEXT NOT NULL,
			type TEXT NOT NULL, autoscratch INTEGER NOT NULL, searchspace TEXT NOT NULL,
			lastscratchvol TEXT NOT NULL, canappend INTEGER NOT NULL, PRIMARY KEY (volcat, poolname))`,
		`CREATE TABLE tapevolume (
			volcat TEXT NOT NULL, poolname TEXT NOT NULL, volser TEXT NOT NULL, label TEXT NOT NULL,
			type TEXT NOT NULL, volumestatus TEXT NOT NULL, volsetid TEXT NOT NULL, volindex INTEGER NOT NULL,
			ownerid TEXT NOT NULL, density TEXT NOT NULL, endofdatalba BIGINT NOT NULL,
			PRIMARY KEY (volcat, poolname, volser))`,
		`CREATE INDEX tapevolume_volser ON tapevolume (volser)`,
		`CREATE INDEX tapevolume_volset ON tapevolume (volcat, volsetid)`,
		`CREATE INDEX tapevolume_status ON tapevolume (volcat, poolname, volumestatus, volser)`,
		`CREATE TABLE vtofc (
			volcat TEXT NOT NULL, volsetid TEXT NOT NULL, poolname TEXT NOT NULL, filecatalog TEXT NOT NULL,
			tapeformat INTEGER NOT NULL, PRIMARY KEY (volcat, volsetid, poolname))`,
		`CREATE TABLE config (
			filecat TEXT NOT NULL, fileid TEXT NOT NULL, lastgeneration INTEGER NOT NULL,
			PRIMARY KEY (filecat, fileid))`,
		`CREATE TABLE tapefile (
			filecat TEXT NOT NULL, fileid TEXT NOT NULL, generation INTEGER NOT NULL, version INTEGER NOT NULL,
			physicalcopy INTEGER NOT NULL, logicalcopy INTEGER NOT NULL, creationdate BIGINT NOT NULL,
			expirationdate BIGINT NOT NULL, recordformat TEXT NOT NULL, recordlength INTEGER NOT NULL,
			blocklength INTEGER NOT NULL, tapefilemode TEXT NOT NULL, catalogfiles INTEGER NOT NULL,
			tapefilestatus TEXT NOT NULL, volumecatalog TEXT NOT NULL, poolname TEXT NOT NULL,
			volsetid TEXT NOT NULL, comment TEXT NOT NULL,
			PRIMARY KEY (filecat, fileid, generation, version, physicalcopy, logicalcopy))`,
		`CREATE INDEX tapefile_volset ON tapefile (volumecatalog, volsetid)`,
		`CREATE INDEX tapefile_expiration ON tapefile (filecat, expirationdate)`,
		`CREATE TABLE tftov (
			filecat TEXT NOT NULL, volumecatalog TEXT NOT NULL, volser TEXT NOT NULL, poolname TEXT NOT NULL,
			fileid TEXT NOT NULL, generation INTEGER NOT NULL, version INTEGER NOT NULL,
			physicalcopy INTEGER NOT NULL, logicalcopy INTEGER NOT NULL, volsetid TEXT NOT NULL,
			volindex INTEGER NOT NULL, filesection INTEGER NOT NULL, filesequence INTEGER NOT NULL,
			fileseqlabellba BIGINT NOT NULL,
			PRIMARY KEY (filecat, volumecatalog, volser, poolname, fileid, generation, version))`,
		`CREATE INDEX tftov_file ON tftov (filecat, fileid, generation, version)`,
		`CREATE INDEX tftov_volset ON tftov (volumecatalog, volsetid)`,
		`CREATE TABLE diskfile (
			filecat TEXT NOT NULL, diskfilename TEXT NOT NULL, fileid TEXT NOT NULL, generation INTEGER NOT NULL,
			volsetid TEXT NOT NULL, version INTEGER NOT NULL, timedumped BIGINT NOT NULL,
			physicalcopy INTEGER NOT NULL, logicalcopy INTEGER NOT NULL, diskfilestatus TEXT NOT NULL,
			opened INTEGER NOT NULL, broken INTEGER NOT NULL, rfneeded INTEGER NOT NULL, corrupt INTEGER NOT NULL,
			audited INTEGER NOT NULL, filecode INTEGER NOT NULL, filetype TEXT NOT NULL,
			diskfileeof BIGINT NOT NULL, diskfileeof64 BIGINT NOT NULL, lastmodtime BIGINT NOT NULL,
			poolname TEXT NOT NULL, volumecatalog TEXT NOT NULL,
			PRIMARY KEY (filecat, diskfilename, fileid, generation, volsetid))`,
		`CREATE INDEX diskfile_file ON diskfile (filecat, fileid, generation, version)`,
		`CREATE TABLE dftov (
			filecat TEXT NOT NULL, diskfilename TEXT NOT NULL, timedumped BIGINT NOT NULL,
			volumecatalog TEXT NOT NULL, volser TEXT NOT NULL, poolname TEXT NOT NULL, volsetid TEXT NOT NULL,
			volindex INTEGER NOT NULL, filepositionlba BIGINT NOT NULL,
			PRIMARY KEY (filecat, diskfilename, timedumped, volumecatalog, volser, poolname))`,
		`CREATE INDEX dftov_volset ON dftov (volumecatalog, volsetid)`,
	}},
	{2, "change tracking", []string{
		`CREATE TABLE change_seq (store_id TEXT PRIMARY KEY, seq BIGINT NOT NULL)`,
		`CREATE TABLE volume_change (
			store_id TEXT NOT NULL, label TEXT NOT NULL, label_type TEXT NOT NULL, seq BIGINT NOT NULL,
			deleted INTEGER NOT NULL, PRIMARY KEY (store_id, label, label_type))`,
		`CREATE UNIQUE INDEX volume_change_seq ON volume_change (store_id, seq)`,
	}},
	{3, "site metadata", []string{
		`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	}},
	{4, "audit trail", []string{
		`CREATE TABLE audit (
			seq BIGINT PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, entry TEXT NOT NULL,
			prev TEXT NOT NULL, hash TEXT NOT NULL)`,
	}},
	{5, "key-manager entries", []string{
		`ALTER TABLE site ADD COLUMN key_managers TEXT NOT NULL DEFAULT ''`,
	}},
	{6, "import undo journal", []string{
		`CREATE TABLE import_undo (
			store_id TEXT NOT NULL, seq BIGINT NOT NULL, run_id TEXT NOT NULL, entry TEXT NOT NULL,
			PRIMARY KEY (store_id, seq))`,
	}},
	{7, "restore verification dates", []string{
		`CREATE TABLE restore_verified (
			store_id TEXT NOT NULL, label TEXT NOT NULL, label_type TEXT NOT NULL, verified BIGINT NOT NULL,
			PRIMARY KEY (store_id, label, label_type))`,
	}},
	// Records that are not a run's own (an approval within a run, an
	// operator's act outside any) are keyed by audit.Key; a run's own
	// record keeps its run id as key, so the rows written before keep
	// theirs. The anchor starts at the trail's head as it stands.
	{8, "audit record keys and anchor", []string{
		`ALTER TABLE audit RENAME COLUMN run_id TO key`,
		`INSERT INTO meta (key, value) SELECT 'audit.head', CAST(seq AS TEXT) || ' ' || hash FROM audit
			WHERE seq = (SELECT MAX(seq) FROM audit)`,
	}},
}
