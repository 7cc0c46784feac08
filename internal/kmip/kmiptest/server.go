// Package kmiptest is a KMIP 1.2 server held in memory, over mutual TLS,
// for tests and benchmarks: the symmetric key operations catsync's client
// sends (Create, Register, Locate, Get, Get Attributes, Activate, Revoke,
// Encrypt), answered as the specification and PyKMIP answer them. Unlike
// PyKMIP, whose Locate scans every object, it finds a key by Name or Object
// Group through an index, so benchmarks can hold 100,000 keys. Of catsync
// it imports only the ttlv package, so that the kmip package's own tests
// can use it.
package kmiptest

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/kmip/pykmiptest"
	"github.com/catsync/catsync/internal/kmip/spec"
	"github.com/catsync/catsync/internal/kmip/ttlv"
)

var stateNames = map[uint32]string{spec.StatePreActive: "Pre-Active", spec.StateActive: "Active", spec.StateDeactivated: "Deactivated",
	spec.StateCompromised: "Compromised"}

// Server is a running in-memory KMIP server. One namespace holds the
// objects of every client; it is safe for concurrent use.
type Server struct {
	addr     string
	roots    *x509.CertPool
	client   tls.Certificate
	requests atomic.Int64
	latency  atomic.Int64 // a time.Duration

	mu      sync.Mutex
	objects map[string]*object
	order   []*object            // in creation order: what a Locate by neither Name nor Object Group goes through
	index   map[string][]*object // by indexKey of a Name or an Object Group
	conns   map[net.Conn]bool
	closed  bool
}

// attr is one instance of an attribute; its value's tag is Attribute Value.
type attr struct {
	name  string
	value ttlv.Item
}

type object struct {
	id       string
	material []byte
	state    uint32
	attrs    []attr // every attribute but State, in the order Get Attributes lists them
}

// Start starts a server on 127.0.0.1 with a certificate authority of its
// own (the one the PyKMIP tests use), and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	p := pykmiptest.NewPKI(tb)
	srv, client := p.Issue(tb, "kmiptest-server", true), p.Issue(tb, "kmiptest-client", false)
	roots := p.Pool
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srv}, ClientCAs: roots,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{addr: l.Addr().String(), roots: roots, client: client,
		objects: map[string]*object{}, index: map[string][]*object{}, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			if !s.track(conn, true) {
				conn.Close()
				return
			}
			wg.Go(func() { s.serve(conn) })
		}
	})
	tb.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			c.Close() // a client still connected must not keep the test waiting
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// ClientTLS returns a new client configuration: a certificate the server
// accepts, and the server's CA as the only root.
func (s *Server) ClientTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.client}, RootCAs: s.roots, ServerName: "127.0.0.1",
		MinVersion: tls.VersionTLS12}
}

// SetLatency delays the answer to every request message by d, as the
// round trip between two sites would.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Requests is the number of request messages served so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Put files an active AES key of the material under name in group, as a
// Register and an Activate would, without their round trips: benchmarks
// seed 100,000 keys with it. It returns the key's Unique Identifier.
func (s *Server) Put(group, name string, material []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.add(bytes.Clone(material), []attr{
		{"Cryptographic Usage Mask", ttlv.Int(spec.TagAttributeValue, spec.UsageEncrypt|spec.UsageDecrypt)},
		{"Name", ttlv.Struct(spec.TagAttributeValue, ttlv.Text(spec.TagNameValue, name), ttlv.Enum(spec.TagNameType, spec.NameUninterpreted))},
		{"Object Group", ttlv.Text(spec.TagAttributeValue, group)}})
	o.state = spec.StateActive
	o.stamp("Activation Date")
	return o.id
}

func (s *Server) track(c net.Conn, open bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if open && s.closed {
		return false
	}
	if open {
		s.conns[c] = true
	} else {
		delete(s.conns, c)
	}
	return true
}

// serve answers the request messages of one connection in turn, until it
// closes. A failed TLS handshake ends it at the first read.
func (s *Server) serve(conn net.Conn) {
	defer s.track(conn, false)
	defer conn.Close()
	for {
		msg, err := ttlv.ReadMessage(conn)
		if err != nil {
			return // past a header that is not a TTLV structure, there is no message boundary to answer at
		}
		s.requests.Add(1)
		time.Sleep(time.Duration(s.latency.Load()))
		resp, err := ttlv.Marshal(s.answer(msg))
		if err != nil {
			return
		}
		if _, err := conn.Write(resp); err != nil {
			return
		}
	}
}

