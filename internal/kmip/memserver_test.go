package kmip

import (
	"crypto/aes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/kmip/pykmiptest"
	"github.com/catsync/catsync/internal/kmip/ttlv"
)

// memServer is a KMIP server held in memory, over mutual TLS: the
// operations this client sends, with PyKMIP's answers, and an index by
// name and Object Group so that a Locate costs O(1). PyKMIP scans every
// object on Locate, so benchmarks at 100,000 keys need this one; the key
// manager suite runs against both.
type memServer struct {
	addr     string
	pki      *pykmiptest.PKI
	requests atomic.Int64
	latency  time.Duration // added once per request: the network round trip

	mu     sync.Mutex
	objs   map[string]*memKey
	byName map[string][]string // group \x00 name, or name alone -> ids
	next   int
}

type memKey struct {
	id, group, name string
	state           uint32 // KMIP State: 1 PreActive, 2 Active, 3 Deactivated
	material        []byte
}

const (
	tagResponseMessage ttlv.Tag = 0x42007B
	tagTimeStamp       ttlv.Tag = 0x420092
	tagObjectGroup              = "Object Group"

	statusOperationFailed   = 0x01
	reasonWrongLifecycle    = 0x13
	reasonOperationNotFound = 0x05
)

func startMemServer(tb testing.TB) *memServer {
	tb.Helper()
	p := pykmiptest.NewPKI(tb)
	cert := p.Issue(tb, "server", true)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: p.Pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	if err != nil {
		tb.Fatal(err)
	}
	s := &memServer{addr: l.Addr().String(), pki: p, objs: map[string]*memKey{}, byName: map[string][]string{}}
	var wg sync.WaitGroup
	tb.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(conn) }()
		}
	}()
	return s
}

// manager connects a client with a certificate of the server's CA.
func (s *memServer) manager(tb testing.TB, batch int) *Manager {
	tb.Helper()
	cert := s.pki.Issue(tb, fmt.Sprintf("client%d", identities.Add(1)), false)
	m := &Manager{New(Config{Addr: s.addr, Batch: batch,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: s.pki.Pool, MinVersion: tls.VersionTLS12}})}
	tb.Cleanup(func() { m.Close() })
	return m
}

func (s *memServer) serve(conn net.Conn) {
	defer conn.Close()
	for {
		msg, err := ttlv.ReadMessage(conn)
		if err != nil {
			return
		}
		s.requests.Add(1)
		if s.latency > 0 {
			time.Sleep(s.latency)
		}
		resp, err := s.answer(msg)
		if err != nil {
			return
		}
		if _, err := conn.Write(resp); err != nil {
			return
		}
	}
}

func (s *memServer) answer(msg []byte) ([]byte, error) {
	req, err := ttlv.Unmarshal(msg)
	if err != nil {
		return nil, err
	}
	items := req.All(tagBatchItem)
	out := []ttlv.Item{ttlv.Struct(tagResponseHeader,
		ttlv.Struct(tagProtocolVersion, ttlv.Int(tagProtocolVersionMajor, 1), ttlv.Int(tagProtocolVersionMinor, 2)),
		ttlv.Time(tagTimeStamp, time.Now().Truncate(time.Second)), ttlv.Int(tagBatchCount, int32(len(items))))}
	for _, bi := range items {
		op, _ := bi.Find(tagOperation)
		code, _ := op.Value.(uint32)
		payload, _ := bi.Find(tagRequestPayload)
		fields := []ttlv.Item{op}
		if id, ok := bi.Find(tagUniqueBatchItemID); ok {
			fields = append(fields, id)
		}
		result, err := s.do(int(code), payload)
		var fe *failure
		switch {
		case errors.As(err, &fe):
			fields = append(fields, ttlv.Enum(tagResultStatus, statusOperationFailed), ttlv.Enum(tagResultReason, fe.reason),
				ttlv.Text(tagResultMessage, fe.msg))
		case err != nil:
			return nil, err
		default:
			fields = append(fields, ttlv.Enum(tagResultStatus, statusSuccess), ttlv.Struct(tagResponsePayload, result...))
		}
		out = append(out, ttlv.Struct(tagBatchItem, fields...))
	}
	return ttlv.Marshal(ttlv.Struct(tagResponseMessage, out...))
}

// failure is a batch item the server refuses.
type failure struct {
	reason uint32
	msg    string
}

func (f *failure) Error() string { return f.msg }

