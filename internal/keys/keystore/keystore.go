// Package keystore is the embedded key manager: keys in one file, their
// material sealed with AES-256-GCM under a master key given in the
// environment, every line authenticated so that an edited file is refused.
//
// The file is an append-only log of JSON lines, each followed by a tab and
// its HMAC-SHA256: a "put" line adds a key (material sealed, bound to its
// id, group and name), a "state" line changes a key's state. Opening
// replays the log; a change appends one line and syncs, so creating many
// keys costs in proportion to the keys created. One process owns a
// keystore file at a time.
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
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/catsync/catsync/internal/keys"
)

// MasterKeyEnv names the variable holding the master key: 32 bytes,
// base64-encoded.
const MasterKeyEnv = "CATSYNC_KEYSTORE_MASTER_KEY"

// MasterKey reads the master key from the environment.
func MasterKey() ([]byte, error) {
	v := os.Getenv(MasterKeyEnv)
	if v == "" {
		return nil, fmt.Errorf("%s is not set: give the keystore's master key, 32 bytes in base64", MasterKeyEnv)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("%s: want 32 bytes in base64", MasterKeyEnv)
	}
	return k, nil
}

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
	if err := s.replay(); err != nil {
		s.f.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) replay() error {
	sc := bufio.NewScanner(s.f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		bad := func(why string) error {
			return &keys.ConfigError{Endpoint: s.path, Err: fmt.Errorf("line %d: %s (wrong master key, or the file was edited)", n, why)}
		}
		body, sum, ok := bytes.Cut(sc.Bytes(), []byte("\t"))
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
	}
	if err := sc.Err(); err != nil {
		return &keys.ConfigError{Endpoint: s.path, Err: err}
	}
	return nil
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
	return s.f.Sync()
}

// Lookup implements keys.Manager.
func (s *Store) Lookup(_ context.Context, group string, names []string) (map[string]keys.Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]keys.Info, len(names))
	for _, n := range names {
		if e := s.byName[nameKey(group, n)]; e != nil {
			out[n] = e.Info
		}
	}
	return out, nil
}

// Material implements keys.Manager.
func (s *Store) Material(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil {
		return nil, fmt.Errorf("key %s: %w", id, keys.ErrNotFound)
	}
	return bytes.Clone(e.material), nil
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName[nameKey(group, name)] != nil {
		return keys.Info{}, fmt.Errorf("key %s already exists in %s", name, group)
	}
	e := &entry{Info: keys.Info{ID: hex.EncodeToString(id), Group: group, Name: name, State: keys.Active, Algorithm: "AES",
		Length: len(material) * 8, Fingerprint: fp}, material: bytes.Clone(material)}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return keys.Info{}, err
	}
	info := e.Info
	if err := s.append(line{Op: "put", Key: &info, Nonce: nonce, Sealed: s.aead.Seal(nil, nonce, material, aad(&info))}); err != nil {
		return keys.Info{}, err
	}
	s.add(e)
	return e.Info, nil
}

func (s *Store) setState(id string, st keys.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
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
