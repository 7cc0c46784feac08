package kmip

import (
	"context"
	"fmt"
	"testing"

	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keytest"
)

// The in-memory server answers the key manager suite as PyKMIP does.
func TestMemServerSuite(t *testing.T) {
	keytest.Run(t, func(t *testing.T) keys.Manager { return startMemServer(t).manager(t, 0) })
}

// A batched lookup of n keys costs a few requests; one item per request
// costs about two per key.
func TestBatchedLookupRequests(t *testing.T) {
	ctx := context.Background()
	s := startMemServer(t)
	var names []string
	for i := range 1000 {
		names = append(names, fmt.Sprintf("K%04d", i))
		s.put("BPPRIM01", names[i], make([]byte, 32))
	}
	for _, tc := range []struct{ batch, want int64 }{{250, 4 + 8}, {1, 1000 + 2000}} {
		m := s.manager(t, int(tc.batch))
		before := s.requests.Load()
		found, err := m.Lookup(ctx, "BPPRIM01", names)
		if err != nil || len(found) != 1000 {
			t.Fatalf("batch %d: %d found, %v", tc.batch, len(found), err)
		}
		if got := s.requests.Load() - before; got != tc.want {
			t.Errorf("batch %d: %d requests, want %d", tc.batch, got, tc.want)
		}
	}
}
