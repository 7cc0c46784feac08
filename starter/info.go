package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

func (c *cli) infoTapeVolumeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tapevolume LABEL --catalog DSN",
		Short: "Show a tape volume: its TAPEVOLUME, the files on its volume set and its BackPak entry",
		Args:  oneArg("LABEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.read(cmd.Context(), func(ctx context.Context, r store.Reader) error {
				return infoTapeVolume(ctx, c.out, r, strings.ToUpper(args[0]))
			})
		},
	}
}

func (c *cli) infoTapeFileCmd() *cobra.Command {
	var gen int
	cmd := &cobra.Command{
		Use:   "tapefile FILEID --catalog DSN [--gen N]",
		Short: "Show every generation, version and copy of a tape file",
		Args:  oneArg("FILEID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if gen < 0 || gen > catalog.MaxGeneration {
				return fmt.Errorf("--gen %d: must be an absolute generation 1-%d", gen, catalog.MaxGeneration)
			}
			return c.read(cmd.Context(), func(ctx context.Context, r store.Reader) error {
				return infoTapeFile(ctx, c.out, r, args[0], gen)
			})
		},
	}
	cmd.Flags().IntVar(&gen, "gen", 0, "only this absolute generation (default every generation)")
	return cmd
}

func (c *cli) infoDiskFileCmd() *cobra.Command {
	return &cobra.Command{
		Use:   `diskfile \NODE.$VOL.SUBVOL.FILE --catalog DSN`,
		Short: "Show every DISKFILE entry of a disk file",
		Args:  oneArg("disk file NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.read(cmd.Context(), func(ctx context.Context, r store.Reader) error {
				// Guardian names are case-insensitive and cataloged in upper case.
				return infoDiskFile(ctx, c.out, r, strings.ToUpper(args[0]))
			})
		},
	}
}

// read runs fn on the --catalog site.
func (c *cli) read(ctx context.Context, fn func(context.Context, store.Reader) error) error {
	st, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, st)
}

// collect appends copies of scanned records: a scan reuses its record, and
// its callback must not query the store, so lookups wait for the scan's end.
func collect[T any](out *[]T) func(*T) error {
	return func(rec *T) error {
		*out = append(*out, *rec)
		return nil
	}
}

