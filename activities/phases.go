package activities

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
)

// tracer makes the spans of the steps' inner phases, under the activity's
// span (the SDK's tracing interceptor puts it in the context), from the
// process's tracer provider as it is now: a tracer kept from before the
// provider was set would stay bound to the first one set.
func tracer() trace.Tracer { return otel.Tracer("github.com/catsync/catsync/activities") }

// Span attributes of the phases.
const (
	attrSegment   = attribute.Key("catsync.segment")
	attrSets      = attribute.Key("catsync.sets")
	attrVolumes   = attribute.Key("catsync.volumes")
	attrRecords   = attribute.Key("catsync.records")
	attrChanged   = attribute.Key("catsync.changed")
	attrConflicts = attribute.Key("catsync.conflicts")
	attrFailed    = attribute.Key("catsync.failed")
	attrBytes     = attribute.Key("catsync.bytes")
	attrKeys      = attribute.Key("catsync.keys")
)

// phase starts the span of one phase of a step.
func phase(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// endPhase ends span, marking it failed by err.
func endPhase(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// segment is the sets of a segment, read whole, with their places.
type segment struct {
	at   []snapshot.SetAt
	sets []*snapshot.VolumeSet
}

// readSegment decodes segment seg of staged, from its set from on, whole:
// its sets are acted on only once the segment's size and digest check.
func readSegment(ctx context.Context, staged *snapshot.Staged, seg, from int) (segment, error) {
	_, span := phase(ctx, "read segment", attrSegment.Int(seg))
	var s segment
	var err error
	s.at, s.sets, err = staged.ReadSets(seg, from)
	if err == nil {
		span.SetAttributes(attrSets.Int(len(s.sets)), attrBytes.Int64(staged.Manifest.Segments[seg].Bytes))
	}
	endPhase(span, err)
	return s, err
}

// transform validates each set as the secondary receives it and makes it
// the secondary's (node names mapped, groups renamed). A set that is not
// valid stops the step, its error saying where it is: nothing of a run
// should apply it.
func transform(ctx context.Context, im *importer.Import, s segment) ([]*importer.Prepared, error) {
	_, span := phase(ctx, "transform", attrSets.Int(len(s.sets)))
	out := make([]*importer.Prepared, len(s.sets))
	var records int
	var err error
	for k, set := range s.sets {
		if out[k], err = im.PrepareStaged(set); err != nil {
			err = s.at[k].Err(set.ID, err)
			break
		}
		records += set.Records()
	}
	span.SetAttributes(attrRecords.Int(records))
	endPhase(span, err)
	return out, err
}
