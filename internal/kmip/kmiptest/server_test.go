package kmiptest_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keytest"
	"github.com/catsync/catsync/internal/kmip"
	"github.com/catsync/catsync/internal/kmip/kmiptest"
	"github.com/catsync/catsync/internal/kmip/spec"
	"github.com/catsync/catsync/internal/kmip/ttlv"
)

// manager connects a key manager to s, with batch items a request (0: the
// client's default).
func manager(tb testing.TB, s *kmiptest.Server, batch int) *kmip.Manager {
	m := &kmip.Manager{Client: kmip.New(kmip.Config{Addr: s.Addr(), TLS: s.ClientTLS(), Batch: batch, Timeout: 10 * time.Second})}
	tb.Cleanup(func() { m.Close() })
	return m
}

// The server answers the key manager suite as PyKMIP does.
func TestSuite(t *testing.T) {
	keytest.Run(t, func(t *testing.T) keys.Manager { return manager(t, kmiptest.Start(t), 0) })
}

// A lookup of 1,000 names costs a request per 250 Locates, then one per 250
// Get Attributes and Encrypts of the keys found; one item a request costs
// a request an item.
func TestBatchedLookupRequests(t *testing.T) {
	ctx := context.Background()
	s := kmiptest.Start(t)
	var names []string
	want := map[string]string{} // name -> fingerprint
	for i := range 1000 {
		names = append(names, fmt.Sprintf("N8A3F%06d_BPPRIM01_2601052127", i))
		if i%10 != 0 { // every tenth key is missing
			material := make([]byte, 32)
			rand.Read(material)
			s.Put("BPPRIM01", names[i], material)
			want[names[i]], _ = keys.CheckValue(material)
		}
	}
	s.Put("BPOTHER1", names[0], make([]byte, 32)) // another BackPak id's key is not found
	for _, tc := range []struct {
		batch int
		want  int64
	}{{250, 1000/250 + 1800/250 + 1}, {1, 1000 + 1800}} {
		m := manager(t, s, tc.batch)
		before := s.Requests()
		found, err := m.Lookup(ctx, "BPPRIM01", names)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Requests() - before; got != tc.want {
			t.Errorf("batch %d: %d requests, want %d", tc.batch, got, tc.want)
		}
		if len(found) != len(want) {
			t.Errorf("batch %d: %d keys found, want %d", tc.batch, len(found), len(want))
		}
		for n, fp := range want {
			if k := found[n]; k.Fingerprint != fp || k.State != keys.Active || k.Length != 256 {
				t.Fatalf("batch %d: %s is %+v, want fingerprint %s", tc.batch, n, k, fp)
			}
		}
	}
}

// An Encrypt refused within a batch leaves the items after it answered.
func TestFailedItemContinues(t *testing.T) {
	ctx := context.Background()
	s := kmiptest.Start(t)
	m := manager(t, s, 0)
	ids := map[string]string{}
	for _, n := range []string{"K1", "K2", "K3"} {
		k, err := m.Create(ctx, "BPPRIM01", n)
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = k.ID
	}
	if err := m.Deactivate(ctx, ids["K2"]); err != nil {
		t.Fatal(err)
	}
	before := s.Requests()
	found, err := m.Lookup(ctx, "BPPRIM01", []string{"K1", "K2", "K3"})
	if err != nil {
		t.Fatal(err)
	}
	if k := found["K2"]; k.State != keys.Deactivated || k.Fingerprint != "" {
		t.Errorf("K2: %+v, want deactivated without a fingerprint", k)
	}
	if found["K1"].Fingerprint == "" || found["K3"].Fingerprint == "" {
		t.Errorf("K1 and K3 lost their fingerprints: %+v", found)
	}
	if got := s.Requests() - before; got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}

