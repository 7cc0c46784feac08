package keystore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keytest"
)

var master = bytes.Repeat([]byte{7}, 32)

func open(t *testing.T, path string, key []byte) *Store {
	t.Helper()
	s, err := Open(path, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSuite(t *testing.T) {
	keytest.Run(t, func(t *testing.T) keys.Manager { return open(t, filepath.Join(t.TempDir(), "keys.log"), master) })
}

func TestReopenKeepsKeysAndStates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.log")
	s := open(t, path, master)
	a, _ := s.Create(ctx, "BPPRIM01", "K1")
	b, _ := s.Create(ctx, "BPPRIM01", "K2")
	if err := s.Deactivate(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	material, _ := s.Material(ctx, a.ID)
	s.Close()

	again := open(t, path, master)
	found, err := again.Lookup(ctx, "BPPRIM01", []string{"K1", "K2"})
	if err != nil || found["K1"] != a || found["K2"].State != keys.Deactivated {
		t.Fatalf("after reopening: %+v, %v", found, err)
	}
	if got, _ := again.Material(ctx, a.ID); !bytes.Equal(got, material) {
		t.Error("material changed across reopening")
	}
}

func TestMaterialSealedAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.log")
	s := open(t, path, master)
	material := bytes.Repeat([]byte{0x3c, 0xc3}, 16)
	if _, err := s.Register(ctx, "BPPRIM01", "K1", material); err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(path)
	for _, form := range [][]byte{material, []byte(hex.EncodeToString(material)), []byte(base64.StdEncoding.EncodeToString(material))} {
		if bytes.Contains(file, form) {
			t.Fatalf("the keystore file holds the material in clear (%q)", form[:8])
		}
	}
}

func TestRefusesWrongKeyAndEdits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.log")
	s := open(t, path, master)
	k, _ := s.Create(ctx, "BPPRIM01", "K1")
	if err := s.Deactivate(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	s.Close()

	var ce *keys.ConfigError
	if _, err := Open(path, bytes.Repeat([]byte{8}, 32)); !errors.As(err, &ce) || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), path) {
		t.Errorf("wrong master key: %v", err)
	}
	// Reactivating the key by editing its state line is detected.
	file, _ := os.ReadFile(path)
	edited := bytes.Replace(file, []byte(`"state":"Deactivated"`), []byte(`"state":"Active"`), 1)
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, master); !errors.As(err, &ce) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("edited state line: %v", err)
	}
	if _, err := Open(path, []byte("short")); !errors.As(err, &ce) {
		t.Errorf("short master key: %v", err)
	}
}

// A worker and the simulator share one keystore file: each sees the keys
// and states the other appends, and a name taken by one is refused to the
// other.
func TestSharedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.log")
	worker, sim := open(t, path, master), open(t, path, master)
	k, err := sim.Create(ctx, "BPPRIM01", "K1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := keys.Find(ctx, worker, "BPPRIM01", "K1"); err != nil || got != k {
		t.Fatalf("the other process sees %+v, %v; want %+v", got, err, k)
	}
	if _, err := worker.Create(ctx, "BPPRIM01", "K1"); err == nil {
		t.Error("the other process created a second K1")
	}
	if err := worker.Deactivate(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := keys.Find(ctx, sim, "BPPRIM01", "K1"); got.State != keys.Deactivated {
		t.Errorf("state seen by the first process: %s", got.State)
	}
	if err := sim.Activate(ctx, k.ID); err == nil {
		t.Error("a key deactivated by the other process was activated again")
	}
}

// A line cut short (a crash in the middle of a write by a process that
// did not hold the lock) is refused naming its line.
func TestTruncatedLine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.log")
	s := open(t, path, master)
	s.Create(ctx, "BPPRIM01", "K1")
	s.Close()
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append(b, b[:20]...), 0o600)
	_, err := Open(path, master)
	var ce *keys.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "line 2: truncated") {
		t.Fatalf("got %v, want a configuration error naming line 2", err)
	}
}
