package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// LeaseState is the lease of a data store as a failover sees it: held by a
// running import, or free.
type LeaseState struct {
	Held    bool            `json:"held"`
	Holder  importer.Holder `json:"holder,omitzero"`
	Expires time.Time       `json:"expires,omitzero"`
}

// ReadLease tells whether an import holds the store's lease, and whose.
func (a *Activities) ReadLease(ctx context.Context, storeID string) (LeaseState, error) {
	l, ok, err := importer.ReadLease(ctx, a.Site.Catalog, storeID)
	if err != nil || !ok {
		return LeaseState{}, err
	}
	now := time.Now().UTC()
	if !l.Released.IsZero() || !now.Before(l.Expires) {
		return LeaseState{}, nil
	}
	return LeaseState{Held: true, Holder: l.Holder, Expires: l.Expires}, nil
}

// StagedState is what the secondary holds of a data store when the primary
// cannot be asked: the snapshots of its staging area that rebuild the
// store, oldest first, the last one the newest state applied.
type StagedState struct {
	Chain     []snapshot.Ref     `json:"chain"`
	Watermark importer.Watermark `json:"watermark"`
}

// Last is the newest snapshot of the chain, zero when there is none.
func (s StagedState) Last() snapshot.Ref {
	if len(s.Chain) == 0 {
		return snapshot.Ref{}
	}
	return s.Chain[len(s.Chain)-1]
}

// StagedState reads the chain of the store's staging area and the applied
// watermark.
func (a *Activities) StagedState(ctx context.Context, storeID string) (StagedState, error) {
	var out StagedState
	var err error
	if out.Watermark, err = importer.ReadWatermark(ctx, a.Site.Catalog, storeID); err != nil {
		return out, err
	}
	ids, err := a.staging().Chain(storeID)
	if err != nil {
		return out, err
	}
	for _, id := range ids {
		_, digest, err := snapshot.ReadManifest(a.staging().Dir(storeID, id), "")
		if err != nil {
			return out, err
		}
		// The chain file names the snapshots; each must still be one this
		// site trusts, since a failover builds on them.
		st, err := a.staging().OpenManifest(snapshot.Ref{Store: storeID, ID: id, Digest: digest})
		if err != nil {
			return out, classify(err)
		}
		m := st.Manifest
		out.Chain = append(out.Chain, snapshot.Ref{Store: storeID, ID: id, Digest: digest, Type: m.Type, FromSeq: m.FromSeq,
			ToSeq: m.ToSeq, Sets: m.Counts["sets"], Taken: m.Created})
	}
	return out, nil
}

// PromoteResult is what a promotion changed.
type PromoteResult struct {
	Store   string `json:"store"`
	Volumes int64  `json:"volumes"` // volumes of the store made PRIMARY
	// Already tells that the store was PRIMARY before: a retried
	// promotion changes nothing.
	Already bool `json:"already,omitempty"`
}

// PromoteInput names the data store a failover promotes, and who approved.
// Failback says the promotion gives the store back to its old primary: no
// failover is recorded then, and any record of one is cleared.
type PromoteInput struct {
	Store    string `json:"store"`
	Operator string `json:"operator"`
	Failback bool   `json:"failback,omitempty"`
}

