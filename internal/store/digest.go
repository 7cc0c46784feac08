package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/catsync/catsync/internal/catalog"
)

// Digest returns a SHA-256 over every catalog record of a site (site,
// BackPak and DSM/TC tables), streamed in key order. Two sites with the same
// records have the same digest; bookkeeping (change marks, metadata) is left
// out.
func Digest(ctx context.Context, r Reader) (string, error) {
	h := sha256.New()
	enc := json.NewEncoder(h)
	site, err := r.Site(ctx)
	if err != nil {
		return "", err
	}
	if err := enc.Encode(site); err != nil {
		return "", err
	}
	all := Filter{}
	for _, scan := range []func() error{
		func() error { return r.ScanDataStores(ctx, encode[catalog.DataStore](enc)) },
		func() error { return r.ScanVolumeGroups(ctx, encode[catalog.VolumeGroup](enc)) },
		func() error { return r.ScanVolumes(ctx, all, encode[catalog.Volume](enc)) },
		func() error { return r.ScanPools(ctx, all, encode[catalog.Pool](enc)) },
		func() error { return r.ScanTapeVolumes(ctx, all, encode[catalog.TapeVolume](enc)) },
		func() error { return r.ScanVolumeFilecats(ctx, all, encode[catalog.VolumeFilecat](enc)) },
		func() error { return r.ScanFileConfigs(ctx, all, encode[catalog.FileConfig](enc)) },
		func() error { return r.ScanTapeFiles(ctx, all, encode[catalog.TapeFile](enc)) },
		func() error { return r.ScanTapeFileVolumes(ctx, all, encode[catalog.TapeFileVolume](enc)) },
		func() error { return r.ScanDiskFiles(ctx, all, encode[catalog.DiskFile](enc)) },
		func() error { return r.ScanDiskFileVolumes(ctx, all, encode[catalog.DiskFileVolume](enc)) },
	} {
		if err := scan(); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func encode[T any](enc *json.Encoder) func(*T) error {
	return func(r *T) error { return enc.Encode(r) }
}
