package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/volimage"
)

// DiskFileDigest stands for the digest of a disk file's content in the
// directories the simulator writes: SHA-256 of its name and size, as the
// images hold no content (EOFs reach gigabytes; hashing volimage.Synthetic
// content of that size would cost seconds a file). Any site can recompute it.
func DiskFileDigest(name string, size int64) string {
	sum := sha256.Sum256([]byte(name + "\x00" + strconv.FormatInt(size, 10)))
	return hex.EncodeToString(sum[:])
}

// prepareImages makes the image folders of the stores the site writes,
// and refuses, before a day is simulated, a site whose encrypted images
// could not be written for want of their keys.
func (e *engine) prepareImages() error {
	if e.p.DataRoot == "" {
		return nil
	}
	for _, g := range e.groups {
		if g.Encrypted && e.keys == nil {
			return fmt.Errorf("volume group %s encrypts: writing its images needs a key manager", g.Name)
		}
		if err := os.MkdirAll(volimage.StoreDir(e.p.DataRoot, g.store.ID), 0o755); err != nil {
			return fmt.Errorf("data store %s: %w", g.store.ID, err)
		}
	}
	return nil
}

// imageOp is a change of one volume's image that a day's backups made:
// written at unload, or deleted with the volume.
type imageOp struct {
	v      catalog.Volume // the BackPak entry, as the write left it
	key    keys.Info      // the key filed for the write
	files  []volimage.TapeFile
	remove bool
}

// queueImage records an image change, applied once the day commits: images
// never get ahead of the catalog, and a failed day leaves none.
func (e *engine) queueImage(op imageOp) {
	if e.p.DataRoot != "" {
		e.images = append(e.images, op)
	}
}

// flushImages applies the day's image changes, in the order made.
func (e *engine) flushImages(ctx context.Context) error {
	ops := e.images
	e.images = nil
	for _, op := range ops {
		dir := volimage.StoreDir(e.p.DataRoot, op.v.StoreID)
		if op.remove {
			if err := removeImage(dir, op.v.Label); err != nil {
				return fmt.Errorf("volume %s: delete its image: %w", op.v.Label, err)
			}
			continue
		}
		if err := e.writeImage(ctx, dir, op); err != nil {
			return fmt.Errorf("volume %s: write its image: %w", op.v.Label, err)
		}
	}
	return nil
}

// writeImage writes the image of one write of a volume, as the VTC does at
// unload: the BackPak entry's label and volume timestamp in the index, the
// tape files, encrypted with the key filed for the write.
func (e *engine) writeImage(ctx context.Context, dir string, op imageOp) error {
	v := op.v
	h := volimage.Header{Label: v.Label, LabelType: v.LabelType, Timestamp: v.Timestamp,
		MediaKeyName: v.MediaKeyName, Compression: v.Compression}
	var material []byte
	if v.MediaKeyName != "" {
		var err error
		if material, err = e.keys.Material(ctx, op.key.ID); err != nil {
			return fmt.Errorf("key %s: %w", v.MediaKeyName, err)
		}
		defer clear(material)
	}
	return volimage.Write(dir, h, material, op.files)
}

// removeImage deletes a volume's image files, present or not.
func removeImage(dir, label string) error {
	for _, name := range []string{volimage.IndexName(label), volimage.DataName(label)} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
