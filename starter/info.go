package main

import (
	"context"
	"fmt"
	"io"
	"strings"
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
	if len(info.Tapes) == 0 {
		fmt.Fprintf(w, "TAPEVOLUME %s: none in DSM/TC\n", cell(label))
	}
	for i := range info.Tapes {
		if err := printTapeVolume(w, &info.Tapes[i]); err != nil {
			return err
		}
	}
	for i := range info.BackPak {
		if err := printBackPakVolume(w, &info.BackPak[i]); err != nil {
			return err
		}
	}
	return nil
}

// printTapeVolume prints a TAPEVOLUME as one table: its title, its fields
// and the files on its volume set.
func printTapeVolume(w io.Writer, t *inspect.Tape) error {
	tv := &t.TapeVolume
	format, filecat := "-", "-"
	switch {
	case tv.VolsetID != "" && t.VTOFC == nil:
		format, filecat = "(no VTOFC entry)", "(no VTOFC entry)"
	case t.VTOFC != nil:
		format, filecat = tapeFormat(t.VTOFC.TapeFormat), t.VTOFC.Filecat
	}
	tb := newTable(w, 0, "TAPEVOLUME "+tv.Volser)
	field(tb, "VOLCAT", tv.Volcat)
	field(tb, "POOL", tv.Pool)
	field(tb, "VOLSER", tv.Volser)
	field(tb, "STATUS", tv.Status)
	field(tb, "LABEL", tv.Label)
	field(tb, "TYPE", tv.Type)
	if tv.Density != "" {
		field(tb, "DENSITY", tv.Density)
	}
	if tv.OwnerID != "" {
		field(tb, "OWNERID", fmt.Sprintf("%q", tv.OwnerID)) // a process handle may be binary
	}
	field(tb, "VOLSETID", orDash(tv.VolsetID))
	field(tb, "VOLINDEX", tv.VolIndex)
	field(tb, "TAPE FORMAT", format)
	field(tb, "FILECAT", filecat)
	tb.row()
	if tv.VolsetID == "" {
		return tb.flush()
	}
	tb.row(fmt.Sprintf("  FILES ON VOLUME SET %s: %d", tv.VolsetID, len(t.Files)))
	if len(t.Files) > 0 {
		tb.row("  FILECAT", "FILEID", "GEN", "VERSION", "COPY", "STATUS", "CREATED", "EXPIRATION")
		for _, f := range t.Files {
			tb.row("  "+f.Filecat, f.FileID, f.Generation, f.Version, fmt.Sprintf("%d.%d", f.PhysicalCopy, f.LogicalCopy),
				f.Status, stamp(f.Created), expiration(f.Expiration))
		}
	}
	tb.row()
	return tb.flush()
}

// printBackPakVolume prints a BackPak volume as one table: its title and
// its fields.
func printBackPakVolume(w io.Writer, v *catalog.Volume) error {
	tb := newTable(w, 0, fmt.Sprintf("BACKPAK VOLUME %s (%s)", v.Label, v.LabelType))
	field(tb, "DATA STORE", v.StoreID)
	field(tb, "VOLUME GROUP", v.Group)
	field(tb, "DOMAIN ACCESS", v.Access)
	field(tb, "VOLUME TIMESTAMP", stamp(v.Timestamp))
	field(tb, "PREVIOUS UNLOAD", stamp(v.PrevUnload))
	field(tb, "LAST UPDATE", stamp(v.LastUpdate))
	field(tb, "CHECK TIMESTAMP", yesNo(v.CheckTimestamp))
	field(tb, "LOCKED", yesNo(v.Locked))
	field(tb, "OWNER", strings.TrimSpace(v.OwnerNode+" "+v.OwnerUser))
	field(tb, "AUTH (R/W/C)", v.Auth)
	field(tb, "COMPRESSION", v.Compression)
	field(tb, "MAX SIZE", v.MaxSize)
	field(tb, "DATA SIZE", v.DataSize)
	field(tb, "STORAGE SIZE", v.StorageSize)
	field(tb, "IND", orDash(v.IndexPath))
	field(tb, "DAT", orDash(v.DataPath))
	field(tb, "MEDIA KEY NAME", orDash(v.MediaKeyName))
	if v.Comment != "" {
		field(tb, "COMMENT", v.Comment)
	}
	tb.row()
	return tb.flush()
}

func infoTapeFile(ctx context.Context, w io.Writer, r store.Reader, fileID string, gen int) error {
	info, err := inspect.TapeFile(ctx, r, fileID, gen)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "TAPEFILE %s\n", cell(fileID))
	for _, c := range info.Configs {
		fmt.Fprintf(w, "  FILECAT %s LASTGENERATION %d\n", cell(c.Filecat), c.LastGeneration)
	}
	fmt.Fprintln(w)
	tb := newTable(w, 0, "FILECAT", "GEN", "VERSION", "COPY", "STATUS", "CREATED", "EXPIRATION", "VOLCAT", "POOL", "VOLSETID", "VOLUMES", "DISKFILES")
	for _, f := range info.Copies {
		labels := make([]string, len(f.Volumes))
		for i, v := range f.Volumes {
			labels[i] = v.Volser
		}
		tb.row(f.Filecat, f.Generation, f.Version, fmt.Sprintf("%d.%d", f.PhysicalCopy, f.LogicalCopy), f.Status,
			stamp(f.Created), expiration(f.Expiration), f.Volcat, f.Pool, f.VolsetID, orDash(strings.Join(labels, ",")), f.DiskFiles)
	}
	return tb.flush()
}

func infoDiskFile(ctx context.Context, w io.Writer, r store.Reader, name string) error {
	info, err := inspect.DiskFile(ctx, r, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "DISKFILE %s\n\n", cell(name))
	tb := newTable(w, 0, "FILECAT", "FILEID", "GEN", "VERSION", "COPY", "TIMEDUMPED", "STATUS", "EOF", "TYPE", "CODE", "FLAGS", "VOLUMES")
	for _, d := range info.Dumps {
		labels := make([]string, len(d.Volumes))
		for i, v := range d.Volumes {
			labels[i] = v.Volser
		}
		tb.row(d.Filecat, d.FileID, d.Generation, d.Version, fmt.Sprintf("%d.%d", d.PhysicalCopy, d.LogicalCopy),
			stamp(d.TimeDumped), d.Status, d.EOF, d.FileType, d.FileCode, diskFlags(&d.DiskFile), orDash(strings.Join(labels, ",")))
	}
	return tb.flush()
}

// field prints one indented name-value line of tb.
func field(tb *table, name string, v any) { tb.row("  "+name, v) }

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
