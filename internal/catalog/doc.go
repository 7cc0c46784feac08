// Package catalog models the catalogs of one NonStop site as catsync replicates
// them: the site itself (node, BackPak domain, MEDIADEFS, system search list),
// BackPak data stores, volume groups and volume entries, and the DSM/TC tables
// POOL, TAPEVOLUME, VTOFC, CONFIG, TAPEFILE, TFTOV, DISKFILE and DFTOV.
//
// Every record type has a Validate method that enforces the value sets and
// ranges of the DSM/TC and BackPak manuals. A violation is a *FieldError that
// names the record, its key, the field and the offending value, so that an
// operator can find the bad entry without reading code.
package catalog
