// Package restore proves, on the secondary, that replicated catalogs can be
// restored from: for a sample of a data store's volumes, the volume image
// is in the store's folder, its index agrees with the replicated BackPak
// entry, the key from the secondary's key manager decrypts every block and
// its tag verifies, every tape file the catalog places on the volume is
// found by its HDR1 label at the address its TFTOV entry gives (and is the
// file sequence it says), and its disk files are in
// the tape file's directory with their sizes. The date each volume was last
// verified is kept on the secondary, so that the sample rotates over the
// store and the verified-restorable fraction can be told.
package restore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/volimage"
)

// Problems a sampled volume can have; a volume that passes has none.
const (
	ImageMissing      = "IMAGE_MISSING"      // no image of the label in the store's folder
	ImageTruncated    = "IMAGE_TRUNCATED"    // a file of the image is shorter than its index says
	ImageDamaged      = "IMAGE_DAMAGED"      // a block's checksum wrong, or the image malformed
	LabelMismatch     = "LABEL_MISMATCH"     // the index names another label, or another label type
	TimestampMismatch = "TIMESTAMP_MISMATCH" // the image is not the write the catalog knows (a stale copy)
	KeyMissing        = "KEY_MISSING"        // the secondary's key manager cannot give the volume's key
	DecryptFailed     = "DECRYPT_FAILED"     // a block does not decrypt or its tag does not verify
	FileNotFound      = "FILE_NOT_FOUND"     // a tape file of the catalog is not at its place on the volume
	DiskFileMissing   = "DISKFILE_MISSING"   // a DISKFILE entry is not in its tape file's directory, or has another size
)

// DefaultSample is the number of volumes a restore test samples unless told.
const DefaultSample = 10

// Options shape one restore test.
type Options struct {
	Store string
	// Labels, when given, are the volumes to test; otherwise a sample.
	Labels []string
	// Sample is how many volumes a sample holds (default DefaultSample).
	Sample int
	// Budget ends the test early, with what it did reported (0: none).
	Budget time.Duration
	// Window is how long a verification counts toward the
	// verified-restorable fraction (default 30 days).
	Window time.Duration
	// Seed draws the random part of the sample.
	Seed uint64
}

// Site is what the test reads on the secondary.
type Site struct {
	Catalog store.Store
	Keys    keys.Manager // nil when none is configured
	// Data is the root of the data stores' folders.
	Data string
	// Group is the BackPak id the volumes' keys are filed under: the
	// primary's. A key not there is looked for under each of Readable:
	// the ids of the other domains whose tapes the site reads (a volume
	// written before a failover keeps its key under its writer's id).
	Group    string
	Readable []string
}

// Verdict is the test of one volume: passed, or its first problem with the
// tape file and block concerned.
type Verdict struct {
	Label   string `json:"label"`
	Why     string `json:"why"` // why it was sampled: newest, encrypted, least recently verified, random, asked
	Problem string `json:"problem,omitempty"`
	Detail  string `json:"detail,omitempty"`
	File    string `json:"file,omitempty"`  // the tape file concerned, FILEID GEN n VERSION n
	Block   int    `json:"block,omitempty"` // the image block concerned, from 1 (0: none)
	Files   int    `json:"files"`           // tape files of the catalog found on the volume
}

func (v Verdict) String() string {
	if v.Problem == "" {
		return fmt.Sprintf("volume %s (%s): restorable, %d tape files", v.Label, v.Why, v.Files)
	}
	s := fmt.Sprintf("volume %s (%s): %s: %s", v.Label, v.Why, v.Problem, v.Detail)
	if v.File != "" {
		s += "; tape file " + v.File
	}
	if v.Block > 0 {
		s += fmt.Sprintf("; image block %d (from 1)", v.Block)
	}
	return s
}

