package volimage

import (
	"crypto/cipher"
	"crypto/sha256"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

// batchSize is how many stored bytes Check reads at once: large reads keep
// the file sequential, and a batch is what one worker verifies.
const batchSize = 1 << 20

// Check verifies every block of the image as it is stored, without
// decompressing it: the GCM tag under key for an encrypted volume (a block
// whose tag fails is then told apart as damaged, by its checksum, or under
// another key), the SHA-256 of the index otherwise. This is what proves a
// volume restorable byte for byte; FileAt then proves its labels. The data
// file is read sequentially in batches that all CPUs verify; the fault
// returned is the first in block order.
func (im *Image) Check(key []byte) error {
	if _, err := im.aead(key); err != nil {
		return err
	}
	f, err := im.openData()
	if err != nil {
		return err
	}
	defer f.Close()

	type batch struct {
		first, n int
		buf      []byte
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan batch, workers)
	free := make(chan []byte, 2*workers)
	for range cap(free) {
		free <- nil
	}
	var (
		mu      sync.Mutex
		first   *Error // the fault of the lowest block so far
		failed  atomic.Int64
		wg      sync.WaitGroup
		reportE = func(e *Error) {
			mu.Lock()
			if first == nil || e.Block < first.Block {
				first = e
			}
			failed.Store(int64(first.Block))
			mu.Unlock()
		}
	)
	failed.Store(-1)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _ := im.verifier(key) // the key was checked above
			for b := range jobs {
				off := im.table[b.first].offset
				for i := b.first; i < b.first+b.n; i++ {
					e := im.table[i]
					if _, err := v.open(i, b.buf[e.offset-off:e.offset-off+uint64(e.stored)]); err != nil {
						reportE(err)
						break
					}
				}
				free <- b.buf
			}
		}()
	}
	var readErr *Error
	for i := 0; i < len(im.table); {
		if failed.Load() >= 0 {
			break // a fault is found; later blocks cannot come first
		}
		n, size := 0, uint64(0)
		for i+n < len(im.table) && (n == 0 || size+uint64(im.table[i+n].stored) <= batchSize) {
			size += uint64(im.table[i+n].stored)
			n++
		}
		buf := grow(<-free, int(size))
		if got, err := io.ReadFull(f, buf); err != nil {
			// The file changed since Open: name the first incomplete block.
			at := im.table[i].offset + uint64(got)
			k := i
			for k < i+n-1 && im.table[k].offset+uint64(im.table[k].stored) <= at {
				k++
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				readErr = fault(im.Header.Label, FileData, k, Truncated, "data file ends inside the block")
			} else {
				readErr = fault(im.Header.Label, FileData, k, Corrupt, "read: %v", err)
			}
			break
		}
		jobs <- batch{first: i, n: n, buf: buf}
		i += n
	}
	close(jobs)
	wg.Wait()
	if readErr != nil {
		reportE(readErr)
	}
	if first != nil {
		return first
	}
	return nil
}

// verifier opens stored blocks: one per reader, since a GCM is not
// documented as safe for concurrent use.
type verifier struct {
	im      *Image
	gcm     cipher.AEAD
	scratch []byte
}

func (im *Image) verifier(key []byte) (*verifier, error) {
	gcm, err := im.aead(key)
	if err != nil {
		return nil, err
	}
	return &verifier{im: im, gcm: gcm}, nil
}

// open verifies block i's stored bytes and returns its payload: the
// decrypted bytes of an encrypted block (valid until the next call), the
// stored bytes otherwise. The tag of an encrypted block proves it more
// strongly than the checksum, which is computed only to tell damage from a
// wrong key when the tag fails.
func (v *verifier) open(i int, stored []byte) ([]byte, *Error) {
	e := v.im.table[i]
	bad := func(kind Kind, format string, args ...any) *Error {
		return fault(v.im.Header.Label, FileData, i, kind, format, args...)
	}
	corrupt := func() bool { return sha256.Sum256(stored) != e.sum }
	if v.gcm == nil {
		if corrupt() {
			return nil, bad(Corrupt, "checksum of the stored block does not match the index")
		}
		return stored, nil
	}
	aad := blockAAD(v.im.Header, i, i == len(v.im.table)-1, e.codec, int(e.plain))
	v.scratch = grow(v.scratch, len(stored))
	out, err := v.gcm.Open(v.scratch[:0], stored[:nonceSize], stored[nonceSize:], aad)
	if err != nil {
		if corrupt() {
			return nil, bad(Corrupt, "checksum of the stored block does not match the index")
		}
		return nil, bad(Decrypt, "GCM tag does not verify under key %s: wrong key, or a block moved", v.im.Header.MediaKeyName)
	}
	return out, nil
}
