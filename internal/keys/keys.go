// Package keys is what catsync needs of a key manager: find the key of an
// encrypted volume by its media key name within a BackPak id, read its
// state, algorithm and length, and a fingerprint that proves two key
// managers hold the same material without the material leaving them. The
// restore test fetches material to decrypt in memory; the simulator creates,
// registers, activates and deactivates keys. catsync never copies key
// material from one key manager to another: replication is the key
// manager's own job.
package keys

import (
	"context"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"fmt"
)

// State is a key's lifecycle state, as KMIP names it.
type State string

const (
	PreActive   State = "PreActive"
	Active      State = "Active"
	Deactivated State = "Deactivated"
	Compromised State = "Compromised"
	Destroyed   State = "Destroyed"
)

// Info describes a key, never its material.
type Info struct {
	ID          string `json:"id"`    // the key manager's identifier
	Group       string `json:"group"` // the BackPak id the key is filed under
	Name        string `json:"name"`  // the media key name
	State       State  `json:"state"`
	Algorithm   string `json:"algorithm"` // AES
	Length      int    `json:"length"`    // bits
	Fingerprint string `json:"fingerprint"`
}

// ErrNotFound is returned when no key has the name within the group.
var ErrNotFound = errors.New("key not found")

// ConfigError is a key manager that cannot be used as configured (a TLS or
// authentication failure, a bad master key): retrying cannot help.
type ConfigError struct {
	Endpoint string
	Err      error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("key manager %s: %v", e.Endpoint, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

// Manager is a key manager as catsync uses it.
type Manager interface {
	// Lookup finds the keys named names within group, with their
	// fingerprints, in as few round trips as the key manager allows.
	// Names without a key are absent from the result.
	Lookup(ctx context.Context, group string, names []string) (map[string]Info, error)
	// Material returns a key's material, for decryption in memory.
	Material(ctx context.Context, id string) ([]byte, error)
	// Create generates an AES-256 key named name within group, active.
	Create(ctx context.Context, group, name string) (Info, error)
	// Register stores given material under name within group, active.
	Register(ctx context.Context, group, name string, material []byte) (Info, error)
	// Activate and Deactivate move a key to Active, or out of it.
	Activate(ctx context.Context, id string) error
	Deactivate(ctx context.Context, id string) error
	Close() error
}

// Find looks up one key.
func Find(ctx context.Context, m Manager, group, name string) (Info, error) {
	found, err := m.Lookup(ctx, group, []string{name})
	if err != nil {
		return Info{}, err
	}
	info, ok := found[name]
	if !ok {
		return Info{}, fmt.Errorf("%s in %s: %w", name, group, ErrNotFound)
	}
	return info, nil
}

// CheckValue is the key check value of AES material: the first 8 bytes of
// the encryption of a zero block, hex-encoded. A KMIP server computes the
// same with an Encrypt in ECB mode, so fingerprints compare across key
// managers of either kind.
func CheckValue(material []byte) (string, error) {
	c, err := aes.NewCipher(material)
	if err != nil {
		return "", err
	}
	var block [aes.BlockSize]byte
	c.Encrypt(block[:], block[:])
	return "kcv:" + hex.EncodeToString(block[:8]), nil
}