// failure is a refusal, of a batch item or of the whole request.
type failure struct {
	reason uint32
	msg    string
}

func fail(reason uint32, format string, args ...any) *failure {
	return &failure{reason, fmt.Sprintf(format, args...)}
}

func (f *failure) items() []ttlv.Item {
	return []ttlv.Item{ttlv.Enum(spec.TagResultStatus, spec.StatusOperationFailed), ttlv.Enum(spec.TagResultReason, f.reason),
		ttlv.Text(spec.TagResultMessage, f.msg)}
}

// field is the value of the first item of a structure with the tag, if
// there is one of type T.
func field[T any](it ttlv.Item, tag ttlv.Tag) (T, bool) {
	c, _ := it.Find(tag)
	v, ok := c.Value.(T)
	return v, ok
}

// answer turns a request message into its response message.
func (s *Server) answer(msg []byte) ttlv.Item {
	version := ttlv.Struct(spec.TagProtocolVersion, ttlv.Int(spec.TagProtocolVersionMajor, 1), ttlv.Int(spec.TagProtocolVersionMinor, 2))
	items, f := s.batch(msg, &version)
	if f != nil {
		// The whole request is refused: one batch item, with neither an
		// Operation nor a Unique Batch Item ID.
		items = []ttlv.Item{ttlv.Struct(spec.TagBatchItem, f.items()...)}
	}
	head := ttlv.Struct(spec.TagResponseHeader, version, ttlv.Time(spec.TagTimeStamp, time.Now()), ttlv.Int(spec.TagBatchCount, int32(len(items))))
	return ttlv.Struct(spec.TagResponseMessage, append([]ttlv.Item{head}, items...)...)
}