// Promote makes the secondary's data store PRIMARY, and every volume of it,
// in one transaction that also records the failover in the site's
// metadata: backups, volume creation and cleanup are allowed at this site
// from then on, and imports into the store are refused, saying why.
func (a *Activities) Promote(ctx context.Context, in PromoteInput) (PromoteResult, error) {
	storeID := in.Store
	res := PromoteResult{Store: storeID}
	marker := safety.FailedOver{Store: storeID, Operator: in.Operator, At: time.Now().UTC()}
	if activity.IsActivity(ctx) {
		run := activity.GetInfo(ctx).WorkflowExecution
		marker.WorkflowID, marker.RunID = run.ID, run.RunID
	}
	err := a.Site.Catalog.Update(ctx, func(tx store.Tx) error {
		ds, err := tx.DataStore(ctx, storeID)
		if err != nil {
			return fmt.Errorf("data store %s on %s: %w", storeID, a.Site.Name, err)
		}
		switch ds.Access {
		case catalog.AccessPrimary:
			res.Already = true
			return nil
		case catalog.AccessSecondary:
		default:
			return catalog.ConfigErrorf("data store %s on %s has domain access %s: only a SECONDARY store is promoted", storeID, a.Site.Name, ds.Access)
		}
		ds.Access = catalog.AccessPrimary
		if err := tx.PutDataStore(ctx, &ds); err != nil {
			return err
		}
		if in.Failback {
			if err := tx.PutMeta(ctx, safety.FailedOverKey(storeID), ""); err != nil {
				return err
			}
		} else {
			b, _ := json.Marshal(marker)
			if err := tx.PutMeta(ctx, safety.FailedOverKey(storeID), string(b)); err != nil {
				return err
			}
		}
		var vols []catalog.Volume
		if err := tx.ScanVolumes(ctx, store.Filter{StoreID: storeID}, func(v *catalog.Volume) error {
			if v.Access != catalog.AccessPrimary {
				vols = append(vols, *v)
			}
			return nil
		}); err != nil {
			return err
		}
		for i := range vols {
			vols[i].Access = catalog.AccessPrimary
			if err := tx.PutVolume(ctx, &vols[i]); err != nil {
				return err
			}
		}
		res.Volumes = int64(len(vols))
		return nil
	})
	return res, classify(err)
}

// DemoteInput names the data store a site gives up to the other.
type DemoteInput struct {
	Store string `json:"store"`
}

// DemoteResult is what a demotion changed.
type DemoteResult struct {
	Store   string `json:"store"`
	Volumes int64  `json:"volumes"` // volumes of the store made SECONDARY
	// Mapped are the store's volume groups given themselves as original
	// name: each receives the entries of the group of the same name at the
	// site that owns the store now.
	Mapped  []string `json:"mapped,omitempty"`
	Already bool     `json:"already,omitempty"`
}

// Demote makes a site's data store SECONDARY, with its volumes, in one
// transaction, for a failback: the site then takes imports of the store
// from the one that owns it, into the same catalogs (a store's own VOLCAT
// and FILECAT, as BackPak advises isolating them), its volume groups
// mapped to the owner's groups of the same names where they name no
// original yet; any record of a failover to this site is cleared.
func (a *Activities) Demote(ctx context.Context, in DemoteInput) (DemoteResult, error) {
	res := DemoteResult{Store: in.Store}
	err := a.Site.Catalog.Update(ctx, func(tx store.Tx) error {
		ds, err := tx.DataStore(ctx, in.Store)
		if err != nil {
			return fmt.Errorf("data store %s on %s: %w", in.Store, a.Site.Name, err)
		}
		switch ds.Access {
		case catalog.AccessSecondary:
			res.Already = true
			return nil
		case catalog.AccessPrimary:
		default:
			return catalog.ConfigErrorf("data store %s on %s has domain access %s: only a PRIMARY store is demoted", in.Store, a.Site.Name, ds.Access)
		}
		ds.Access = catalog.AccessSecondary
		if err := tx.PutDataStore(ctx, &ds); err != nil {
			return err
		}
		if err := tx.PutMeta(ctx, safety.FailedOverKey(in.Store), ""); err != nil {
			return err
		}
		var vols []catalog.Volume
		groups := map[string]bool{}
		if err := tx.ScanVolumes(ctx, store.Filter{StoreID: in.Store}, func(v *catalog.Volume) error {
			groups[v.Group] = true
			if v.Access != catalog.AccessSecondary {
				vols = append(vols, *v)
			}
			return nil
		}); err != nil {
			return err
		}
		for i := range vols {
			vols[i].Access = catalog.AccessSecondary
			if err := tx.PutVolume(ctx, &vols[i]); err != nil {
				return err
			}
		}
		res.Volumes = int64(len(vols))
		for _, name := range slices.Sorted(maps.Keys(groups)) {
			g, err := tx.VolumeGroup(ctx, name)
			if err != nil {
				return fmt.Errorf("volume group %s of data store %s: %w", name, in.Store, err)
			}
			if g.OriginalName == "" {
				g.OriginalName = g.Name
				if err := tx.PutVolumeGroup(ctx, &g); err != nil {
					return err
				}
				res.Mapped = append(res.Mapped, g.Name)
			}
		}
		return nil
	})
	return res, classify(err)
}