// Clients on connections of their own are served at once.
func TestConcurrentClients(t *testing.T) {
	ctx := context.Background()
	s := kmiptest.Start(t)
	var wg sync.WaitGroup
	for c := range 8 {
		m := manager(t, s, 0)
		wg.Go(func() {
			group := fmt.Sprintf("BP%06d", c)
			var names []string
			for i := range 10 {
				names = append(names, fmt.Sprintf("K%d", i))
				if _, err := m.Create(ctx, group, names[i]); err != nil {
					t.Error(err)
					return
				}
			}
			if found, err := m.Lookup(ctx, group, names); err != nil || len(found) != 10 {
				t.Errorf("%s: %d keys found, %v", group, len(found), err)
			}
		})
	}
	wg.Wait()
}

// A key leaves Pre-Active and Active as KMIP 1.2 says, refused with its
// reasons otherwise; the manager does not send a second Revoke (the server
// would refuse it as an Illegal Operation) for a key already deactivated.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	s := kmiptest.Start(t)
	m := manager(t, s, 0)
	k, err := m.Create(ctx, "BPPRIM01", "K1")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Deactivate(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	var re *kmip.ResultError
	if err := m.Activate(ctx, k.ID); !errors.As(err, &re) || re.Reason != spec.ReasonPermissionDenied {
		t.Errorf("activating a deactivated key: %v, want Permission Denied", err)
	}
	before := s.Requests()
	if err := m.Deactivate(ctx, k.ID); err != nil || s.Requests()-before != 1 {
		t.Errorf("deactivating a deactivated key: %v after %d requests, want nothing done after reading its state", err, s.Requests()-before)
	}
	if got, err := keys.Find(ctx, m, "BPPRIM01", "K1"); err != nil || got.State != keys.Deactivated || got.Fingerprint != "" {
		t.Errorf("after the refusals: %+v, %v", got, err)
	}
}

