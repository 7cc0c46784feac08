package workflows_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/catsync/catsync/internal/codec"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/telemetry"
	"github.com/catsync/catsync/internal/temporaltest"
)

// payloadAt is a payload of a history event and where it sits.
type payloadAt struct {
	where string
	p     *commonpb.Payload
}

// payloads lists every payload of the events but the search attributes,
// which visibility needs in clear.
func payloads(events []*historypb.HistoryEvent) []payloadAt {
	var out []payloadAt
	var walk func(m protoreflect.Message, where string)
	walk = func(m protoreflect.Message, where string) {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			out = append(out, payloadAt{where, p})
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			name := where + "." + string(fd.Name())
			switch {
			case fd.Name() == "search_attributes" || fd.Kind() != protoreflect.MessageKind:
			case fd.IsMap():
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					if fd.MapValue().Kind() == protoreflect.MessageKind {
						walk(mv.Message(), name+"["+k.String()+"]")
					}
					return true
				})
			case fd.IsList():
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message(), name)
				}
			default:
				walk(v.Message(), name)
			}
			return true
		})
	}
	for _, e := range events {
		walk(e.ProtoReflect(), e.GetEventType().String())
	}
	return out
}

func events(t *testing.T, c client.Client, run client.WorkflowRun) []*historypb.HistoryEvent {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestHistoryEncrypted runs a FULL sync with the payload codec on the
// workers and the client, then reads the history without it: every
// payload is sealed, and no store id, site name or count name shows in
// clear; read with the codec, the result decodes.
func TestHistoryEncrypted(t *testing.T) {
	keys := []codec.Key{{ID: "test-1", Key: bytes.Repeat([]byte{9}, 32)}}
	pc, err := codec.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	// Dialled as the worker and the CLI dial, with the propagator that
	// carries the store id in a header.
	srv := temporaltest.Server(t)
	opts, err := telemetry.Observed{}.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := serve.DialWith(context.Background(), &config.Config{TemporalAddress: srv.FrontendHostPort(),
		TemporalNamespace: "default", Codec: config.Codec{Keys: keys}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sealed.Close()
	sp := sim.DefaultSecondaryParams()
	w := newWorldOn(t, sealed, small(), simtest.Options{Secondary: &sp, Keys: simtest.Keystores})
	run, res, err := w.run(w.input(snapshot.Full, true))
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied.Counts["tapefile.create"] == 0 {
		t.Fatalf("the sync created nothing: %+v", res.Applied)
	}

	plain := temporaltest.Client(t)
	all := payloads(events(t, plain, run))
	if len(all) < 4 {
		t.Fatalf("only %d payloads in the history", len(all))
	}
	clear := []string{w.storeID, w.cfg.Primary.Name, w.cfg.Secondary.Name, "tapefile.create", "Counts"}
	for _, a := range all {
		if enc := string(a.p.GetMetadata()[converter.MetadataEncoding]); enc != codec.Encoding {
			t.Errorf("%s: payload of encoding %q, not sealed: %.200s", a.where, enc, a.p.GetData())
		}
		raw, _ := proto.Marshal(a.p)
		for _, s := range clear {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s: %q in clear", a.where, s)
			}
		}
	}

	// With the codec the same history decodes.
	var decoded int
	for _, a := range all {
		out, err := pc.Decode([]*commonpb.Payload{a.p})
		if err != nil {
			t.Fatalf("%s: %v", a.where, err)
		}
		if strings.Contains(string(out[0].GetData()), w.storeID) || strings.Contains(string(out[0].GetData()), "tapefile.create") {
			decoded++
		}
	}
	if decoded == 0 {
		t.Error("no payload of the history decodes to the run's store or counts")
	}
}
