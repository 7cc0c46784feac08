package volimage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
)

// manyFiles is a multi-file volume whose directories span tape blocks and
// image blocks: one tape file with 400 disk files, then small ones.
func manyFiles() []TapeFile {
	files := sampleFiles(4, 900)
	for j := range 400 {
		files[1].Disk = append(files[1].Disk, SyntheticEntry(fmt.Sprintf("\\PRIM.$DATA%d.OPER.BIG%d", j%7, j), int64(j)))
	}
	files[3].Disk = nil
	return files
}

// Every tape file is found by its LBA, which is where NextLabelLBA says
// DSM/TC records it, and FileAt reads what the whole stream's read reads.
func TestLocate(t *testing.T) {
	for _, c := range []struct {
		name    string
		keyName string
		comp    catalog.Compression
		content bool
		block   int
	}{
		{"directories only", "", catalog.CompressZlib, false, 1024},
		{"content", "", catalog.CompressZlib, true, 4096},
		{"encrypted", "K_E00001", catalog.CompressZlib, false, MinBlockSize},
		{"encrypted content uncompressed", "K_E00001", catalog.CompressNone, true, DefaultBlockSize},
	} {
		t.Run(c.name, func(t *testing.T) {
			const L = "E00001"
			dir := t.TempDir()
			var key []byte
			if c.keyName != "" {
				key = testKey(4)
			}
			files := manyFiles()
			if err := WriteWith(dir, header(L, c.keyName, c.comp), key, files, Options{BlockSize: c.block, Content: c.content}); err != nil {
				t.Fatal(err)
			}
			im, got, err := readFiles(t, dir, L, key)
			if err != nil {
				t.Fatal(err)
			}
			sameFiles(t, got, files)
			if err := im.Check(key); err != nil {
				t.Fatal(err)
			}
			for k, f := range got {
				if want := NextLabelLBA(files[:k], c.content); f.LBA != want {
					t.Fatalf("tape file %d: HDR1 read at LBA %d, NextLabelLBA says %d", k+1, f.LBA, want)
				}
				at, err := im.FileAt(key, f.LBA)
				if err != nil {
					t.Fatalf("tape file %d at LBA %d: %v", k+1, f.LBA, err)
				}
				sameFiles(t, []TapeFile{at}, files[k:k+1])
				if at.LBA != f.LBA {
					t.Fatalf("FileAt(%d) says LBA %d", f.LBA, at.LBA)
				}
				_, err = im.FileAt(key, f.LBA+1)
				wantFault(t, err, L, FileIndex, -1, NotFound)
			}
		})
	}
}

// The locate table lying about a file is caught where the reader goes.
func TestLocateTableFaults(t *testing.T) {
	const L = "E00002"
	setup := func(t *testing.T, edit func([]locEntry)) (*Image, []TapeFile) {
		t.Helper()
		dir := t.TempDir()
		files := manyFiles()
		if err := WriteWith(dir, header(L, "", catalog.CompressZlib), nil, files, Options{BlockSize: 1024}); err != nil {
			t.Fatal(err)
		}
		reindex(t, dir, L, L, func(tb []entry) []entry { return tb })
		im, err := Open(dir, L)
		if err != nil {
			t.Fatal(err)
		}
		edit(im.locs)
		return im, files
	}
	t.Run("HDR1 elsewhere", func(t *testing.T) {
		im, _ := setup(t, func(l []locEntry) { l[2].hdrOff += labelItem })
		_, err := im.FileAt(nil, int64(im.locs[2].hdrLBA))
		wantFault(t, err, L, FileData, int(im.locs[2].hdrOff)/1024, Malformed)
	})
	t.Run("EOF1 elsewhere", func(t *testing.T) {
		im, _ := setup(t, func(l []locEntry) { l[1].eofOff -= 4 })
		_, err := im.FileAt(nil, int64(im.locs[1].hdrLBA))
		var e *Error
		if !errors.As(err, &e) || e.Kind != Malformed {
			t.Fatalf("error %v, want malformed", err)
		}
	})
	t.Run("EOF1 LBA", func(t *testing.T) {
		im, _ := setup(t, func(l []locEntry) { l[0].eofLBA++ })
		if _, err := im.FileAt(nil, int64(im.locs[0].hdrLBA)); err == nil {
			t.Fatal("an EOF1 at the wrong LBA was not noticed")
		}
	})

	// Open refuses a table that is not in tape order.
	dir := t.TempDir()
	if err := WriteWith(dir, header(L, "", catalog.CompressZlib), nil, manyFiles(), Options{}); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(raw []byte, locs int){
		"order":  func(raw []byte, locs int) { binary.BigEndian.PutUint64(raw[locs+locSize:], 1) },
		"inside": func(raw []byte, locs int) { binary.BigEndian.PutUint64(raw[locs+16:], 2) },
		"beyond": func(raw []byte, locs int) { binary.BigEndian.PutUint64(raw[locs+3*locSize+24:], 1<<40) },
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			for _, n := range []string{IndexName(L), DataName(L)} {
				b, _ := os.ReadFile(filepath.Join(dir, n))
				os.WriteFile(filepath.Join(d, n), b, 0o644)
			}
			im, err := Open(d, L)
			if err != nil {
				t.Fatal(err)
			}
			locs := len(indexBytes(t, d, L)) - 32 - len(im.locs)*locSize
			path := filepath.Join(d, IndexName(L))
			raw, _ := os.ReadFile(path)
			edit(raw, locs)
			os.WriteFile(path, fixIndex(raw, nil), 0o644)
			_, err = Open(d, L)
			wantFault(t, err, L, FileIndex, -1, Malformed)
		})
	}
}

