package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/volimage"
)

// DataReplication shapes a simulated replication of volume images (what
// NAS or LUN mirroring of the data stores does), with the faults a restore
// test must catch. A key missing at the secondary is KeyReplication.Omit.
type DataReplication struct {
	Store     string      // only this data store's images ("" for every PRIMARY store)
	Missing   []string    // labels whose images are not copied
	Stale     []string    // labels whose copies carry a volume timestamp a day older
	Corrupt   []string    // labels whose copies have a byte of a data block flipped
	Truncated []string    // labels whose copies have their data file cut short
	Misfiled  []LabelPair // images copied under another volume's label
	// Keys is the primary's key manager: a stale copy of an encrypted
	// image is written again, which needs its key.
	Keys keys.Manager
}

// LabelPair names two volumes: the image of From filed as To's.
type LabelPair struct{ From, To string }

// ParseLabelPairs parses a comma list of FROM=TO label pairs.
func ParseLabelPairs(s string) ([]LabelPair, error) {
	var out []LabelPair
	for _, part := range ParseLabels(s) {
		from, to, ok := strings.Cut(part, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" {
			return nil, fmt.Errorf("label pairs %q: %q is not FROM=TO", s, part)
		}
		out = append(out, LabelPair{from, to})
	}
	return out, nil
}

// DataReplicationResult counts what a replication did. Copied counts every
// image written at the secondary, faulty ones too.
type DataReplicationResult struct {
	Copied, Missing, Stale, Corrupt, Truncated, Misfiled int
	Unwritten                                            int      // volumes never written: no image to copy
	MissingAtPrimary                                     []string // written volumes without an image: a finding for the operator
}

func (r DataReplicationResult) String() string {
	return fmt.Sprintf("%d images copied, %d left out, %d stale, %d corrupt, %d truncated, %d misfiled, %d volumes never written, %d missing at the primary",
		r.Copied, r.Missing, r.Stale, r.Corrupt, r.Truncated, r.Misfiled, r.Unwritten, len(r.MissingAtPrimary))
}

// fault is what a replication does to one label's copy.
type fault int

const (
	copyAsIs fault = iota
	faultMissing
	faultStale
	faultCorrupt
	faultTruncated
	faultMisfiled
)

// image is a primary volume whose image is replicated.
type image struct {
	catalog.Volume
	dir string // its store's folder under the primary's data root
}

