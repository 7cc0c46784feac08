package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/volimage"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// backup runs one job: every FILEID of the job gets its next generation,
// written as a multi-file set on freshly mounted scratch volumes, once per
// parallel copy. A failed first attempt is rerun with VERSION NEW on other
// volumes, which leaves the first version INVALID.
func (e *engine) backup(ctx context.Context, tx store.Tx, rng *rand.Rand, j *job, start time.Time) error {
	gens := make([]int, len(j.fileIDs))
	for i, id := range j.fileIDs {
		gen, err := e.nextGeneration(ctx, tx, j.group.Filecat, id)
		if err != nil {
			return err
		}
		gens[i] = gen
	}
	versions := 1
	if rng.IntN(100) < e.p.RerunPercent {
		versions = 2
	}
	at := start
	for version := 0; version < versions; version++ {
		for cp := 1; cp <= j.copies; cp++ {
			set, err := e.mount(ctx, tx, rng, j, at)
			if err != nil {
				return err
			}
			files, err := e.write(ctx, tx, rng, j, set, gens, version, cp, at)
			if err != nil {
				return err
			}
			if version+1 < versions { // this attempt failed: the rerun supersedes it
				for i := range files {
					if err := e.invalidate(ctx, tx, &files[i]); err != nil {
						return err
					}
				}
			}
		}
		at = at.Add(time.Hour)
	}
	return nil
}

// nextGeneration assigns the next absolute generation of a FILEID (CONFIG).
func (e *engine) nextGeneration(ctx context.Context, tx store.Tx, filecat, fileID string) (int, error) {
	cfg := catalog.FileConfig{Filecat: filecat, FileID: fileID}
	err := tx.ScanFileConfigs(ctx, store.Filter{Filecat: filecat, FileID: fileID}, func(c *catalog.FileConfig) error {
		cfg = *c
		return nil
	})
	if err != nil {
		return 0, err
	}
	if cfg.LastGeneration == catalog.MaxGeneration {
		return 0, fmt.Errorf("FILEID %s in %s has used every generation up to %d", fileID, filecat, catalog.MaxGeneration)
	}
	cfg.LastGeneration++
	return cfg.LastGeneration, tx.PutFileConfig(ctx, &cfg)
}

