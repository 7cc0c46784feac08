// Package snapshot is the exchange format between a primary and a
// secondary site: a snapshot of one data store's catalogs, streamed as
// segments of volume sets with a SHA-256 each, described by a manifest
// (schema version, producer, watermark range, counts). Only the manifest's
// location and digest travel through Temporal; the rows stay in files.
//
// The format is specified in docs/snapshot-format.md. Writer writes a
// snapshot (writer.go), its sets in a binary encoding (binary.go; schema
// version 1, sets as lines of JSON, is still read); Area holds snapshots in an outbox or a staging area
// and copies them between the two (staging.go); Area.Open opens a staged
// snapshot, checking its manifest digest, data store and segments, for the
// readers of reader.go and keys.go. Snapshots come from another site and
// are untrusted input: a missing, damaged or malformed file is a
// *CorruptError naming the file (by its path, when the folder is known)
// and, when known, the byte offset, and an error while handling one volume
// set is a *SetError saying where the set is (errors.go). A file that
// cannot be read for its permissions or an I/O fault is neither: a retry
// may read it. An area whose folder cannot serve (a source that is not the
// primary's outbox, a staging area that cannot be written) is a
// *catalog.ConfigError naming the variable that configures it (Area.Env).
package snapshot
