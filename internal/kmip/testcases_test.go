package kmip

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/kmip/spec"
	"github.com/catsync/catsync/internal/kmip/ttlv"
)

// Byte vectors of the KMIP Use Cases 1.0 document, §3.1.2 (Register /
// Create / Get Attributes / Destroy): whole messages, decoded, checked
// item by item and encoded back to the same bytes.
var (
	useCaseCreateRequest = "42007801000001904200770100000038420069010000002042006A0200000004000000010000000042006B02000000040" +
		"00000010000000042000D0200000004000000010000000042000F010000014842005C0500000004000000010000000042" +
		"0079010000013042005705000000040000000200000000420091010000011842005301000000284200550700000009546" +
		"56D706C617465310000000000000042005405000000040000000100000000420008010000003042000A07000000174372" +
		"7970746F6772617068696320416C676F726974686D0042000B05000000040000000300000000420008010000003042000" +
		"A070000001443727970746F67726170686963204C656E6774680000000042000B02000000040000008000000000420008" +
		"010000003042000A070000001843727970746F67726170686963205573616765204D61736B42000B02000000040000000" +
		"C00000000420008010000003842000A07000000044E616D650000000042000B010000002042005507000000044B657931" +
		"0000000042005405000000040000000100000000"
	useCaseCreateResponse = "42007B01000000C042007A0100000048420069010000002042006A0200000004000000010000000042006B02000000040" +
		"0000000000000004200920900000008000000004AFBE7C542000D0200000004000000010000000042000F010000006842" +
		"005C0500000004000000010000000042007F0500000004000000000000000042007C01000000404200570500000004000" +
		"0000200000000420094070000002436316231303631342D643862352D343666392D386431372D32666136656131643734" +
		"376100000000"
	useCaseGetAttributesRequest = "42007801000001084200770100000038420069010000002042006A0200000004000000010000000042006B02000000040" +
		"00000000000000042000D0200000004000000010000000042000F01000000C042005C05000000040000000B0000000042" +
		"007901000000A8420094070000002436316231303631342D643862352D343666392D386431372D3266613665613164373" +
		"437610000000042000A070000000C4F626A6563742047726F75700000000042000A07000000204170706C69636174696F" +
		"6E20537065636966696320496E666F726D6174696F6E42000A0700000013436F6E7461637420496E666F726D6174696F6" +
		"E000000000042000A0700000009782D507572706F736500000000000000"
)

func decodeVector(t *testing.T, h string) (ttlv.Item, []byte) {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	it, err := ttlv.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ttlv.Marshal(it)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoded differently (%v):\n got %X\nwant %X", err, again, b)
	}
	return it, b
}

func TestUseCaseCreateRequest(t *testing.T) {
	msg, _ := decodeVector(t, useCaseCreateRequest)
	bi, _ := msg.Find(spec.TagBatchItem)
	op, _ := bi.Find(spec.TagOperation)
	p, _ := bi.Find(spec.TagRequestPayload)
	ot, _ := p.Find(spec.TagObjectType)
	if msg.Tag != spec.TagRequestMessage || op.Value != uint32(spec.OpCreate) || ot.Value != uint32(spec.ObjectSymmetricKey) {
		t.Fatalf("request %v, operation %v, object type %v", msg.Tag, op.Value, ot.Value)
	}
	// The template attributes, by name, as a server reads them.
	tmpl, _ := p.Find(spec.TagTemplateAttribute)
	a := map[string]ttlv.Item{}
	for _, at := range tmpl.All(spec.TagAttribute) {
		n, _ := at.Find(spec.TagAttributeName)
		a[n.Value.(string)], _ = at.Find(spec.TagAttributeValue)
	}
	name, _ := a["Name"].Find(spec.TagNameValue)
	if a["Cryptographic Algorithm"].Value != uint32(spec.AlgorithmAES) || a["Cryptographic Length"].Value != int32(128) ||
		a["Cryptographic Usage Mask"].Value != int32(spec.UsageEncryptDecrypt) || name.Value != "Key1" {
		t.Errorf("template attributes %v", a)
	}
}

func TestUseCaseGetAttributesRequest(t *testing.T) {
	msg, _ := decodeVector(t, useCaseGetAttributesRequest)
	bi, _ := msg.Find(spec.TagBatchItem)
	p, _ := bi.Find(spec.TagRequestPayload)
	id, _ := p.Find(spec.TagUniqueIdentifier)
	var names []string
	for _, n := range p.All(spec.TagAttributeName) {
		names = append(names, n.Value.(string))
	}
	if id.Value != "61b10614-d8b5-46f9-8d17-2fa6ea1d747a" ||
		strings.Join(names, "|") != "Object Group|Application Specific Information|Contact Information|x-Purpose" {
		t.Errorf("id %v, names %q", id.Value, names)
	}
}

// The client reads the server's answer of the use case.
func TestUseCaseCreateResponse(t *testing.T) {
	msg, raw := decodeVector(t, useCaseCreateResponse)
	head, _ := msg.Find(spec.TagResponseHeader)
	ts, _ := head.Find(spec.TagTimeStamp)
	if msg.Tag != spec.TagResponseMessage || !ts.Value.(time.Time).Equal(time.Unix(0x4AFBE7C5, 0)) {
		t.Errorf("response %v, time stamp %v", msg.Tag, ts.Value)
	}
	rs, err := parseResponse(raw, []call{{op: spec.OpCreate}})
	if err != nil || rs[0].err != nil {
		t.Fatalf("%v, %v", err, rs)
	}
	id, _ := rs[0].payload.Find(spec.TagUniqueIdentifier)
	if id.Value != "61b10614-d8b5-46f9-8d17-2fa6ea1d747a" {
		t.Errorf("unique identifier %v", id.Value)
	}
}