// mount selects the volumes of a new volume set as DSM/TC does: the next
// SCRATCH volumes of the pool after LASTSCRATCHVOL, round robin, each
// SELECTED then INUSE. A tape found defective at mount is set BAD and
// another one is selected. An empty pool gets new volumes, as an operator
// would add them.
func (e *engine) mount(ctx context.Context, tx store.Tx, rng *rand.Rand, j *job, at time.Time) ([]*vol, error) {
	g := j.group
	var set []*vol
	for len(set) < j.volumes {
		if len(g.scratch) == 0 {
			if _, err := e.createVolume(ctx, tx, g, at); err != nil {
				return nil, err
			}
		}
		next := g.scratch[0]
		for _, l := range g.scratch {
			if l > g.pool.LastScratchVol {
				next = l
				break
			}
		}
		v := e.vols[next]
		g.pool.LastScratchVol = next
		if err := LoadForOutput(ctx, tx, next); err != nil {
			return nil, err
		}
		if err := e.setStatus(ctx, tx, v, catalog.StatusSelected, "", 0); err != nil {
			return nil, err
		}
		if rng.IntN(100) < e.p.BadPercent {
			if err := e.setStatus(ctx, tx, v, catalog.StatusBad, "", 0); err != nil {
				return nil, err
			}
			continue
		}
		set = append(set, v)
	}
	for i, v := range set {
		if err := e.setStatus(ctx, tx, v, catalog.StatusInUse, set[0].label, i+1); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// write records one copy of one version of a backup run on a mounted set and
// leaves the volumes ASSIGNED. It returns the tape files it wrote.
func (e *engine) write(ctx context.Context, tx store.Tx, rng *rand.Rand, j *job, set []*vol, gens []int,
	version, copyNo int, start time.Time) ([]catalog.TapeFile, error) {
	g := j.group
	volsetID := set[0].label
	var expires time.Time
	if j.retention != catalog.RetentionPermanent {
		expires = start.Truncate(day).Add(time.Duration(j.retention) * day)
	}
	if err := tx.PutVolumeFilecat(ctx, &catalog.VolumeFilecat{Volcat: g.Volcat, VolsetID: volsetID, Pool: g.Pool,
		Filecat: g.Filecat, TapeFormat: catalog.FormatArchive}); err != nil {
		return nil, err
	}
	nf, nv := len(j.fileIDs), len(set)
	files := make([]catalog.TapeFile, 0, nf)
	// Per volume of the set, its tape files in sequence: the layout that
	// places each HDR1 (FILESEQLABELLBA), and the image when one is written.
	images := make([][]volimage.TapeFile, nv)
	for f, id := range j.fileIDs {
		tf := catalog.TapeFile{Filecat: g.Filecat, FileID: id, Generation: gens[f], Version: version, PhysicalCopy: 1,
			LogicalCopy: copyNo, Created: start, Expiration: expires, RecordFormat: "UN", BlockLength: 28, Mode: "BKVO",
			CatalogFiles: e.p.DiskFilesPerFile > 0, Status: catalog.FileValid, Volcat: g.Volcat, Pool: g.Pool,
			VolsetID: volsetID, Comment: "BACKUP " + j.name}
		if version > 0 {
			tf.Comment += " VERSION NEW"
		}
		if err := tx.PutTapeFile(ctx, &tf); err != nil {
			return nil, err
		}
		files = append(files, tf)
		// A single file spans every volume of the set (one section each);
		// several files share the set in sequence, each on one volume.
		first, last := f*nv/nf, f*nv/nf
		if nf == 1 {
			last = nv - 1
		}
		for i := first; i <= last; i++ {
			if err := tx.PutTapeFileVolume(ctx, &catalog.TapeFileVolume{Filecat: g.Filecat, Volcat: g.Volcat,
				Volser: set[i].label, Pool: g.Pool, FileID: id, Generation: gens[f], Version: version, PhysicalCopy: 1,
				LogicalCopy: copyNo, VolsetID: volsetID, VolIndex: i + 1, FileSection: i - first + 1, FileSequence: f + 1,
				LabelLBA: volimage.NextLabelLBA(images[i], false)}); err != nil {
				return nil, err
			}
			images[i] = append(images[i], volimage.TapeFile{FileID: id, FileSetID: volsetID,
				Section: i - first + 1, Sequence: f + 1, Generation: gens[f], Version: version,
				Created: start, Expires: expires})
		}
		for d := 0; d < e.p.DiskFilesPerFile; d++ {
			onVol := first + d*(last-first+1)/e.p.DiskFilesPerFile
			df := catalog.DiskFile{Filecat: g.Filecat, Name: e.diskFileName(j, f*e.p.DiskFilesPerFile+d), TimeDumped: start,
				PhysicalCopy: 1, LogicalCopy: copyNo, FileID: id, Generation: gens[f], Version: version,
				Status: catalog.DiskValid, Audited: d%3 == 0, FileCode: []int{0, 101, 700}[d%3],
				FileType: []string{"EN", "TA", "IN"}[d%3], EOF: rng.Int64N(8 << 30), LastModified: start.Add(-time.Duration(1+rng.IntN(72)) * time.Hour),
				VolsetID: volsetID, Pool: g.Pool, Volcat: g.Volcat}
			if err := tx.PutDiskFile(ctx, &df); err != nil {
				return nil, err
			}
			// BACKUP writes a tape file's directory in its first section,
			// whatever CATALOGFILES says: the data is on tape regardless.
			entry := volimage.DiskEntry{Name: df.Name, Size: df.EOF}
			if e.p.DataRoot != "" {
				entry.Digest = DiskFileDigest(df.Name, df.EOF) // the layout alone needs no digest
			}
			head := &images[first][len(images[first])-1]
			head.Disk = append(head.Disk, entry)
			if err := tx.PutDiskFileVolume(ctx, &catalog.DiskFileVolume{Filecat: g.Filecat, Name: df.Name, TimeDumped: start,
				Volser: set[onVol].label, Volcat: g.Volcat, Pool: g.Pool, VolsetID: volsetID, VolIndex: onVol + 1,
				PositionLBA: -1}); err != nil {
				return nil, err
			}
		}
	}
	// Unload: the volumes become ASSIGNED and their BackPak entries record
	// the write (volume timestamp, owner, sizes, image paths, media key).
	for i, v := range set {
		if err := e.setStatus(ctx, tx, v, catalog.StatusAssigned, volsetID, i+1); err != nil {
			return nil, err
		}
		entry, err := tx.Volume(ctx, catalog.VolumeKey{Label: v.label, LabelType: catalog.Labeled})
		if err != nil {
			return nil, err
		}
		loaded := start.Add(time.Duration(i) * 7 * time.Minute)
		entry.Timestamp = loaded
		entry.PrevUnload = loaded.Add(time.Duration(3+rng.IntN(4)) * time.Minute)
		entry.LastUpdate = entry.PrevUnload
		entry.OwnerUser = j.user
		entry.DataSize = 1<<28 + rng.Int64N(3<<30)
		entry.StorageSize = entry.DataSize * int64(35+rng.IntN(30)) / 100
		entry.IndexPath = g.store.Location + `\LB` + v.label + ".IND"
		entry.DataPath = g.store.Location + `\LB` + v.label + ".DAT"
		entry.MediaKeyName = ""
		var key keys.Info
		if g.Encrypted {
			entry.MediaKeyName = e.mediaKeyName(v.label, loaded, rng)
			if key, err = e.fileKey(ctx, v.label, entry.MediaKeyName); err != nil {
				return nil, err
			}
		}
		if err := tx.PutVolume(ctx, &entry); err != nil {
			return nil, err
		}
		e.queueImage(imageOp{v: entry, key: key, files: images[i]})
	}
	return files, nil
}

// diskFileName names the n-th disk file a job backs up, on the site's node:
// \PRIM.$PAY.PAYROLL.F0001.
func (e *engine) diskFileName(j *job, n int) string {
	return fmt.Sprintf("%s.%s.%s.F%07d", e.site.Node, j.diskVol, userOf(j.name), n)
}
