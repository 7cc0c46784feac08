// Package keystore is the embedded key manager: keys in one file, their
// material sealed with AES-256-GCM under a master key the caller gives
// (internal/config reads it), every line authenticated so that an edited
// file is refused.
//
// The file is an append-only log of JSON lines, each followed by a tab and
// its HMAC-SHA256: a "put" line adds a key (material sealed, bound to its
// id, group and name), a "state" line changes a key's state. Opening
// replays the log; a change appends one line and syncs, so creating many
// keys costs in proportion to the keys created. Several processes may share
// a keystore file (a worker and the simulator, say): every operation holds
// a lock on the file and first reads the lines others appended since.
package keystore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/catsync/catsync/internal/keys"
)

type entry struct {
	keys.Info
	material []byte
}

// Store is an open keystore file.
type Store struct {
	path   string
	aead   cipher.AEAD
	macKey []byte

	mu     sync.Mutex
	f      *os.File
	off    int64 // bytes of the file replayed so far
	lines  int
	byID   map[string]*entry
	byName map[string]*entry // group \x00 name
}

// line is one log record.
type line struct {
	Op     string     `json:"op"` // put or state
	Key    *keys.Info `json:"key,omitempty"`
	Nonce  []byte     `json:"nonce,omitempty"`
	Sealed []byte     `json:"sealed,omitempty"`
	ID     string     `json:"id,omitempty"`
	State  keys.State `json:"state,omitempty"`
}

func derive(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Open opens or creates the keystore at path under master.
func Open(path string, master []byte) (*Store, error) {
	if len(master) != 32 {
		return nil, &keys.ConfigError{Endpoint: path, Err: fmt.Errorf("master key of %d bytes, want 32", len(master))}
	}
	block, err := aes.NewCipher(derive(master, "catsync keystore sealing"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, aead: aead, macKey: derive(master, "catsync keystore log"),
		byID: map[string]*entry{}, byName: map[string]*entry{}}
	if s.f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		return nil, &keys.ConfigError{Endpoint: path, Err: err}
	}
	if err := s.locked(false, func() error { return nil }); err != nil {
		s.f.Close()
		return nil, err
	}
	return s, nil
}

// locked runs fn holding the file lock (exclusive when it writes) and the
// mutex, after replaying what other processes appended.
func (s *Store) locked(write bool, fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	how := syscall.LOCK_SH
	if write {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(s.f.Fd()), how); err != nil {
		return &keys.ConfigError{Endpoint: s.path, Err: fmt.Errorf("lock: %w", err)}
	}
	defer syscall.Flock(int(s.f.Fd()), syscall.LOCK_UN)
	if err := s.replay(); err != nil {
		return err
	}
	return fn()
}

// replay applies the lines after s.off. Writers hold the lock for a whole
// line, so a line without its end is damage, not a write in progress.
func (s *Store) replay() error {
	br := bufio.NewReader(io.NewSectionReader(s.f, s.off, 1<<62))
	for {
		raw, err := br.ReadBytes('\n')
		if err == io.EOF && len(raw) == 0 {
			return nil
		}
		n := s.lines + 1
		bad := func(why string) error {
			return &keys.ConfigError{Endpoint: s.path, Err: fmt.Errorf("line %d: %s (wrong master key, or the file was edited)", n, why)}
		}
		if err == io.EOF {
			return bad("truncated")
		}
		if err != nil {
			return &keys.ConfigError{Endpoint: s.path, Err: err}
		}
		body, sum, ok := bytes.Cut(raw[:len(raw)-1], []byte("\t"))
		want, err := hex.DecodeString(string(sum))
		if !ok || err != nil || !hmac.Equal(want, s.mac(body)) {
			return bad("authentication failed")
		}
		var l line
		if err := json.Unmarshal(body, &l); err != nil {
			return bad(err.Error())
		}
		switch {
		case l.Op == "put" && l.Key != nil:
			material, err := s.aead.Open(nil, l.Nonce, l.Sealed, aad(l.Key))
			if err != nil {
				return bad("key material does not unseal")
			}
			s.add(&entry{Info: *l.Key, material: material})
		case l.Op == "state" && s.byID[l.ID] != nil:
			s.byID[l.ID].State = l.State
		default:
			return bad("unknown record")
		}
		s.off += int64(len(raw))
		s.lines++
	}
}

func (s *Store) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.macKey)
	m.Write(b)
	return m.Sum(nil)
}

