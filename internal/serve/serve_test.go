package serve

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/config"
)

// A frontend that does not answer is named, with the variable to fix.
func TestDialNamesTheVariable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, &config.Config{TemporalAddress: addr, TemporalNamespace: "default"}, nil)
	if err == nil {
		c.Close()
		t.Fatalf("dialed %s, where nothing listens", addr)
	}
	if want := `TEMPORAL_ADDRESS="` + addr + `": `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start %q", err, want)
	}
}