// Report is what a restore test found.
type Report struct {
	Store     string         `json:"store"`
	Sampled   int            `json:"sampled"`
	Passed    int            `json:"passed"`
	Failed    int            `json:"failed"`
	ByProblem map[string]int `json:"by_problem,omitempty"`
	Verdicts  []Verdict      `json:"verdicts"`
	// BudgetSpent tells that the budget ended the test: Left volumes of
	// the sample were not tested.
	BudgetSpent bool `json:"budget_spent,omitempty"`
	Left        int  `json:"left,omitempty"`
	// Volumes of the store, those verified within Window, and their
	// fraction: the verified-restorable fraction.
	Volumes  int64         `json:"volumes"`
	Verified int64         `json:"verified"`
	Fraction float64       `json:"fraction"`
	Window   time.Duration `json:"window"`
	// Skipped says why nothing was tested (no data stores' folder
	// configured), when nothing was.
	Skipped string `json:"skipped,omitempty"`
}

// Failures tells whether a tested volume is not restorable.
func (r Report) Failures() bool { return r.Failed > 0 }

// Summary is one line for the memo and the CLI.
func (r Report) Summary() string {
	if r.Skipped != "" {
		return "restore test skipped: " + r.Skipped
	}
	s := fmt.Sprintf("%d of %d sampled volumes restorable", r.Passed, r.Sampled)
	if r.Failed > 0 {
		var parts []string
		for _, p := range slices.Sorted(maps.Keys(r.ByProblem)) {
			parts = append(parts, fmt.Sprintf("%s %d", p, r.ByProblem[p]))
		}
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if r.BudgetSpent {
		s += fmt.Sprintf(", budget spent with %d left", r.Left)
	}
	return s + fmt.Sprintf("; %.1f%% of %d volumes verified in the last %s", 100*r.Fraction, r.Volumes, days(r.Window))
}

// days writes a window of whole days as days, anything else as it is.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		if n := d / (24 * time.Hour); n > 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "day"
	}
	return d.String()
}

// maxVerdicts bounds the verdicts a report lists; all are counted.
const maxVerdicts = 500