// aad binds sealed material to the key it belongs to.
func aad(k *keys.Info) []byte { return []byte(k.ID + "\x00" + k.Group + "\x00" + k.Name) }

func nameKey(group, name string) string { return group + "\x00" + name }

func (s *Store) add(e *entry) {
	s.byID[e.ID] = e
	s.byName[nameKey(e.Group, e.Name)] = e
}

func (s *Store) append(l line) error {
	body, err := json.Marshal(l)
	if err != nil {
		return err
	}
	buf := append(body, '\t')
	buf = append(buf, hex.EncodeToString(s.mac(body))...)
	buf = append(buf, '\n')
	if _, err := s.f.Write(buf); err != nil {
		return err
	}
	s.off += int64(len(buf))
	s.lines++
	return s.f.Sync()
}

// Lookup implements keys.Manager.
func (s *Store) Lookup(_ context.Context, group string, names []string) (map[string]keys.Info, error) {
	out := make(map[string]keys.Info, len(names))
	return out, s.locked(false, func() error {
		for _, n := range names {
			if e := s.byName[nameKey(group, n)]; e != nil {
				out[n] = e.Info
			}
		}
		return nil
	})
}

// Material implements keys.Manager.
func (s *Store) Material(_ context.Context, id string) ([]byte, error) {
	var material []byte
	err := s.locked(false, func() error {
		e := s.byID[id]
		if e == nil {
			return fmt.Errorf("key %s: %w", id, keys.ErrNotFound)
		}
		material = bytes.Clone(e.material)
		return nil
	})
	return material, err
}

// Create implements keys.Manager.
func (s *Store) Create(ctx context.Context, group, name string) (keys.Info, error) {
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		return keys.Info{}, err
	}
	return s.Register(ctx, group, name, material)
}

// Register implements keys.Manager.
func (s *Store) Register(_ context.Context, group, name string, material []byte) (keys.Info, error) {
	if group == "" || name == "" {
		return keys.Info{}, errors.New("a key needs a group (BackPak id) and a name")
	}
	fp, err := keys.CheckValue(material)
	if err != nil {
		return keys.Info{}, fmt.Errorf("key %s: %w", name, err)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return keys.Info{}, err
	}
	e := &entry{Info: keys.Info{ID: hex.EncodeToString(id), Group: group, Name: name, State: keys.Active, Algorithm: "AES",
		Length: len(material) * 8, Fingerprint: fp}, material: bytes.Clone(material)}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return keys.Info{}, err
	}
	err = s.locked(true, func() error {
		if s.byName[nameKey(group, name)] != nil {
			return fmt.Errorf("key %s already exists in %s", name, group)
		}
		info := e.Info
		if err := s.append(line{Op: "put", Key: &info, Nonce: nonce, Sealed: s.aead.Seal(nil, nonce, material, aad(&info))}); err != nil {
			return err
		}
		s.add(e)
		return nil
	})
	return e.Info, err
}

func (s *Store) setState(id string, st keys.State) error {
	return s.locked(true, func() error { return s.moveTo(id, st) })
}

func (s *Store) moveTo(id string, st keys.State) error {
	e := s.byID[id]
	if e == nil {
		return fmt.Errorf("key %s: %w", id, keys.ErrNotFound)
	}
	// The KMIP lifecycle: PreActive -> Active -> Deactivated, no way back.
	if st == keys.Active && e.State != keys.PreActive && e.State != keys.Active {
		return fmt.Errorf("key %s (%s) is %s: it cannot be activated again", e.Name, id, e.State)
	}
	if e.State == st {
		return nil
	}
	if err := s.append(line{Op: "state", ID: id, State: st}); err != nil {
		return err
	}
	e.State = st
	return nil
}

// Activate implements keys.Manager.
func (s *Store) Activate(_ context.Context, id string) error { return s.setState(id, keys.Active) }

// Deactivate implements keys.Manager.
func (s *Store) Deactivate(_ context.Context, id string) error {
	return s.setState(id, keys.Deactivated)
}

// Close implements keys.Manager.
func (s *Store) Close() error { return s.f.Close() }
