package kmip

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/kmip/spec"
	"github.com/catsync/catsync/internal/kmip/ttlv"
)

// Manager is a KMIP server as a keys.Manager. A key's media key name is its
// KMIP Name; the BackPak id it is filed under is its Object Group, so that
// one key manager can hold the keys of several BackPak domains and a
// lookup never crosses from one to another. The fingerprint is the key
// check value the server computes itself: an Encrypt of a zero block in
// ECB mode (PKCS#5 padding adds a second block; the first is AES of the
// zero block, as keys.CheckValue computes it), never the material.
type Manager struct {
	*Client
}

var _ keys.Manager = (*Manager)(nil)

func attr(name string, value ttlv.Item) ttlv.Item {
	value.Tag = spec.TagAttributeValue
	return ttlv.Struct(spec.TagAttribute, ttlv.Text(spec.TagAttributeName, name), value)
}

func nameAttr(name string) ttlv.Item {
	return attr("Name", ttlv.Struct(0, ttlv.Text(spec.TagNameValue, name), ttlv.Enum(spec.TagNameType, spec.NameUninterpreted)))
}

func uid(id string) ttlv.Item { return ttlv.Text(spec.TagUniqueIdentifier, id) }

// do sends calls in batches of the configured size; fn gets each result.
func (m *Manager) do(ctx context.Context, calls []call, fn func(i int, r result) error) error {
	for start := 0; start < len(calls); start += m.cfg.Batch {
		end := min(start+m.cfg.Batch, len(calls))
		rs, err := m.roundTrip(ctx, calls[start:end])
		if err != nil {
			return err
		}
		for i, r := range rs {
			if err := fn(start+i, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// locate finds the identifiers of names within group, in batches.
func (m *Manager) locate(ctx context.Context, group string, names []string) (map[string]string, error) {
	calls := make([]call, len(names))
	for i, n := range names {
		calls[i] = call{spec.OpLocate, []ttlv.Item{nameAttr(n), attr("Object Group", ttlv.Text(0, group))}}
	}
	ids := map[string]string{}
	err := m.do(ctx, calls, func(i int, r result) error {
		if r.err != nil {
			return r.err
		}
		found := r.payload.All(spec.TagUniqueIdentifier)
		switch len(found) {
		case 0:
		case 1:
			ids[names[i]], _ = found[0].Value.(string)
		default:
			return fmt.Errorf("KMIP server %s holds %d keys named %s in %s", m.cfg.Addr, len(found), names[i], group)
		}
		return nil
	})
	return ids, err
}

var states = map[uint32]keys.State{1: keys.PreActive, 2: keys.Active, 3: keys.Deactivated, 4: keys.Compromised, 5: keys.Destroyed, 6: keys.Destroyed}

// Lookup implements keys.Manager: one batch of Locates, then one of Get
// Attributes and Encrypts for the keys found.
func (m *Manager) Lookup(ctx context.Context, group string, names []string) (map[string]keys.Info, error) {
	ids, err := m.locate(ctx, group, names)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, n := range names {
		if _, ok := ids[n]; ok {
			found = append(found, n)
		}
	}
	calls := make([]call, 0, 2*len(found))
	for _, n := range found {
		calls = append(calls,
			call{spec.OpGetAttributes, []ttlv.Item{uid(ids[n]), ttlv.Text(spec.TagAttributeName, "State"),
				ttlv.Text(spec.TagAttributeName, "Cryptographic Algorithm"), ttlv.Text(spec.TagAttributeName, "Cryptographic Length")}},
			call{spec.OpEncrypt, []ttlv.Item{uid(ids[n]), ttlv.Struct(spec.TagCryptographicParameters, ttlv.Enum(spec.TagBlockCipherMode, spec.ModeECB),
				ttlv.Enum(spec.TagPaddingMethod, spec.PaddingPKCS5), ttlv.Enum(spec.TagCryptographicAlgorithm, spec.AlgorithmAES)),
				ttlv.Bytes(spec.TagData, make([]byte, 16))}})
	}
	out := make(map[string]keys.Info, len(found))
	err = m.do(ctx, calls, func(i int, r result) error {
		n := found[i/2]
		info := out[n]
		info.ID, info.Group, info.Name = ids[n], group, n
		if i%2 == 0 {
			if r.err != nil {
				return r.err
			}
			for _, a := range r.payload.All(spec.TagAttribute) {
				name, _ := a.Find(spec.TagAttributeName)
				v, _ := a.Find(spec.TagAttributeValue)
				switch name.Value {
				case "State":
					x, _ := v.Value.(uint32)
					info.State = states[x]
				case "Cryptographic Algorithm":
					if v.Value == uint32(spec.AlgorithmAES) {
						info.Algorithm = "AES"
					} else {
						info.Algorithm = fmt.Sprint(v.Value)
					}
				case "Cryptographic Length":
					x, _ := v.Value.(int32)
					info.Length = int(x)
				}
			}
		} else if r.err == nil {
			d, _ := r.payload.Find(spec.TagData)
			if ct, ok := d.Value.([]byte); ok && len(ct) >= 8 {
				info.Fingerprint = "kcv:" + hex.EncodeToString(ct[:8])
			}
		}
		// A key that is not active cannot encrypt: it has no fingerprint.
		out[n] = info
		return nil
	})
	return out, err
}

// notFound turns the server's Item Not Found into keys.ErrNotFound.
func notFound(id string, err error) error {
	var re *ResultError
	if errors.As(err, &re) && re.Reason == spec.ReasonItemNotFound {
		return fmt.Errorf("key %s: %w (%s)", id, keys.ErrNotFound, re.Message)
	}
	return err
}

func (m *Manager) one(ctx context.Context, c call) (ttlv.Item, error) {
	rs, err := m.roundTrip(ctx, []call{c})
	if err != nil {
		return ttlv.Item{}, err
	}
	if rs[0].err != nil {
		return ttlv.Item{}, rs[0].err
	}
	return rs[0].payload, nil
}

// Material implements keys.Manager.
func (m *Manager) Material(ctx context.Context, id string) ([]byte, error) {
	p, err := m.one(ctx, call{spec.OpGet, []ttlv.Item{uid(id)}})
	if err != nil {
		return nil, notFound(id, err)
	}
	sk, _ := p.Find(spec.TagSymmetricKey)
	kb, _ := sk.Find(spec.TagKeyBlock)
	kv, _ := kb.Find(spec.TagKeyValue)
	km, _ := kv.Find(spec.TagKeyMaterial)
	material, ok := km.Value.([]byte)
	if !ok {
		return nil, fmt.Errorf("KMIP server %s: key %s has no raw key material", m.cfg.Addr, id)
	}
	return material, nil
}

// Create implements keys.Manager: Create, then Activate.
func (m *Manager) Create(ctx context.Context, group, name string) (keys.Info, error) {
	return m.store(ctx, group, name, call{spec.OpCreate, []ttlv.Item{ttlv.Enum(spec.TagObjectType, spec.ObjectSymmetricKey),
		ttlv.Struct(spec.TagTemplateAttribute, attr("Cryptographic Algorithm", ttlv.Enum(0, spec.AlgorithmAES)),
			attr("Cryptographic Length", ttlv.Int(0, 256)), attr("Cryptographic Usage Mask", ttlv.Int(0, spec.UsageEncryptDecrypt)),
			nameAttr(name), attr("Object Group", ttlv.Text(0, group)))}})
}

// Register implements keys.Manager.
func (m *Manager) Register(ctx context.Context, group, name string, material []byte) (keys.Info, error) {
	return m.store(ctx, group, name, call{spec.OpRegister, []ttlv.Item{ttlv.Enum(spec.TagObjectType, spec.ObjectSymmetricKey),
		ttlv.Struct(spec.TagTemplateAttribute, attr("Cryptographic Usage Mask", ttlv.Int(0, spec.UsageEncryptDecrypt)),
			nameAttr(name), attr("Object Group", ttlv.Text(0, group))),
		ttlv.Struct(spec.TagSymmetricKey, ttlv.Struct(spec.TagKeyBlock, ttlv.Enum(spec.TagKeyFormatType, spec.FormatRaw),
			ttlv.Struct(spec.TagKeyValue, ttlv.Bytes(spec.TagKeyMaterial, material)),
			ttlv.Enum(spec.TagCryptographicAlgorithm, spec.AlgorithmAES), ttlv.Int(spec.TagCryptographicLength, int32(len(material)*8))))}})
}

func (m *Manager) store(ctx context.Context, group, name string, c call) (keys.Info, error) {
	if group == "" || name == "" {
		return keys.Info{}, errors.New("a key needs a group (BackPak id) and a name")
	}
	ids, err := m.locate(ctx, group, []string{name})
	if err != nil {
		return keys.Info{}, err
	}
	if _, ok := ids[name]; ok {
		return keys.Info{}, fmt.Errorf("key %s already exists in %s", name, group)
	}
	p, err := m.one(ctx, c)
	if err != nil {
		return keys.Info{}, fmt.Errorf("key %s in %s: %w", name, group, err)
	}
	id, _ := p.Find(spec.TagUniqueIdentifier)
	if _, err := m.one(ctx, call{spec.OpActivate, []ttlv.Item{uid(fmt.Sprint(id.Value))}}); err != nil {
		return keys.Info{}, fmt.Errorf("activate key %s in %s: %w", name, group, err)
	}
	return keys.Find(ctx, m, group, name)
}

// Activate implements keys.Manager; an active key stays so.
func (m *Manager) Activate(ctx context.Context, id string) error {
	state, err := m.state(ctx, id)
	if err != nil || state == keys.Active {
		return err
	}
	_, err = m.one(ctx, call{spec.OpActivate, []ttlv.Item{uid(id)}})
	return notFound(id, err)
}

// Deactivate implements keys.Manager: a Revoke for cessation of operation.
// A key already out of service stays so (a second Revoke is refused).
func (m *Manager) Deactivate(ctx context.Context, id string) error {
	state, err := m.state(ctx, id)
	if err != nil || state != keys.Active && state != keys.PreActive {
		return err
	}
	_, err = m.one(ctx, call{spec.OpRevoke, []ttlv.Item{uid(id), ttlv.Struct(spec.TagRevocationReason, ttlv.Enum(spec.TagRevocationReasonCode, spec.RevokeCessation))}})
	return notFound(id, err)
}

func (m *Manager) state(ctx context.Context, id string) (keys.State, error) {
	p, err := m.one(ctx, call{spec.OpGetAttributes, []ttlv.Item{uid(id), ttlv.Text(spec.TagAttributeName, "State")}})
	if err != nil {
		return "", notFound(id, err)
	}
	a, _ := p.Find(spec.TagAttribute)
	v, _ := a.Find(spec.TagAttributeValue)
	x, _ := v.Value.(uint32)
	return states[x], nil
}
