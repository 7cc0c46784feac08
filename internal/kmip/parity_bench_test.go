package kmip

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/kmip/kmiptest"
	"github.com/catsync/catsync/internal/snapshot"
)

// BenchmarkKeyParity proves parity for 100,000 encrypted volumes (scaled
// by CATSYNC_BENCH_SCALE) against an in-memory KMIP server over mutual TLS
// (kmiptest: PyKMIP scans every object on Locate): batched
// (1,000 keys a lookup, 250 items a request) beside the naive way, one
// key a lookup: a Locate, then its Get Attributes and Encrypt in one more
// request (they need the id the Locate finds). Each runs on loopback and with a
// 1 ms round trip added per request, as between two sites; the naive run
// at 1 ms checks a tenth of the keys, or it would take minutes.
func BenchmarkKeyParity(b *testing.B) {
	n := 100_000
	if f, err := strconv.ParseFloat(os.Getenv("CATSYNC_BENCH_SCALE"), 64); err == nil && f > 0 {
		n = max(int(float64(n)*f), 1000)
	}
	s := kmiptest.Start(b)
	records := make([]snapshot.Key, n)
	for i := range records {
		material := make([]byte, 32)
		rand.Read(material)
		name := fmt.Sprintf("N8A3F%06d_BPPRIM01_2601052127", i)
		s.Put("BPPRIM01", name, material)
		fp, _ := keys.CheckValue(material)
		records[i] = snapshot.Key{Label: fmt.Sprintf("T%05d", i), LabelType: catalog.Labeled, Name: name,
			State: keys.Active, Algorithm: "AES", Length: 256, Fingerprint: fp}
	}
	site := catalog.Site{Node: `\SECD`, DomainID: "BBOX", BackPakID: "BPSECD01",
		KeyManagers: []catalog.KeyManagerEntry{{BackPakID: "BPPRIM01", Server: "kms.secd:5696"}}}
	for _, rtt := range []time.Duration{0, time.Millisecond} {
		for _, mode := range []struct {
			name               string
			lookup, perRequest int
		}{{"batched", parity.DefaultBatch, 250}, {"per-key", 1, 250}} {
			keysChecked := records
			if rtt > 0 && mode.lookup == 1 {
				keysChecked = records[:n/10]
			}
			b.Run(fmt.Sprintf("rtt=%s/%s/keys=%d", rtt, mode.name, len(keysChecked)), func(b *testing.B) {
				ctx := context.Background()
				m := &Manager{New(Config{Addr: s.Addr(), TLS: s.ClientTLS(), Batch: mode.perRequest})}
				defer m.Close()
				s.SetLatency(rtt)
				defer s.SetLatency(0)
				before := s.Requests()
				b.ResetTimer()
				for range b.N {
					c := parity.New(m, site, "BPPRIM01", true, mode.lookup)
					for _, k := range keysChecked {
						if err := c.Add(ctx, "SET", k); err != nil {
							b.Fatal(err)
						}
					}
					r, err := c.Report(ctx)
					if err != nil || r.OK != len(keysChecked) {
						b.Fatalf("%s, %v", r.Summary(), err)
					}
				}
				b.ReportMetric(float64(len(keysChecked)*b.N)/b.Elapsed().Seconds(), "keys/s")
				b.ReportMetric(float64(s.Requests()-before)/float64(b.N), "requests/op")
			})
		}
	}
}