// exchange sends one request message and returns the response message.
func exchange(t *testing.T, s *kmiptest.Server, req ttlv.Item) ttlv.Item {
	t.Helper()
	conn, err := tls.Dial("tcp", s.Addr(), s.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, err := ttlv.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	if b, err = ttlv.ReadMessage(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := ttlv.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func request(major, minor int32, continuation uint32, items ...ttlv.Item) ttlv.Item {
	head := []ttlv.Item{ttlv.Struct(spec.TagProtocolVersion, ttlv.Int(spec.TagProtocolVersionMajor, major), ttlv.Int(spec.TagProtocolVersionMinor, minor))}
	if continuation != 0 {
		head = append(head, ttlv.Enum(spec.TagBatchErrorContinuation, continuation))
	}
	head = append(head, ttlv.Int(spec.TagBatchCount, int32(len(items))))
	return ttlv.Struct(spec.TagRequestMessage, append([]ttlv.Item{ttlv.Struct(spec.TagRequestHeader, head...)}, items...)...)
}

func item(op uint32, id string, payload ...ttlv.Item) ttlv.Item {
	fields := []ttlv.Item{ttlv.Enum(spec.TagOperation, op)}
	if id != "" {
		fields = append(fields, ttlv.Bytes(spec.TagUniqueBatchItemID, []byte(id)))
	}
	return ttlv.Struct(spec.TagBatchItem, append(fields, ttlv.Struct(spec.TagRequestPayload, payload...))...)
}

// outcome summarizes a response: per batch item its operation, batch item
// ID, result status and result reason ("-" when absent).
func outcome(resp ttlv.Item) string {
	var out []string
	for _, bi := range resp.All(spec.TagBatchItem) {
		var f []string
		for _, tag := range []ttlv.Tag{spec.TagOperation, spec.TagUniqueBatchItemID, spec.TagResultStatus, spec.TagResultReason} {
			v := "-"
			if it, ok := bi.Find(tag); ok {
				v = fmt.Sprint(it.Value)
				if b, isBytes := it.Value.([]byte); isBytes {
					v = string(b)
				}
			}
			f = append(f, v)
		}
		out = append(out, strings.Join(f, "/"))
	}
	return strings.Join(out, " ")
}

// Batch handling and whole-request refusals, on the wire.
func TestMessages(t *testing.T) {
	s := kmiptest.Start(t)
	template := ttlv.Struct(spec.TagTemplateAttribute,
		ttlv.Struct(spec.TagAttribute, ttlv.Text(spec.TagAttributeName, "Cryptographic Algorithm"), ttlv.Enum(spec.TagAttributeValue, 3)),
		ttlv.Struct(spec.TagAttribute, ttlv.Text(spec.TagAttributeName, "Cryptographic Length"), ttlv.Int(spec.TagAttributeValue, 128)),
		ttlv.Struct(spec.TagAttribute, ttlv.Text(spec.TagAttributeName, "Cryptographic Usage Mask"), ttlv.Int(spec.TagAttributeValue, 12)))
	create := item(spec.OpCreate, "c", ttlv.Enum(spec.TagObjectType, spec.ObjectSymmetricKey), template)
	missing := item(spec.OpActivate, "m", ttlv.Text(spec.TagUniqueIdentifier, "no-such-key"))
	state := ttlv.Text(spec.TagAttributeName, "State")
	for _, tc := range []struct {
		name string
		req  ttlv.Item
		want string
	}{
		// Activate and Get Attributes without a Unique Identifier act on the
		// key the batch created: its ID Placeholder.
		{"placeholder", request(1, 2, 0, create, item(spec.OpActivate, "a"), item(spec.OpGetAttributes, "g", state)),
			"1/c/0/- 18/a/0/- 11/g/0/-"},
		{"stop by default", request(1, 2, 0, create, missing, create), "1/c/0/- 18/m/1/1"},
		{"continue", request(1, 2, 1, create, missing, create), "1/c/0/- 18/m/1/1 1/c/0/-"},
		{"unknown operation", request(1, 2, 1, item(0x99, "x")), "153/x/1/5"},
		{"one item needs no batch item ID", request(1, 0, 0, item(spec.OpCreate, "", ttlv.Enum(spec.TagObjectType, spec.ObjectSymmetricKey), template)), "1/-/0/-"},
		{"several do", request(1, 2, 1, item(spec.OpCreate, ""), item(spec.OpCreate, "")), "-/-/1/4"},
		{"KMIP 2.0", request(2, 0, 0, create), "-/-/1/4"},
		{"undo", request(1, 2, 3, create, create), "-/-/1/8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := exchange(t, s, tc.req)
			if got := outcome(resp); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			head, _ := resp.Find(spec.TagResponseHeader)
			n, _ := head.Find(spec.TagBatchCount)
			if n.Value != int32(len(resp.All(spec.TagBatchItem))) {
				t.Errorf("batch count %v for %d items", n.Value, len(resp.All(spec.TagBatchItem)))
			}
			if _, ok := head.Find(spec.TagTimeStamp); !ok {
				t.Error("no time stamp")
			}
			if tc.name == "placeholder" {
				p, _ := resp.All(spec.TagBatchItem)[2].Find(spec.TagResponsePayload)
				a, _ := p.Find(spec.TagAttribute)
				if v, _ := a.Find(spec.TagAttributeValue); v.Value != uint32(spec.StateActive) {
					t.Errorf("state %v, want Active (2)", v.Value)
				}
			}
		})
	}
}

// A client whose certificate the server's CA did not issue is refused: a
// configuration error, not a retryable one, in TLS 1.2 (at the handshake)
// and in TLS 1.3 (where the server's alert comes with the first read).
func TestUnknownClientCertificate(t *testing.T) {
	s := kmiptest.Start(t)
	stranger := kmiptest.Start(t).ClientTLS().Certificates // of another server's CA
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cfg := s.ClientTLS()
			cfg.Certificates, cfg.MaxVersion = stranger, v
			m := &kmip.Manager{Client: kmip.New(kmip.Config{Addr: s.Addr(), TLS: cfg, Timeout: 10 * time.Second})}
			defer m.Close()
			_, err := m.Lookup(context.Background(), "BPPRIM01", []string{"K1"})
			var ce *keys.ConfigError
			if !errors.As(err, &ce) || ce.Endpoint != s.Addr() {
				t.Errorf("got %v, want a keys.ConfigError for %s", err, s.Addr())
			}
		})
	}
	if n := s.Requests(); n != 0 {
		t.Errorf("%d requests served to a stranger", n)
	}
}