func indexBytes(t *testing.T, dir, label string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, IndexName(label)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Check proves every block without reading the tape; FileAt reads only the
// blocks of its file's labels and directory. Each finds the faults of what
// it reads, the first in block order.
func TestCheck(t *testing.T) {
	const L = "E00003"
	dat := func(dir string) string { return filepath.Join(dir, DataName(L)) }
	for _, keyName := range []string{"", "K"} {
		t.Run("key "+keyName, func(t *testing.T) {
			dir := t.TempDir()
			var key []byte
			if keyName != "" {
				key = testKey(3)
			}
			// Tape files of four tape blocks each, in small image blocks.
			if err := WriteWith(dir, header(L, keyName, catalog.CompressZlib), key, sampleFiles(2, 40000), Options{BlockSize: 1024, Content: true}); err != nil {
				t.Fatal(err)
			}
			tb := table(t, dir, L)
			im, err := Open(dir, L)
			if err != nil {
				t.Fatal(err)
			}
			if err := im.Check(key); err != nil {
				t.Fatal(err)
			}
			// Damage a block in each file's second tape block: Check names
			// the earlier one; FileAt reads the tape blocks of labels and
			// directory only, and so neither.
			inSecond := func(k int) int { return int(im.locs[k].hdrOff+2*labelItem+markItem+TapeBlockLength+2000) / 1024 }
			early, late := inSecond(0), inSecond(1)
			edit(t, dat(dir), func(b []byte) []byte {
				b[tb[late].offset+uint64(tb[late].stored)-1] ^= 1
				b[tb[early].offset+7] ^= 0x40
				return b
			})
			wantFault(t, im.Check(key), L, FileData, early, Corrupt)
			for _, l := range im.locs {
				if _, err := im.FileAt(key, int64(l.hdrLBA)); err != nil {
					t.Fatalf("FileAt read a block it did not need: %v", err)
				}
			}
			if keyName != "" {
				wantFault(t, im.Check(testKey(77)), L, FileData, 0, Decrypt)
				wantFault(t, im.Check(nil), L, FileData, -1, Decrypt)
			} else {
				wantFault(t, im.Check(testKey(1)), L, FileData, -1, Mismatch)
			}
			// A data file cut after Open: the first block not complete.
			edit(t, dat(dir), func(b []byte) []byte { return b[:tb[2].offset+5] })
			wantFault(t, im.Check(key), L, FileData, 2, Truncated)
		})
	}
	t.Run("blocks swapped with their index entries", func(t *testing.T) {
		dir, key := fixture(t, L, "K", catalog.CompressNone)
		tb := table(t, dir, L)
		edit(t, dat(dir), func(b []byte) []byte {
			a := append([]byte(nil), b[tb[3].offset:tb[3].offset+uint64(tb[3].stored)]...)
			copy(b[tb[3].offset:], b[tb[8].offset:tb[8].offset+uint64(tb[8].stored)])
			copy(b[tb[8].offset:], a)
			return b
		})
		reindex(t, dir, L, L, func(tb []entry) []entry {
			tb[3].sum, tb[8].sum = tb[8].sum, tb[3].sum
			return tb
		})
		im, err := Open(dir, L)
		if err != nil {
			t.Fatal(err)
		}
		wantFault(t, im.Check(key), L, FileData, 3, Decrypt)
	})
}
