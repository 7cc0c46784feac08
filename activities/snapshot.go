package activities

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// SnapshotInput asks the primary for a snapshot of one data store.
type SnapshotInput struct {
	ID           string        `json:"id"` // snapshot id, stable across retries
	Store        string        `json:"store"`
	Type         snapshot.Type `json:"type"`
	After        int64         `json:"after"` // UPDATE: changes after this sequence
	CatalogFiles bool          `json:"catalog_files"`
}

// SetsPerSegment is how many volume sets go in one segment.
var SetsPerSegment = 500

// snapshotCursor is the heartbeat of a snapshot: the sequence it covers up
// to, the segments written, and the last volume exported in them.
type snapshotCursor struct {
	ToSeq    int64              `json:"to_seq"`
	Segments []snapshot.Segment `json:"segments"`
	Counts   snapshot.Counts    `json:"counts"`
	Last     *catalog.VolumeKey `json:"last"`
}

// Snapshot exports a data store into the primary's outbox as segments and a
// manifest, and returns the reference to it. It reads one view of the
// primary's catalog, as of one moment, so that the manifest's range and
// every row it holds agree however long the export takes, while the
// primary's backups go on. A retry resumes after the last complete segment
// when the store has not changed since the cursor's ToSeq, and starts over
// otherwise.
func (a *Activities) Snapshot(ctx context.Context, in SnapshotInput) (snapshot.Ref, error) {
	var ref snapshot.Ref
	err := a.Site.Catalog.View(ctx, func(r store.Reader) error {
		var err error
		ref, err = a.snapshot(ctx, r, in)
		return err
	})
	return ref, classify(err)
}