// ReplicateData copies the images of the primary's volumes from the
// primary's data root to the secondary's, store folder for store folder,
// as mirroring would, applying opts' faults. Every label a fault names
// must be a volume of the replicated stores with an image at the primary;
// opts are checked before anything is written.
func ReplicateData(ctx context.Context, primary store.Reader, fromRoot, toRoot string, opts DataReplication) (DataReplicationResult, error) {
	var res DataReplicationResult
	stores, err := replicatedStores(ctx, primary, opts.Store)
	if err != nil {
		return res, err
	}
	// A copy onto the image itself would truncate it before reading it.
	for _, id := range stores {
		from, to := volimage.StoreDir(fromRoot, id), volimage.StoreDir(toRoot, id)
		if sameFolder(from, to) {
			return res, fmt.Errorf("data store %s: the secondary's folder %s is the primary's %s: copying the images onto themselves would destroy them",
				id, to, from)
		}
	}
	images := map[string]image{}
	var order []string
	for _, id := range stores {
		err := primary.ScanVolumes(ctx, store.Filter{StoreID: id}, func(v *catalog.Volume) error {
			if v.LabelType != catalog.Labeled {
				return nil // the simulator writes labeled volumes only
			}
			im := image{Volume: *v, dir: volimage.StoreDir(fromRoot, id)}
			switch _, err := os.Stat(filepath.Join(im.dir, volimage.IndexName(v.Label))); {
			case err == nil:
				images[v.Label] = im
				order = append(order, v.Label)
			case !errors.Is(err, fs.ErrNotExist):
				return err
			case v.Timestamp.IsZero():
				res.Unwritten++
			default:
				res.MissingAtPrimary = append(res.MissingAtPrimary, v.Label)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	faults, misfiled, err := planFaults(images, opts, cmp.Or(opts.Store, "the primary's PRIMARY data stores"))
	if err != nil {
		return res, err
	}
	// A stale copy is written again, under the key its write filed in the
	// primary's key manager under the primary's BackPak id.
	var site catalog.Site
	if len(opts.Stale) > 0 {
		if site, err = primary.Site(ctx); err != nil {
			return res, err
		}
	}
	for _, l := range opts.Stale {
		if images[l].MediaKeyName != "" && opts.Keys == nil {
			return res, fmt.Errorf("stale copy of %s: its image is encrypted, rewriting it needs the primary's key manager", l)
		}
	}
	for _, id := range stores {
		if err := os.MkdirAll(volimage.StoreDir(toRoot, id), 0o755); err != nil {
			return res, fmt.Errorf("data store %s: %w", id, err)
		}
	}
	for _, l := range order {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		im := images[l]
		src := im
		if from, ok := misfiled[l]; ok {
			src = images[from]
		}
		if err := replicateImage(ctx, site.BackPakID, src, l, volimage.StoreDir(toRoot, im.StoreID), faults[l], opts.Keys); err != nil {
			return res, fmt.Errorf("image of %s: %w", l, err)
		}
		switch faults[l] {
		case faultMissing:
			res.Missing++
			continue
		case faultStale:
			res.Stale++
		case faultCorrupt:
			res.Corrupt++
		case faultTruncated:
			res.Truncated++
		case faultMisfiled:
			res.Misfiled++
		}
		res.Copied++
	}
	return res, nil
}

// replicatedStores returns the data stores whose images a replication
// copies: the one asked for, which must be the primary's, or them all.
func replicatedStores(ctx context.Context, primary store.Reader, only string) ([]string, error) {
	if only != "" {
		ds, err := primary.DataStore(ctx, only)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("data store %s is not defined at the primary", only)
		} else if err != nil {
			return nil, fmt.Errorf("data store %s: %w", only, err)
		}
		if ds.Access != catalog.AccessPrimary {
			return nil, fmt.Errorf("data store %s is %s at the primary: its images are not the primary's", only, ds.Access)
		}
		return []string{only}, nil
	}
	var ids []string
	err := primary.ScanDataStores(ctx, func(d *catalog.DataStore) error {
		if d.Access == catalog.AccessPrimary {
			ids = append(ids, d.ID)
		}
		return nil
	})
	return ids, err
}

// planFaults gives each label named in opts its fault, and each misfiled
// label the label whose image it receives. Labels without an image in
// scope, and labels given two faults, are refused, all named at once.
func planFaults(images map[string]image, opts DataReplication, scope string) (map[string]fault, map[string]string, error) {
	faults, misfiled := map[string]fault{}, map[string]string{}
	var unknown, twice []string
	known := func(l string) bool {
		if _, ok := images[l]; !ok && !slices.Contains(unknown, l) {
			unknown = append(unknown, l)
			return false
		}
		return true
	}
	set := func(l string, f fault) {
		if _, dup := faults[l]; dup && !slices.Contains(twice, l) {
			twice = append(twice, l)
		}
		faults[l] = f
	}
	for f, labels := range map[fault][]string{faultMissing: opts.Missing, faultStale: opts.Stale,
		faultCorrupt: opts.Corrupt, faultTruncated: opts.Truncated} {
		for _, l := range labels {
			if known(l) {
				set(l, f)
			}
		}
	}
	for _, p := range opts.Misfiled {
		from, to := known(p.From), known(p.To)
		if from && to {
			if p.From == p.To {
				return nil, nil, fmt.Errorf("misfiled %s=%s: a label filed under itself is no fault", p.From, p.To)
			}
			set(p.To, faultMisfiled)
			misfiled[p.To] = p.From
		}
	}
	slices.Sort(unknown)
	slices.Sort(twice)
	switch {
	case len(unknown) > 0:
		return nil, nil, fmt.Errorf("labels %s: not volumes with an image in %s", strings.Join(unknown, ", "), scope)
	case len(twice) > 0:
		return nil, nil, fmt.Errorf("labels %s: given more than one fault", strings.Join(twice, ", "))
	}
	return faults, misfiled, nil
}

// replicateImage writes the secondary's copy of src's image under label in
// dir, with fault f.
func replicateImage(ctx context.Context, group string, src image, label, dir string, f fault, km keys.Manager) error {
	ind, dat := filepath.Join(dir, volimage.IndexName(label)), filepath.Join(dir, volimage.DataName(label))
	switch f {
	case faultMissing:
		// A copy left by an earlier replication would hide the fault.
		for _, p := range []string{ind, dat} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	case faultStale:
		return writeStale(ctx, group, src, dir, km)
	}
	if err := copyFile(filepath.Join(src.dir, volimage.IndexName(src.Label)), ind); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(src.dir, volimage.DataName(src.Label)), dat); err != nil {
		return err
	}
	switch f {
	case faultCorrupt:
		return flipDataByte(dat)
	case faultTruncated:
		fi, err := os.Stat(dat)
		if err != nil {
			return err
		}
		return os.Truncate(dat, fi.Size()/2)
	}
	return nil
}

// writeStale writes src's image again with its volume timestamp a day
// older: the copy of a previous write of the volume, as a mirror that
// stopped would hold.
func writeStale(ctx context.Context, group string, src image, dir string, km keys.Manager) error {
	var key []byte
	if src.MediaKeyName != "" {
		k, err := keys.Find(ctx, km, group, src.MediaKeyName)
		if err != nil {
			return fmt.Errorf("primary key manager: %w", err)
		}
		if key, err = km.Material(ctx, k.ID); err != nil {
			return fmt.Errorf("primary key manager: key %s: %w", src.MediaKeyName, err)
		}
		defer clear(key)
	}
	im, err := volimage.Open(src.dir, src.Label)
	if err != nil {
		return err
	}
	var files []volimage.TapeFile
	if err := im.Files(key, func(f volimage.TapeFile) error {
		files = append(files, f)
		return nil
	}); err != nil {
		return err
	}
	h := im.Header
	h.Timestamp = h.Timestamp.Add(-24 * time.Hour)
	return volimage.Write(dir, h, key, files)
}

// sameFolder reports whether a and b both exist and are one folder, by
// whatever path (a link, a mount).
func sameFolder(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// flipDataByte inverts one byte in the middle of a data file, inside a
// block whatever the block size.
func flipDataByte(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return fmt.Errorf("%s holds no block to corrupt", filepath.Base(path))
	}
	b := make([]byte, 1)
	at := fi.Size() / 2
	if _, err := f.ReadAt(b, at); err != nil {
		return err
	}
	b[0] ^= 0xFF
	if _, err := f.WriteAt(b, at); err != nil {
		return err
	}
	return f.Close()
}