func infoTapeVolume(ctx context.Context, w io.Writer, r store.Reader, label string) error {
	var tvs []catalog.TapeVolume
	if err := r.ScanTapeVolumes(ctx, store.Filter{Volser: label}, collect(&tvs)); err != nil {
		return err
	}
	var vols []catalog.Volume
	if err := r.ScanVolumes(ctx, store.Filter{Label: label}, collect(&vols)); err != nil {
		return err
	}
	if len(tvs) == 0 && len(vols) == 0 {
		return fmt.Errorf("tape volume %s: no TAPEVOLUME and no BackPak entry in this catalog", label)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(tvs) == 0 {
		fmt.Fprintf(tw, "TAPEVOLUME %s: none in DSM/TC\n", label)
	}
	for i := range tvs {
		if err := printTapeVolume(ctx, tw, r, &tvs[i]); err != nil {
			return err
		}
	}
	for i := range vols {
		printBackPakVolume(tw, &vols[i])
	}
	return tw.Flush()
}

func printTapeVolume(ctx context.Context, w io.Writer, r store.Reader, tv *catalog.TapeVolume) error {
	format, filecat := "-", "-"
	var files []catalog.TapeFile
	if tv.VolsetID != "" {
		format, filecat = "(no VTOFC entry)", "(no VTOFC entry)"
		if err := r.ScanVolumeFilecats(ctx, store.Filter{Volcat: tv.Volcat, VolsetID: tv.VolsetID, Pool: tv.Pool},
			func(f *catalog.VolumeFilecat) error {
				format, filecat = tapeFormat(f.TapeFormat), f.Filecat
				return nil
			}); err != nil {
			return err
		}
		// Every file of the set, whatever its FILECAT: a stray one shows.
		if err := r.ScanTapeFiles(ctx, store.Filter{Volcat: tv.Volcat, VolsetID: tv.VolsetID}, func(f *catalog.TapeFile) error {
			if f.Pool == tv.Pool {
				files = append(files, *f)
			}
			return nil
		}); err != nil {
			return err
		}
		// MEDIACOM lists them in write order.
		slices.SortStableFunc(files, func(a, b catalog.TapeFile) int { return a.Created.Compare(b.Created) })
	}
	fmt.Fprintf(w, "TAPEVOLUME %s\n", tv.Volser)
	field(w, "VOLCAT", tv.Volcat)
	field(w, "POOL", tv.Pool)
	field(w, "VOLSER", tv.Volser)
	field(w, "STATUS", tv.Status)
	field(w, "LABEL", tv.Label)
	field(w, "TYPE", tv.Type)
	if tv.Density != "" {
		field(w, "DENSITY", tv.Density)
	}
	if tv.OwnerID != "" {
		field(w, "OWNERID", fmt.Sprintf("%q", tv.OwnerID)) // a process handle may be binary
	}
	field(w, "VOLSETID", orDash(tv.VolsetID))
	field(w, "VOLINDEX", tv.VolIndex)
	field(w, "TAPE FORMAT", format)
	field(w, "FILECAT", filecat)
	fmt.Fprintln(w)
	if tv.VolsetID == "" {
		return nil
	}
	fmt.Fprintf(w, "  FILES ON VOLUME SET %s: %d\n", tv.VolsetID, len(files))
	if len(files) > 0 {
		fmt.Fprintln(w, "  FILECAT\tFILEID\tGEN\tVERSION\tCOPY\tSTATUS\tCREATED\tEXPIRATION")
		for _, f := range files {
			fmt.Fprintf(w, "  %s\t%s\t%d\t%d\t%d.%d\t%s\t%s\t%s\n", f.Filecat, f.FileID, f.Generation, f.Version,
				f.PhysicalCopy, f.LogicalCopy, f.Status, stamp(f.Created), expiration(f.Expiration))
		}
	}
	fmt.Fprintln(w)
	return nil
}

func printBackPakVolume(w io.Writer, v *catalog.Volume) {
	fmt.Fprintf(w, "BACKPAK VOLUME %s (%s)\n", v.Label, v.LabelType)
	field(w, "DATA STORE", v.StoreID)
	field(w, "VOLUME GROUP", v.Group)
	field(w, "DOMAIN ACCESS", v.Access)
	field(w, "VOLUME TIMESTAMP", stamp(v.Timestamp))
	field(w, "PREVIOUS UNLOAD", stamp(v.PrevUnload))
	field(w, "LAST UPDATE", stamp(v.LastUpdate))
	field(w, "CHECK TIMESTAMP", yesNo(v.CheckTimestamp))
	field(w, "LOCKED", yesNo(v.Locked))
	field(w, "OWNER", strings.TrimSpace(v.OwnerNode+" "+v.OwnerUser))
	field(w, "AUTH (R/W/C)", v.Auth)
	field(w, "COMPRESSION", v.Compression)
	field(w, "MAX SIZE", v.MaxSize)
	field(w, "DATA SIZE", v.DataSize)
	field(w, "STORAGE SIZE", v.StorageSize)
	field(w, "IND", orDash(v.IndexPath))
	field(w, "DAT", orDash(v.DataPath))
	field(w, "MEDIA KEY NAME", orDash(v.MediaKeyName))
	if v.Comment != "" {
		field(w, "COMMENT", v.Comment)
	}
	fmt.Fprintln(w)
}

func infoTapeFile(ctx context.Context, w io.Writer, r store.Reader, fileID string, gen int) error {
	cats, err := fileCatalogs(ctx, r)
	if err != nil {
		return err
	}
	var configs []catalog.FileConfig
	var files []catalog.TapeFile
	for _, fc := range cats {
		if err := r.ScanFileConfigs(ctx, store.Filter{Filecat: fc, FileID: fileID}, collect(&configs)); err != nil {
			return err
		}
		if err := r.ScanTapeFiles(ctx, store.Filter{Filecat: fc, FileID: fileID, Generation: gen}, collect(&files)); err != nil {
			return err
		}
	}
	if len(files) == 0 {
		if gen != 0 {
			return fmt.Errorf("tape file %s generation %d: not in the catalog", fileID, gen)
		}
		return fmt.Errorf("tape file %s: not in the catalog", fileID)
	}
	// Volumes (TFTOV) and disk-file counts of every copy, one scan per catalog.
	vols := map[catalog.TapeFileKey][]catalog.TapeFileVolume{}
	disks := map[catalog.TapeFileKey]int{}
	for _, fc := range distinct(files, func(f *catalog.TapeFile) string { return f.Filecat }) {
		f := store.Filter{Filecat: fc, FileID: fileID, Generation: gen}
		if err := r.ScanTapeFileVolumes(ctx, f, func(v *catalog.TapeFileVolume) error {
			k := catalog.TapeFileKey{Filecat: v.Filecat, FileID: v.FileID, Generation: v.Generation, Version: v.Version,
				PhysicalCopy: v.PhysicalCopy, LogicalCopy: v.LogicalCopy}
			vols[k] = append(vols[k], *v)
			return nil
		}); err != nil {
			return err
		}
		if err := r.ScanDiskFiles(ctx, f, func(d *catalog.DiskFile) error {
			disks[catalog.TapeFileKey{Filecat: d.Filecat, FileID: d.FileID, Generation: d.Generation, Version: d.Version,
				PhysicalCopy: d.PhysicalCopy, LogicalCopy: d.LogicalCopy}]++
			return nil
		}); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TAPEFILE %s\n", fileID)
	for _, c := range configs {
		fmt.Fprintf(tw, "  FILECAT %s LASTGENERATION %d\n", c.Filecat, c.LastGeneration)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "FILECAT\tGEN\tVERSION\tCOPY\tSTATUS\tCREATED\tEXPIRATION\tVOLCAT\tPOOL\tVOLSETID\tVOLUMES\tDISKFILES")
	for _, f := range files {
		on := vols[f.Key()]
		slices.SortFunc(on, func(a, b catalog.TapeFileVolume) int { return cmp.Compare(a.VolIndex, b.VolIndex) })
		labels := make([]string, len(on))
		for i, v := range on {
			labels[i] = v.Volser
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d.%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", f.Filecat, f.Generation, f.Version,
			f.PhysicalCopy, f.LogicalCopy, f.Status, stamp(f.Created), expiration(f.Expiration), f.Volcat, f.Pool,
			f.VolsetID, orDash(strings.Join(labels, ",")), disks[f.Key()])
	}
	return tw.Flush()
}

func infoDiskFile(ctx context.Context, w io.Writer, r store.Reader, name string) error {
	cats, err := fileCatalogs(ctx, r)
	if err != nil {
		return err
	}
	var dfs []catalog.DiskFile
	for _, fc := range cats {
		if err := r.ScanDiskFiles(ctx, store.Filter{Filecat: fc, Name: name}, collect(&dfs)); err != nil {
			return err
		}
	}
	if len(dfs) == 0 {
		return fmt.Errorf("disk file %s: not in the catalog", name)
	}
	// DFTOV rows belong to a DISKFILE by name, time dumped and volume set
	// (parallel copies share the time but not the set).
	type dump struct {
		filecat string
		dumped  int64
		volset  string
	}
	vols := map[dump][]catalog.DiskFileVolume{}
	for _, fc := range distinct(dfs, func(d *catalog.DiskFile) string { return d.Filecat }) {
		if err := r.ScanDiskFileVolumes(ctx, store.Filter{Filecat: fc, Name: name}, func(v *catalog.DiskFileVolume) error {
			k := dump{v.Filecat, v.TimeDumped.UnixMicro(), v.VolsetID}
			vols[k] = append(vols[k], *v)
			return nil
		}); err != nil {
			return err
		}
	}
	slices.SortStableFunc(dfs, func(a, b catalog.DiskFile) int { return a.TimeDumped.Compare(b.TimeDumped) })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "DISKFILE %s\n\n", name)
	fmt.Fprintln(tw, "FILECAT\tFILEID\tGEN\tVERSION\tCOPY\tTIMEDUMPED\tSTATUS\tEOF\tTYPE\tCODE\tFLAGS\tVOLUMES")
	for _, d := range dfs {
		on := vols[dump{d.Filecat, d.TimeDumped.UnixMicro(), d.VolsetID}]
		slices.SortFunc(on, func(a, b catalog.DiskFileVolume) int { return cmp.Compare(a.VolIndex, b.VolIndex) })
		labels := make([]string, len(on))
		for i, v := range on {
			labels[i] = v.Volser
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d.%d\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", d.Filecat, d.FileID, d.Generation,
			d.Version, d.PhysicalCopy, d.LogicalCopy, stamp(d.TimeDumped), d.Status, d.EOF, d.FileType, d.FileCode,
			diskFlags(&d), orDash(strings.Join(labels, ",")))
	}
	return tw.Flush()
}

// fileCatalogs lists the file catalogs a lookup by FILEID or disk file name
// visits: the MEDIADEFS default, the system search list and every volume
// group's FILECAT. The file catalog tables are keyed by FILECAT first, so one
// indexed query per catalog beats a scan of a whole table. (Search list
// entries that are VOLCATs simply match nothing.)
func fileCatalogs(ctx context.Context, r store.Reader) ([]string, error) {
	site, err := r.Site(ctx)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{site.MediaDefs.DefaultFilecat: true}
	for _, c := range site.SearchList {
		set[c] = true
	}
	if err := r.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		set[g.Filecat] = true
		return nil
	}); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// distinct returns the distinct values of key over recs, in first-seen order.
func distinct[T any](recs []T, key func(*T) string) []string {
	var out []string
	for i := range recs {
		if k := key(&recs[i]); !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func field(w io.Writer, name string, v any) { fmt.Fprintf(w, "  %s\t%v\n", name, v) }

func tapeFormat(f int) string {
	switch f {
	case catalog.FormatNonBackup:
		return "NONBACKUP"
	case catalog.FormatArchive:
		return "ARCHIVE"
	case catalog.FormatLongName:
		return "LONGNAME"
	}
	return fmt.Sprintf("UNKNOWN (%d)", f)
}

func diskFlags(d *catalog.DiskFile) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{d.Opened, "OPENED"}, {d.Broken, "BROKEN"}, {d.RFNeeded, "RFNEEDED"}, {d.Corrupt, "CORRUPT"}, {d.Audited, "AUDITED"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	return orDash(strings.Join(f, ","))
}

// stamp formats a DATETIME in UTC, "-" when unset.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateTime)
}

// expiration formats an EXPIRATIONDATE; a zero date never expires.
func expiration(t time.Time) string {
	if t.IsZero() {
		return "PERMANENT"
	}
	return t.UTC().Format(time.DateOnly)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}