// snapshot exports from r, a view of the primary's catalog.
func (a *Activities) snapshot(ctx context.Context, r store.Reader, in SnapshotInput) (snapshot.Ref, error) {
	site, err := r.Site(ctx)
	if err != nil {
		return snapshot.Ref{}, err
	}
	ds, err := r.DataStore(ctx, in.Store)
	if err != nil {
		return snapshot.Ref{}, fmt.Errorf("data store %s on %s: %w", in.Store, site.Node, err)
	}
	if ds.Access != catalog.AccessPrimary {
		return snapshot.Ref{}, catalog.ConfigErrorf("data store %s on %s has domain access %s: exports need PRIMARY", ds.ID, site.Node, ds.Access)
	}
	// Signed, or not made: the other site accepts nothing unsigned.
	if err := a.Site.Staging.Keys.CanSign(); err != nil {
		return snapshot.Ref{}, err
	}
	to, err := r.LastSeq(ctx, in.Store)
	if err != nil {
		return snapshot.Ref{}, fmt.Errorf("change sequence of %s on %s: %w", in.Store, site.Node, err)
	}
	// The segments of an earlier attempt were read in its own view, as of
	// the cursor's ToSeq: this view still holds the same rows only if no
	// change of the store was marked since. Otherwise they go.
	var cur snapshotCursor
	resumed := resume(ctx, &cur) && cur.ToSeq == to
	dir := a.Site.Staging.Dir(in.Store, in.ID)
	if !resumed {
		cur = snapshotCursor{}
		if err := a.Site.Staging.Reset(in.Store, in.ID); err != nil {
			return snapshot.Ref{}, err
		}
	}
	// Earlier snapshots were transferred (or abandoned) before this sync
	// could start: one sync per store at a time.
	if err := a.Site.Staging.Keep(in.Store, in.ID); err != nil {
		return snapshot.Ref{}, err
	}
	items, to, err := export.Plan(ctx, r, in.Store, in.Type, in.After, to)
	if err != nil {
		return snapshot.Ref{}, err
	}
	from := in.After
	if in.Type == snapshot.Full {
		from = 0
	}
	w := snapshot.NewWriter(dir, snapshot.Manifest{ID: in.ID, Store: in.Store, Type: in.Type, CatalogFiles: in.CatalogFiles,
		KeysRecorded: a.Site.Keys != nil,
		Producer:     snapshot.Producer{Node: site.Node, DomainID: site.DomainID, BackPakID: site.BackPakID},
		FromSeq:      from, ToSeq: to, Created: time.Now().UTC()}, SetsPerSegment)
	w.SignWith(a.Site.Staging.Keys)
	if resumed {
		if err := w.Resume(cur.Segments, cur.Counts); err != nil {
			return snapshot.Ref{}, err
		}
	}
	cur.ToSeq = to
	// A segment's sets are held until its keys are recorded, in one lookup.
	var pending []*snapshot.VolumeSet
	var pendingKeys []catalog.VolumeKey
	read := time.Now() // when the catalog reads of the pending sets began
	flush := func() (err error) {
		if len(pending) == 0 {
			return ctx.Err()
		}
		// The segment's span starts with its reads, which the walk made
		// before the segment was known to be full.
		sctx, span := tracer().Start(ctx, "snapshot segment", trace.WithTimestamp(read),
			trace.WithAttributes(attrSegment.Int(len(cur.Segments)), attrSets.Int(len(pending))))
		defer func() { endPhase(span, err); read = time.Now() }()
		_, rs := tracer().Start(sctx, "read catalog", trace.WithTimestamp(read))
		vols, records := 0, 0
		for _, set := range pending {
			vols, records = vols+len(set.Volumes), records+set.Records()
		}
		rs.SetAttributes(attrSets.Int(len(pending)), attrVolumes.Int(vols), attrRecords.Int(records))
		rs.End()
		kctx, ks := phase(sctx, "record keys")
		err = recordKeys(kctx, a.Site.Keys, site, pending)
		nkeys := 0
		for _, set := range pending {
			nkeys += len(set.Keys)
		}
		ks.SetAttributes(attrKeys.Int(nkeys))
		endPhase(ks, err)
		if err != nil {
			return err
		}
		_, ws := phase(sctx, "write segment", attrSets.Int(len(pending)), attrRecords.Int(records))
		defer func() { endPhase(ws, err) }()
		for i, set := range pending {
			done, err := w.Add(set)
			if err != nil {
				return a.Site.Staging.Unusable(err)
			}
			if done {
				cur.Segments, cur.Counts = w.Done()
				cur.Last = &pendingKeys[i]
				ws.SetAttributes(attrBytes.Int64(cur.Segments[len(cur.Segments)-1].Bytes))
				heartbeat(ctx, cur)
			}
		}
		pending, pendingKeys = nil, nil
		return ctx.Err()
	}
	x := &export.Reader{R: r, StoreID: in.Store, CatalogFiles: in.CatalogFiles, Consistent: true}
	err = x.Walk(ctx, items, cur.Last, func(it export.Item, set *snapshot.VolumeSet) error {
		pending, pendingKeys = append(pending, set), append(pendingKeys, it.Key)
		if len(pending) < SetsPerSegment {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return snapshot.Ref{}, err
	}
	m, digest, err := w.Close()
	if err != nil {
		return snapshot.Ref{}, a.Site.Staging.Unusable(err)
	}
	return snapshot.Ref{Store: in.Store, ID: in.ID, Digest: digest, Type: in.Type, FromSeq: m.FromSeq, ToSeq: m.ToSeq,
		Sets: m.Counts["sets"], Taken: m.Created}, nil
}

// recordKeys gives each set a key record per encrypted volume, with what
// the primary's key manager holds of it under the site's BackPak id (or,
// for a volume another domain wrote, under that domain's id, one of the
// site's key-manager entries), in one lookup for all the sets. With no key manager the records carry names
// only, and parity will say so.
func recordKeys(ctx context.Context, m keys.Manager, site catalog.Site, sets []*snapshot.VolumeSet) error {
	var vols []catalog.Volume
	for _, s := range sets {
		vols = append(vols, s.Volumes...)
	}
	recorded, err := parity.Record(ctx, m, site.BackPakID, parity.Readable(site), vols)
	if err != nil {
		return err
	}
	// Records come in the order of the volumes: deal them back out.
	for _, s := range sets {
		s.Keys = nil
		for _, v := range s.Volumes {
			if v.MediaKeyName != "" {
				s.Keys = append(s.Keys, recorded[0])
				recorded = recorded[1:]
			}
		}
	}
	return nil
}