// Run tests opts.Store on site at now, calling progress after each volume.
func Run(ctx context.Context, site Site, opts Options, now time.Time, progress func(done int)) (Report, error) {
	opts.Sample = cmp.Or(opts.Sample, DefaultSample)
	opts.Window = cmp.Or(opts.Window, 30*24*time.Hour)
	rep := Report{Store: opts.Store, Window: opts.Window, ByProblem: map[string]int{}}
	st := site.Catalog
	ds, err := st.DataStore(ctx, opts.Store)
	if errors.Is(err, store.ErrNotFound) {
		return rep, catalog.ConfigErrorf("data store %s is not defined on the secondary", opts.Store)
	} else if err != nil {
		return rep, err
	}
	vols, verified, err := volumes(ctx, st, opts.Store)
	if err != nil {
		return rep, err
	}
	if site.Data == "" {
		rep.Skipped = "no data stores' folder is configured (CATSYNC_SECONDARY_DATA)"
		fraction(&rep, vols, verified, now)
		return rep, nil
	}
	sample, err := pick(vols, verified, opts, now)
	if err != nil {
		return rep, err
	}
	rep.Sampled = len(sample)
	start := time.Now()
	for i, s := range sample {
		// However short the budget, one volume is tested.
		if i > 0 && opts.Budget > 0 && time.Since(start) >= opts.Budget {
			rep.BudgetSpent, rep.Left, rep.Sampled = true, len(sample)-i, i
			break
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		v, err := test(ctx, site, ds, s.vol)
		if err != nil {
			return rep, fmt.Errorf("restore test of volume %s: %w", s.vol.Label, err)
		}
		v.Why = s.why
		if v.Problem == "" {
			rep.Passed++
			if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutVerified(ctx, opts.Store, s.vol.Key(), now) }); err != nil {
				return rep, err
			}
			verified[s.vol.Key()] = now
		} else {
			rep.Failed++
			rep.ByProblem[v.Problem]++
		}
		if len(rep.Verdicts) < maxVerdicts {
			rep.Verdicts = append(rep.Verdicts, v)
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	fraction(&rep, vols, verified, now)
	return rep, nil
}

// fraction counts the volumes verified within the window.
func fraction(rep *Report, vols []catalog.Volume, verified map[catalog.VolumeKey]time.Time, now time.Time) {
	rep.Volumes = int64(len(vols))
	for _, v := range vols {
		if at, ok := verified[v.Key()]; ok && now.Sub(at) < rep.Window {
			rep.Verified++
		}
	}
	if rep.Volumes > 0 {
		rep.Fraction = float64(rep.Verified) / float64(rep.Volumes)
	}
}

// volumes are the store's BackPak volumes on the secondary that were
// written (a volume never written has no volume timestamp, and nothing to
// restore), and when each was last verified.
func volumes(ctx context.Context, r store.Reader, storeID string) ([]catalog.Volume, map[catalog.VolumeKey]time.Time, error) {
	var vols []catalog.Volume
	if err := r.ScanVolumes(ctx, store.Filter{StoreID: storeID}, func(v *catalog.Volume) error {
		if !v.Timestamp.IsZero() {
			vols = append(vols, *v)
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	verified := map[catalog.VolumeKey]time.Time{}
	err := r.ScanVerified(ctx, storeID, func(k catalog.VolumeKey, at time.Time) error {
		verified[k] = at
		return nil
	})
	return vols, verified, err
}

type sampled struct {
	vol catalog.Volume
	why string
}

// pick chooses the volumes to test: the labels asked for, or a stratified
// sample: the newest write, encrypted volumes, the least recently verified
// (never verified first), and random ones, each volume once.
func pick(vols []catalog.Volume, verified map[catalog.VolumeKey]time.Time, opts Options, now time.Time) ([]sampled, error) {
	if len(opts.Labels) > 0 {
		var out []sampled
		for _, l := range opts.Labels {
			i := slices.IndexFunc(vols, func(v catalog.Volume) bool { return v.Label == l })
			if i < 0 {
				return nil, catalog.ConfigErrorf("label %s: not a volume of data store %s on the secondary", l, opts.Store)
			}
			out = append(out, sampled{vols[i], "asked"})
		}
		return out, nil
	}
	if len(vols) == 0 {
		return nil, nil
	}
	taken := map[catalog.VolumeKey]bool{}
	var out []sampled
	add := func(v catalog.Volume, why string) {
		if len(out) < opts.Sample && !taken[v.Key()] {
			taken[v.Key()] = true
			out = append(out, sampled{v, why})
		}
	}
	// The strata are drawn from the volumes due: never verified, or not
	// within the window (all of them once none is), so that the test
	// rotates over the store, covering it within volumes/sample runs,
	// and a new write is among the first tested.
	due := slices.DeleteFunc(slices.Clone(vols), func(v catalog.Volume) bool {
		at, ok := verified[v.Key()]
		return ok && now.Sub(at) < opts.Window
	})
	if len(due) == 0 {
		due = slices.Clone(vols)
	}
	add(slices.MaxFunc(due, func(a, b catalog.Volume) int { return a.Timestamp.Compare(b.Timestamp) }), "newest")
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	var encrypted []catalog.Volume
	for _, v := range due {
		if v.MediaKeyName != "" {
			encrypted = append(encrypted, v)
		}
	}
	rng.Shuffle(len(encrypted), func(i, j int) { encrypted[i], encrypted[j] = encrypted[j], encrypted[i] })
	for _, v := range encrypted[:min(len(encrypted), max(opts.Sample/4, 1))] {
		add(v, "encrypted")
	}
	random := slices.Clone(due)
	rng.Shuffle(len(random), func(i, j int) { random[i], random[j] = random[j], random[i] })
	for _, v := range random[:min(len(random), opts.Sample/4)] {
		add(v, "random")
	}
	// The rest: never verified first, then the oldest verification,
	// labels breaking ties.
	oldest := slices.Clone(vols)
	slices.SortStableFunc(oldest, func(a, b catalog.Volume) int {
		return verified[a.Key()].Compare(verified[b.Key()])
	})
	for _, v := range oldest {
		add(v, "least recently verified")
	}
	return out, nil
}

// expected is a tape file the catalog places on a volume.
type expected struct {
	tftov catalog.TapeFileVolume
	disk  []catalog.DiskFile // its DISKFILE entries, on its first section
}

func (e expected) name() string {
	return fmt.Sprintf("%s GEN %d VERSION %d", e.tftov.FileID, e.tftov.Generation, e.tftov.Version)
}

// hdr1ID is what HDR1 keeps of a FILEID: its rightmost 17 characters.
func hdr1ID(fileID string) string { return fileID[max(len(fileID)-17, 0):] }

// test restores volume v of data store ds as far as proving it can be.
func test(ctx context.Context, site Site, ds catalog.DataStore, v catalog.Volume) (Verdict, error) {
	verdict := Verdict{Label: v.Label}
	fail := func(problem, file string, block int, detail string, args ...any) (Verdict, error) {
		verdict.Problem, verdict.File, verdict.Block, verdict.Detail = problem, file, block, fmt.Sprintf(detail, args...)
		return verdict, nil
	}
	want, err := onVolume(ctx, site.Catalog, v)
	if err != nil {
		return verdict, err
	}
	im, err := volimage.Open(volimage.StoreDir(site.Data, ds.ID), v.Label)
	if err != nil {
		return imageFault(verdict, err)
	}
	h := im.Header
	switch {
	case h.Label != v.Label || h.LabelType != v.LabelType:
		return fail(LabelMismatch, "", 0, "the index is of %s %s, the BackPak entry of %s %s", h.LabelType, h.Label, v.LabelType, v.Label)
	case ds.CheckVolumeTimestamp && v.CheckTimestamp && !h.Timestamp.Equal(v.Timestamp):
		return fail(TimestampMismatch, "", 0, "the image was written %s, the BackPak entry's volume timestamp is %s: a stale copy",
			h.Timestamp.UTC().Format(time.RFC3339), v.Timestamp.UTC().Format(time.RFC3339))
	case h.MediaKeyName != v.MediaKeyName:
		return fail(KeyMissing, "", 0, "the image is encrypted under key %q, the BackPak entry names %q", h.MediaKeyName, v.MediaKeyName)
	}
	var key []byte
	if v.MediaKeyName != "" {
		if key, err = volumeKey(ctx, site, v.MediaKeyName); err != nil {
			var missing *keyError
			if errors.As(err, &missing) {
				return fail(KeyMissing, "", 0, "%s", missing.reason)
			}
			return verdict, err
		}
		defer clear(key)
	}
	// Every block first: the image is restorable byte for byte under the
	// key. Then each tape file where the catalog places it.
	if err := im.Check(key); err != nil {
		return imageFault(verdict, err)
	}
	for _, e := range want {
		f, err := locate(im, key, e.tftov)
		var ie *volimage.Error
		switch {
		case errors.As(err, &ie) && ie.Kind == volimage.NotFound:
			return fail(FileNotFound, e.name(), 0, "no HDR1 at LBA %d, the FILESEQLABELLBA of its TFTOV entry (file sequence %d)",
				e.tftov.LabelLBA, e.tftov.FileSequence)
		case err != nil:
			v, err := imageFault(verdict, err)
			v.File = e.name()
			return v, err
		case f.Sequence != e.tftov.FileSequence || f.FileID != hdr1ID(e.tftov.FileID) || f.Generation != e.tftov.Generation ||
			f.Version != e.tftov.Version || f.Section != e.tftov.FileSection:
			return fail(FileNotFound, e.name(), 0, "HDR1 at LBA %d is %q generation %d version %d section %d file sequence %d, the TFTOV entry says file sequence %d",
				f.LBA, f.FileID, f.Generation, f.Version, f.Section, f.Sequence, e.tftov.FileSequence)
		}
		dir := map[string]int64{}
		for _, d := range f.Disk {
			dir[d.Name] = d.Size
		}
		for _, d := range e.disk {
			size, ok := dir[d.Name]
			if !ok {
				return fail(DiskFileMissing, e.name(), 0, "disk file %s is not in the tape file's directory", d.Name)
			}
			if size != d.EOF {
				return fail(DiskFileMissing, e.name(), 0, "disk file %s has %d bytes in the tape file's directory, %d in its DISKFILE entry", d.Name, size, d.EOF)
			}
		}
		verdict.Files++
	}
	return verdict, nil
}

// locate reads the tape file of a TFTOV entry as a restore positions the
// tape: at its FILESEQLABELLBA, or, where the catalog has none (-1), at the
// first HDR1 of its file sequence.
func locate(im *volimage.Image, key []byte, t catalog.TapeFileVolume) (volimage.TapeFile, error) {
	if t.LabelLBA >= 0 {
		return im.FileAt(key, t.LabelLBA)
	}
	for _, lba := range im.LabelLBAs() {
		f, err := im.FileAt(key, lba)
		if err != nil || f.Sequence == t.FileSequence {
			return f, err
		}
	}
	return volimage.TapeFile{}, &volimage.Error{Label: t.Volser, File: volimage.FileIndex, Block: -1, Kind: volimage.NotFound,
		Reason: fmt.Sprintf("no HDR1 of file sequence %d", t.FileSequence)}
}

// imageFault is the verdict of an image that cannot be read as it is.
func imageFault(v Verdict, err error) (Verdict, error) {
	var ie *volimage.Error
	if !errors.As(err, &ie) {
		return v, err
	}
	// The block goes in its own field, counted from 1 as the verdict
	// prints it: the detail names the file, the fault and its reason.
	file := volimage.DataName(ie.Label)
	if ie.File == volimage.FileIndex {
		file = volimage.IndexName(ie.Label)
	}
	v.Detail, v.Block = fmt.Sprintf("%s: %s: %s", file, ie.Kind, ie.Reason), max(ie.Block+1, 0)
	switch ie.Kind {
	case volimage.Missing:
		v.Problem = ImageMissing
	case volimage.Decrypt:
		v.Problem = DecryptFailed
	case volimage.Mismatch:
		v.Problem = LabelMismatch
	case volimage.Truncated:
		v.Problem = ImageTruncated
	default:
		v.Problem = ImageDamaged
	}
	return v, nil
}

// onVolume lists the tape files the secondary's catalog places on volume v,
// with the DISKFILE entries of those starting there.
func onVolume(ctx context.Context, r store.Reader, v catalog.Volume) ([]expected, error) {
	var out []expected
	if err := r.ScanTapeFileVolumes(ctx, store.Filter{Volser: v.Label}, func(t *catalog.TapeFileVolume) error {
		out = append(out, expected{tftov: *t})
		return nil
	}); err != nil {
		return nil, err
	}
	for i, e := range out {
		if e.tftov.FileSection != 1 {
			continue
		}
		if err := r.ScanDiskFiles(ctx, store.Filter{Filecat: e.tftov.Filecat, FileID: e.tftov.FileID, Generation: e.tftov.Generation}, func(d *catalog.DiskFile) error {
			if d.Version == e.tftov.Version && d.PhysicalCopy == e.tftov.PhysicalCopy && d.LogicalCopy == e.tftov.LogicalCopy {
				out[i].disk = append(out[i].disk, *d)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keyError is a key the secondary's key manager cannot give: a problem of
// the volume, not of the test.
type keyError struct{ reason string }

func (e *keyError) Error() string { return e.reason }

// volumeKey fetches a volume's key material from the secondary's key
// manager; the caller clears it once used.
func volumeKey(ctx context.Context, site Site, name string) ([]byte, error) {
	if site.Keys == nil {
		return nil, &keyError{"the secondary has no key manager (CATSYNC_SECONDARY_KEYS)"}
	}
	info, err := keys.Find(ctx, site.Keys, site.Group, name)
	for _, g := range site.Readable {
		if !errors.Is(err, keys.ErrNotFound) {
			break
		}
		if g != site.Group {
			info, err = keys.Find(ctx, site.Keys, g, name)
		}
	}
	if errors.Is(err, keys.ErrNotFound) {
		return nil, &keyError{fmt.Sprintf("key %s is not in the secondary's key manager under BackPak id %s", name, site.Group)}
	}
	if err != nil {
		return nil, err
	}
	if info.State != keys.Active {
		return nil, &keyError{fmt.Sprintf("key %s is %s in the secondary's key manager", name, info.State)}
	}
	return site.Keys.Material(ctx, info.ID)
}
