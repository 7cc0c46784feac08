package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/inspect"
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

func infoTapeVolume(ctx context.Context, w io.Writer, r store.Reader, label string) error {
	info, err := inspect.TapeVolume(ctx, r, label)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(info.Tapes) == 0 {
		fmt.Fprintf(tw, "TAPEVOLUME %s: none in DSM/TC\n", label)
	}
	for i := range info.Tapes {
		printTapeVolume(tw, &info.Tapes[i])
	}
	for i := range info.BackPak {
		printBackPakVolume(tw, &info.BackPak[i])
	}
	return tw.Flush()
}

func printTapeVolume(w io.Writer, t *inspect.Tape) {
	tv := &t.TapeVolume
	format, filecat := "-", "-"
	switch {
	case tv.VolsetID != "" && t.VTOFC == nil:
		format, filecat = "(no VTOFC entry)", "(no VTOFC entry)"
	case t.VTOFC != nil:
		format, filecat = tapeFormat(t.VTOFC.TapeFormat), t.VTOFC.Filecat
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
		return
	}
	fmt.Fprintf(w, "  FILES ON VOLUME SET %s: %d\n", tv.VolsetID, len(t.Files))
	if len(t.Files) > 0 {
		fmt.Fprintln(w, "  FILECAT\tFILEID\tGEN\tVERSION\tCOPY\tSTATUS\tCREATED\tEXPIRATION")
		for _, f := range t.Files {
			fmt.Fprintf(w, "  %s\t%s\t%d\t%d\t%d.%d\t%s\t%s\t%s\n", f.Filecat, f.FileID, f.Generation, f.Version,
				f.PhysicalCopy, f.LogicalCopy, f.Status, stamp(f.Created), expiration(f.Expiration))
		}
	}
	fmt.Fprintln(w)
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
	info, err := inspect.TapeFile(ctx, r, fileID, gen)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TAPEFILE %s\n", fileID)
	for _, c := range info.Configs {
		fmt.Fprintf(tw, "  FILECAT %s LASTGENERATION %d\n", c.Filecat, c.LastGeneration)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "FILECAT\tGEN\tVERSION\tCOPY\tSTATUS\tCREATED\tEXPIRATION\tVOLCAT\tPOOL\tVOLSETID\tVOLUMES\tDISKFILES")
	for _, f := range info.Copies {
		labels := make([]string, len(f.Volumes))
		for i, v := range f.Volumes {
			labels[i] = v.Volser
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d.%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", f.Filecat, f.Generation, f.Version,
			f.PhysicalCopy, f.LogicalCopy, f.Status, stamp(f.Created), expiration(f.Expiration), f.Volcat, f.Pool,
			f.VolsetID, orDash(strings.Join(labels, ",")), f.DiskFiles)
	}
	return tw.Flush()
}

func infoDiskFile(ctx context.Context, w io.Writer, r store.Reader, name string) error {
	info, err := inspect.DiskFile(ctx, r, name)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "DISKFILE %s\n\n", name)
	fmt.Fprintln(tw, "FILECAT\tFILEID\tGEN\tVERSION\tCOPY\tTIMEDUMPED\tSTATUS\tEOF\tTYPE\tCODE\tFLAGS\tVOLUMES")
	for _, d := range info.Dumps {
		labels := make([]string, len(d.Volumes))
		for i, v := range d.Volumes {
			labels[i] = v.Volser
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d.%d\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", d.Filecat, d.FileID, d.Generation,
			d.Version, d.PhysicalCopy, d.LogicalCopy, stamp(d.TimeDumped), d.Status, d.EOF, d.FileType, d.FileCode,
			diskFlags(&d.DiskFile), orDash(strings.Join(labels, ",")))
	}
	return tw.Flush()
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