func attrs(payload ttlv.Item) map[string]ttlv.Item {
	out := map[string]ttlv.Item{}
	all := payload.All(tagAttribute)
	if t, ok := payload.Find(tagTemplateAttribute); ok {
		all = append(all, t.All(tagAttribute)...)
	}
	for _, a := range all {
		n, _ := a.Find(tagAttributeName)
		v, _ := a.Find(tagAttributeValue)
		out[fmt.Sprint(n.Value)] = v
	}
	return out
}

func nameOf(v ttlv.Item) string {
	n, _ := v.Find(tagNameValue)
	s, _ := n.Value.(string)
	return s
}

func (s *memServer) do(op int, payload ttlv.Item) ([]ttlv.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == opLocate {
		a := attrs(payload)
		name, group := nameOf(a["Name"]), fmt.Sprint(a[tagObjectGroup].Value)
		key := name
		if _, ok := a[tagObjectGroup]; ok {
			key = group + "\x00" + name
		}
		var out []ttlv.Item
		for _, id := range s.byName[key] {
			out = append(out, uid(id))
		}
		return out, nil
	}
	if op == opCreate || op == opRegister {
		a := attrs(payload)
		k := &memKey{group: fmt.Sprint(a[tagObjectGroup].Value), name: nameOf(a["Name"]), state: 1}
		if op == opCreate {
			k.material = make([]byte, 32)
			rand.Read(k.material)
		} else {
			sk, _ := payload.Find(tagSymmetricKey)
			kb, _ := sk.Find(tagKeyBlock)
			kv, _ := kb.Find(tagKeyValue)
			km, _ := kv.Find(tagKeyMaterial)
			k.material, _ = km.Value.([]byte)
		}
		s.add(k)
		return []ttlv.Item{uid(k.id)}, nil
	}
	id, _ := payload.Find(tagUniqueIdentifier)
	k := s.objs[fmt.Sprint(id.Value)]
	if k == nil {
		return nil, &failure{resultItemNotFound, fmt.Sprintf("no object with id %v", id.Value)}
	}
	switch op {
	case opGet:
		return []ttlv.Item{ttlv.Enum(tagObjectType, objectSymmetricKey), uid(k.id), ttlv.Struct(tagSymmetricKey,
			ttlv.Struct(tagKeyBlock, ttlv.Enum(tagKeyFormatType, formatRaw), ttlv.Struct(tagKeyValue, ttlv.Bytes(tagKeyMaterial, k.material)),
				ttlv.Enum(tagCryptographicAlgorithm, algorithmAES), ttlv.Int(tagCryptographicLength, int32(len(k.material)*8))))}, nil
	case opGetAttributes:
		out := []ttlv.Item{uid(k.id)}
		for _, n := range payload.All(tagAttributeName) {
			switch n.Value {
			case "State":
				out = append(out, attr("State", ttlv.Enum(0, k.state)))
			case "Cryptographic Algorithm":
				out = append(out, attr("Cryptographic Algorithm", ttlv.Enum(0, algorithmAES)))
			case "Cryptographic Length":
				out = append(out, attr("Cryptographic Length", ttlv.Int(0, int32(len(k.material)*8))))
			}
		}
		return out, nil
	case opActivate:
		if k.state != 1 {
			return nil, &failure{reasonWrongLifecycle, "object is not pre-active"}
		}
		k.state = 2
		return []ttlv.Item{uid(k.id)}, nil
	case opRevoke:
		k.state = 3
		return []ttlv.Item{uid(k.id)}, nil
	case opEncrypt:
		if k.state != 2 {
			return nil, &failure{reasonWrongLifecycle, "object is not active"}
		}
		d, _ := payload.Find(tagData)
		plain, _ := d.Value.([]byte)
		return []ttlv.Item{uid(k.id), ttlv.Bytes(tagData, ecbPKCS5(k.material, plain))}, nil
	}
	return nil, &failure{reasonOperationNotFound, "operation " + strconv.Itoa(op) + " not supported"}
}

func (s *memServer) add(k *memKey) {
	s.next++
	k.id = strconv.Itoa(s.next)
	s.objs[k.id] = k
	s.byName[k.group+"\x00"+k.name] = append(s.byName[k.group+"\x00"+k.name], k.id)
	s.byName[k.name] = append(s.byName[k.name], k.id)
}

// put files an active key directly, to seed large benchmarks quickly.
func (s *memServer) put(group, name string, material []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(&memKey{group: group, name: name, state: 2, material: material})
}

func ecbPKCS5(key, plain []byte) []byte {
	c, _ := aes.NewCipher(key)
	n := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(append([]byte(nil), plain...), make([]byte, n)...)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(n)
	}
	for i := 0; i < len(buf); i += aes.BlockSize {
		c.Encrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
	}
	return buf
}