// batch checks the request header, then runs the batch items in order and
// returns their response batch items; version becomes the request's.
func (s *Server) batch(msg []byte, version *ttlv.Item) ([]ttlv.Item, *failure) {
	req, err := ttlv.Unmarshal(msg)
	if err != nil {
		return nil, fail(spec.ReasonInvalidMessage, "%v", err)
	}
	head, _ := req.Find(spec.TagRequestHeader)
	v, _ := head.Find(spec.TagProtocolVersion)
	major, _ := field[int32](v, spec.TagProtocolVersionMajor)
	minor, _ := field[int32](v, spec.TagProtocolVersionMinor)
	if req.Tag != spec.TagRequestMessage || major != 1 || minor < 0 || minor > 2 {
		return nil, fail(spec.ReasonInvalidMessage, "not a request message of KMIP 1.0 to 1.2 (protocol version %d.%d)", major, minor)
	}
	*version = v
	items := req.All(spec.TagBatchItem)
	if n, _ := field[int32](head, spec.TagBatchCount); int(n) != len(items) || n == 0 {
		return nil, fail(spec.ReasonInvalidMessage, "batch count %d, for %d batch items", n, len(items))
	}
	onError := uint32(spec.BatchStop) // when the header does not say (section 6.13)
	if o, ok := head.Find(spec.TagBatchErrorContinuation); ok {
		onError, _ = o.Value.(uint32)
	}
	if onError != spec.BatchContinue && onError != spec.BatchStop {
		return nil, fail(spec.ReasonFeatureNotSupported, "batch error continuation option %d: only Continue and Stop are supported", onError)
	}
	for _, bi := range items {
		if _, ok := bi.Find(spec.TagUniqueBatchItemID); !ok && len(items) > 1 {
			return nil, fail(spec.ReasonInvalidMessage, "a batch of %d items without a Unique Batch Item ID", len(items))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var placeholder string // the ID Placeholder lives as long as its request
	out := make([]ttlv.Item, 0, len(items))
	for _, bi := range items {
		var fields []ttlv.Item
		op, ok := bi.Find(spec.TagOperation)
		if ok {
			fields = append(fields, op)
		}
		if id, ok := bi.Find(spec.TagUniqueBatchItemID); ok {
			fields = append(fields, id)
		}
		code, _ := op.Value.(uint32)
		payload, _ := bi.Find(spec.TagRequestPayload)
		result, f := s.do(code, payload, &placeholder)
		if f != nil {
			out = append(out, ttlv.Struct(spec.TagBatchItem, append(fields, f.items()...)...))
			if onError == spec.BatchStop {
				break // the items after it are not processed, nor answered
			}
			continue
		}
		out = append(out, ttlv.Struct(spec.TagBatchItem, append(fields, ttlv.Enum(spec.TagResultStatus, spec.StatusSuccess),
			ttlv.Struct(spec.TagResponsePayload, result...))...))
	}
	return out, nil
}

// do runs one operation and returns its response payload.
func (s *Server) do(op uint32, p ttlv.Item, placeholder *string) ([]ttlv.Item, *failure) {
	switch op {
	case spec.OpCreate, spec.OpRegister:
		o, f := s.create(op, p)
		if f != nil {
			return nil, f
		}
		*placeholder = o.id
		if op == spec.OpCreate {
			return []ttlv.Item{ttlv.Enum(spec.TagObjectType, spec.ObjectSymmetricKey), ttlv.Text(spec.TagUniqueIdentifier, o.id)}, nil
		}
		return []ttlv.Item{ttlv.Text(spec.TagUniqueIdentifier, o.id)}, nil
	case spec.OpLocate:
		return s.locate(p)
	case spec.OpGet, spec.OpGetAttributes, spec.OpActivate, spec.OpRevoke, spec.OpEncrypt:
	default:
		return nil, fail(spec.ReasonOperationNotSupported, "operation 0x%02x is not supported", op)
	}
	id := *placeholder // an omitted Unique Identifier names the object the request created
	if u, ok := p.Find(spec.TagUniqueIdentifier); ok {
		if id, ok = u.Value.(string); !ok {
			return nil, fail(spec.ReasonInvalidField, "the Unique Identifier is a %s, not a Text String", u.Type)
		}
	}
	o := s.objects[id]
	if o == nil {
		return nil, fail(spec.ReasonItemNotFound, "no object with Unique Identifier %q", id)
	}
	uid := ttlv.Text(spec.TagUniqueIdentifier, o.id)
	switch op {
	case spec.OpGet:
		if f, ok := p.Find(spec.TagKeyFormatType); ok && f.Value != uint32(spec.FormatRaw) {
			return nil, fail(spec.ReasonKeyFormatTypeNotSupported, "key format type %v: only Raw (1) is supported", f.Value)
		}
		if _, ok := p.Find(spec.TagKeyWrappingSpec); ok {
			return nil, fail(spec.ReasonFeatureNotSupported, "key wrapping is not supported")
		}
		return []ttlv.Item{ttlv.Enum(spec.TagObjectType, spec.ObjectSymmetricKey), uid, ttlv.Struct(spec.TagSymmetricKey,
			ttlv.Struct(spec.TagKeyBlock, ttlv.Enum(spec.TagKeyFormatType, spec.FormatRaw), ttlv.Struct(spec.TagKeyValue, ttlv.Bytes(spec.TagKeyMaterial, o.material)),
				ttlv.Enum(spec.TagCryptographicAlgorithm, spec.AlgorithmAES), ttlv.Int(spec.TagCryptographicLength, int32(8*len(o.material)))))}, nil
	case spec.OpGetAttributes:
		names := p.All(spec.TagAttributeName)
		out := []ttlv.Item{uid}
		seen := map[string]int32{}
		for _, a := range o.all() {
			index := seen[a.name]
			seen[a.name]++
			if len(names) > 0 && !slices.ContainsFunc(names, func(n ttlv.Item) bool { return n.Value == a.name }) {
				continue // an attribute asked for that the object lacks is left out, not an error
			}
			fields := []ttlv.Item{ttlv.Text(spec.TagAttributeName, a.name)}
			if index > 0 {
				fields = append(fields, ttlv.Int(spec.TagAttributeIndex, index))
			}
			out = append(out, ttlv.Struct(spec.TagAttribute, append(fields, a.value)...))
		}
		return out, nil
	case spec.OpActivate:
		if o.state != spec.StatePreActive {
			return nil, fail(spec.ReasonPermissionDenied, "object %s is %s: only a Pre-Active object can be activated", o.id, stateNames[o.state])
		}
		o.state = spec.StateActive
		o.stamp("Activation Date")
		return []ttlv.Item{uid}, nil
	case spec.OpRevoke:
		rr, _ := p.Find(spec.TagRevocationReason)
		code, _ := field[uint32](rr, spec.TagRevocationReasonCode)
		if code < 1 || code > 7 {
			return nil, fail(spec.ReasonInvalidField, "revocation reason code %d", code)
		}
		if code == spec.RevokeKeyCompromise || code == spec.RevokeCACompromise {
			o.state = spec.StateCompromised
			when, ok := p.Find(spec.TagCompromiseOccurrence)
			if !ok {
				when, _ = o.get("Initial Date") // what the specification suggests when the client does not say
			}
			o.set("Compromise Occurrence Date", when)
			o.stamp("Compromise Date")
		} else {
			// Deactivated is reached from Active alone (section 3.22).
			if o.state != spec.StateActive {
				return nil, fail(spec.ReasonIllegalOperation, "object %s is %s: only an Active object can be revoked but for a compromise", o.id, stateNames[o.state])
			}
			o.state = spec.StateDeactivated
			o.stamp("Deactivation Date")
		}
		o.set("Revocation Reason", rr)
		return []ttlv.Item{uid}, nil
	default: // spec.OpEncrypt
		params, ok := p.Find(spec.TagCryptographicParameters)
		if !ok {
			if params, ok = o.get("Cryptographic Parameters"); !ok {
				return nil, fail(spec.ReasonInvalidField, "no Cryptographic Parameters, in the request or on key %s", o.id)
			}
		}
		if o.state != spec.StateActive {
			return nil, fail(spec.ReasonPermissionDenied, "key %s is %s: only an Active key encrypts", o.id, stateNames[o.state])
		}
		if mask, _ := o.get("Cryptographic Usage Mask"); mask.Value == nil || mask.Value.(int32)&spec.UsageEncrypt == 0 {
			return nil, fail(spec.ReasonPermissionDenied, "the Cryptographic Usage Mask of key %s does not allow Encrypt", o.id)
		}
		if a, ok := params.Find(spec.TagCryptographicAlgorithm); ok && a.Value != uint32(spec.AlgorithmAES) {
			return nil, fail(spec.ReasonInvalidField, "cryptographic algorithm %v for an AES key", a.Value)
		}
		data, ok := field[[]byte](p, spec.TagData)
		if !ok {
			return nil, fail(spec.ReasonInvalidField, "no Data to encrypt")
		}
		mode, _ := field[uint32](params, spec.TagBlockCipherMode)
		padding, _ := field[uint32](params, spec.TagPaddingMethod)
		ct, f := ecb(o.material, data, mode, padding)
		if f != nil {
			return nil, f
		}
		return []ttlv.Item{uid, ttlv.Bytes(spec.TagData, ct)}, nil
	}
}

// ecb encrypts data with AES in ECB mode, padded as asked.
func ecb(key, data []byte, mode, padding uint32) ([]byte, *failure) {
	if mode != spec.ModeECB {
		return nil, fail(spec.ReasonInvalidField, "block cipher mode %d: only ECB (2) is supported", mode)
	}
	switch padding {
	case spec.PaddingPKCS5:
		n := aes.BlockSize - len(data)%aes.BlockSize
		data = append(bytes.Clone(data), bytes.Repeat([]byte{byte(n)}, n)...)
	case 0, spec.PaddingNone:
		if len(data)%aes.BlockSize != 0 {
			return nil, fail(spec.ReasonInvalidField, "%d bytes of data without padding: not whole AES blocks", len(data))
		}
		data = bytes.Clone(data)
	default:
		return nil, fail(spec.ReasonInvalidField, "padding method %d: only None (1) and PKCS5 (3) are supported", padding)
	}
	c, _ := aes.NewCipher(key) // the key's length was checked when it was stored
	for i := 0; i < len(data); i += aes.BlockSize {
		c.Encrypt(data[i:], data[i:])
	}
	return data, nil
}

// rule says of an attribute a client may set its type, and whether an
// object may have several instances of it.
type rule struct {
	typ   ttlv.Type
	multi bool
}

// settable are the attributes a client may give a new key; custom ones
// ("x-") may have any type, and several instances.
var settable = map[string]rule{
	"Cryptographic Algorithm":  {ttlv.Enumeration, false},
	"Cryptographic Length":     {ttlv.Integer, false},
	"Cryptographic Usage Mask": {ttlv.Integer, false},
	"Cryptographic Parameters": {ttlv.Structure, true},
	"Name":                     {ttlv.Structure, true},
	"Object Group":             {ttlv.TextString, true},
	"Contact Information":      {ttlv.TextString, false},
}

// create runs a Create, which makes the material, or a Register, which
// stores the client's.
func (s *Server) create(op uint32, p ttlv.Item) (*object, *failure) {
	if t, _ := field[uint32](p, spec.TagObjectType); t != spec.ObjectSymmetricKey {
		return nil, fail(spec.ReasonInvalidField, "object type %d: only Symmetric Key (2) is supported", t)
	}
	ta, _ := p.Find(spec.TagTemplateAttribute)
	if _, ok := ta.Find(spec.TagTemplateName); ok {
		return nil, fail(spec.ReasonItemNotFound, "this server holds no templates")
	}
	var attrs []attr
	for _, a := range ta.All(spec.TagAttribute) {
		name, _ := field[string](a, spec.TagAttributeName)
		v, hasValue := a.Find(spec.TagAttributeValue)
		r, ok := settable[name]
		if strings.HasPrefix(name, "x-") {
			r, ok = rule{v.Type, true}, true
		}
		switch {
		case !ok:
			return nil, fail(spec.ReasonInvalidField, "attribute %q is not supported, or only the server sets it", name)
		case !hasValue || v.Type != r.typ:
			return nil, fail(spec.ReasonInvalidField, "attribute %q has a value of type %s, want %s", name, v.Type, r.typ)
		case !r.multi && slices.ContainsFunc(attrs, func(a attr) bool { return a.name == name }):
			return nil, fail(spec.ReasonIndexOutOfBounds, "attribute %q cannot have several instances", name)
		}
		if n, _ := field[string](v, spec.TagNameValue); name == "Name" && n == "" {
			return nil, fail(spec.ReasonInvalidField, "a Name without a Name Value")
		}
		attrs = append(attrs, attr{name, v})
	}
	alg, hasAlg := take(&attrs, "Cryptographic Algorithm")
	length, hasLength := take(&attrs, "Cryptographic Length")
	var material []byte
	if op == spec.OpCreate {
		if !hasAlg || !hasLength || !slices.ContainsFunc(attrs, func(a attr) bool { return a.name == "Cryptographic Usage Mask" }) {
			return nil, fail(spec.ReasonInvalidField, "a Create needs the Cryptographic Algorithm, Length and Usage Mask attributes")
		}
		if f := checkKey(alg.Value, length.Value); f != nil {
			return nil, f
		}
		material = make([]byte, length.Value.(int32)/8)
		rand.Read(material)
	} else {
		sk, _ := p.Find(spec.TagSymmetricKey)
		kb, _ := sk.Find(spec.TagKeyBlock)
		if f, _ := field[uint32](kb, spec.TagKeyFormatType); f != spec.FormatRaw {
			return nil, fail(spec.ReasonKeyFormatTypeNotSupported, "key format type %d: only Raw (1) is supported", f)
		}
		kv, _ := kb.Find(spec.TagKeyValue)
		var ok bool
		if material, ok = field[[]byte](kv, spec.TagKeyMaterial); !ok {
			return nil, fail(spec.ReasonInvalidField, "no Symmetric Key with a Key Value of raw Key Material (wrapped keys are not supported)")
		}
		a, _ := kb.Find(spec.TagCryptographicAlgorithm)
		n, _ := kb.Find(spec.TagCryptographicLength)
		if f := checkKey(a.Value, n.Value); f != nil {
			return nil, f
		}
		if n.Value != int32(8*len(material)) || hasAlg && alg.Value != a.Value || hasLength && length.Value != n.Value {
			return nil, fail(spec.ReasonInvalidField, "%d bytes of key material, cryptographic length %v, template %v/%v: they disagree", len(material), n.Value, alg.Value, length.Value)
		}
	}
	return s.add(material, attrs), nil
}

// checkKey accepts AES of 128, 192 or 256 bits.
func checkKey(alg, length any) *failure {
	if alg != uint32(spec.AlgorithmAES) {
		return fail(spec.ReasonInvalidField, "cryptographic algorithm %v: only AES (3) is supported", alg)
	}
	if length != int32(128) && length != int32(192) && length != int32(256) {
		return fail(spec.ReasonInvalidField, "cryptographic length %v for AES", length)
	}
	return nil
}

// take removes the attribute from attrs and returns its value.
func take(attrs *[]attr, name string) (ttlv.Item, bool) {
	i := slices.IndexFunc(*attrs, func(a attr) bool { return a.name == name })
	if i < 0 {
		return ttlv.Item{}, false
	}
	v := (*attrs)[i].value
	*attrs = slices.Delete(*attrs, i, i+1)
	return v, true
}

// indexed are the attributes a Locate finds through the index.
var indexed = map[string]bool{"Name": true, "Object Group": true}

func indexKey(name string, v ttlv.Item) string {
	b, _ := ttlv.Marshal(v)
	return name + "\x00" + string(b)
}

// add stores a new Pre-Active AES key with the client's attributes; s.mu
// is held.
func (s *Server) add(material []byte, attrs []attr) *object {
	var u [16]byte
	rand.Read(u[:])
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80 // a version 4 UUID, as most servers name objects
	o := &object{id: fmt.Sprintf("%x-%x-%x-%x-%x", u[:4], u[4:6], u[6:8], u[8:10], u[10:]), material: material, state: spec.StatePreActive}
	o.attrs = append([]attr{
		{"Unique Identifier", ttlv.Text(spec.TagAttributeValue, o.id)},
		{"Object Type", ttlv.Enum(spec.TagAttributeValue, spec.ObjectSymmetricKey)},
		{"Cryptographic Algorithm", ttlv.Enum(spec.TagAttributeValue, spec.AlgorithmAES)},
		{"Cryptographic Length", ttlv.Int(spec.TagAttributeValue, int32(8*len(material)))},
	}, attrs...)
	o.stamp("Initial Date")
	s.objects[o.id] = o
	s.order = append(s.order, o)
	for _, a := range attrs {
		if indexed[a.name] {
			k := indexKey(a.name, a.value)
			s.index[k] = append(s.index[k], o)
		}
	}
	return o
}

// locate finds the objects that have every attribute of the request: the
// candidates are those of the smallest index entry among its Names and
// Object Groups, so that looking up a key by name costs the same among
// 100,000 keys as among ten.
func (s *Server) locate(p ttlv.Item) ([]ttlv.Item, *failure) {
	var want []attr
	candidates := s.order
	for _, a := range p.All(spec.TagAttribute) {
		name, _ := field[string](a, spec.TagAttributeName)
		v, ok := a.Find(spec.TagAttributeValue)
		if !ok {
			return nil, fail(spec.ReasonInvalidField, "attribute %q without a value", name)
		}
		want = append(want, attr{name, v})
		if indexed[name] {
			if c := s.index[indexKey(name, v)]; len(c) < len(candidates) {
				candidates = c
			}
		}
	}
	if mask, ok := field[int32](p, spec.TagStorageStatusMask); ok && mask&spec.StorageOnline == 0 {
		return nil, nil // nothing is archived
	}
	limit, _ := field[int32](p, spec.TagMaximumItems)
	var out []ttlv.Item
	for _, o := range candidates {
		if limit > 0 && len(out) == int(limit) {
			break
		}
		if !slices.ContainsFunc(want, func(w attr) bool { return !o.has(w) }) {
			out = append(out, ttlv.Text(spec.TagUniqueIdentifier, o.id))
		}
	}
	return out, nil
}

// all is every attribute of the object.
func (o *object) all() []attr {
	return append(o.attrs[:len(o.attrs):len(o.attrs)], attr{"State", ttlv.Enum(spec.TagAttributeValue, o.state)})
}

// has tells whether an instance of the object's attributes is w, compared
// as encoded.
func (o *object) has(w attr) bool {
	want, _ := ttlv.Marshal(w.value)
	return slices.ContainsFunc(o.all(), func(a attr) bool {
		b, _ := ttlv.Marshal(a.value)
		return a.name == w.name && bytes.Equal(b, want)
	})
}

func (o *object) get(name string) (ttlv.Item, bool) {
	i := slices.IndexFunc(o.attrs, func(a attr) bool { return a.name == name })
	if i < 0 {
		return ttlv.Item{}, false
	}
	return o.attrs[i].value, true
}

// set gives a single-instance attribute its value.
func (o *object) set(name string, v ttlv.Item) {
	v.Tag = spec.TagAttributeValue
	if i := slices.IndexFunc(o.attrs, func(a attr) bool { return a.name == name }); i >= 0 {
		o.attrs[i].value = v
	} else {
		o.attrs = append(o.attrs, attr{name, v})
	}
}

// stamp sets a date attribute to now, and the Last Change Date with it.
func (o *object) stamp(name string) {
	now := ttlv.Time(spec.TagAttributeValue, time.Now().UTC().Truncate(time.Second))
	o.set(name, now)
	o.set("Last Change Date", now)
}
