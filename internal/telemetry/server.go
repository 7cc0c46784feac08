package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one thing a worker needs to be ready: Probe returns nil when
// it is usable, and otherwise an error that says why (never a secret).
type Check struct {
	Name  string // what is checked, as /readyz names it: "secondary site SECD catalog"
	Probe func(ctx context.Context) error
}

// CheckTimeout bounds each probe of /readyz: a key manager or database
// that does not answer in time is not ready.
const CheckTimeout = 5 * time.Second

// Ready runs the checks at once and returns the failures, one line each,
// in the order of checks; none when all pass.
func Ready(ctx context.Context, checks []Check) []string {
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			defer cancel()
			errs[i] = c.Probe(ctx)
		})
	}
	wg.Wait()
	var out []string
	for i, err := range errs {
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", checks[i].Name, err))
		}
	}
	return out
}

// Handler serves /metrics from m, /livez (200 while the process runs) and
// /readyz (200 when every check passes, 503 naming those that fail).
func Handler(m *Metrics, checks []Check) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		// A collector that cannot read the catalog must not hide the
		// SDK's metrics: serve the rest, log the error.
		ErrorHandling: promhttp.ContinueOnError, ErrorLog: errorLog{m.logger}}))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "live")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		failed := Ready(r.Context(), checks)
		if len(failed) == 0 {
			fmt.Fprintln(w, "ready")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready:\n%s\n", strings.Join(failed, "\n"))
	})
	return mux
}

type errorLog struct{ logger *slog.Logger }

func (l errorLog) Println(v ...any) {
	l.logger.Warn("metrics scrape", "error", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// Server is the HTTP server of a worker's metrics and probes.
type Server struct {
	srv  *http.Server
	addr net.Addr
	done chan error
}

// Listen serves h on addr (HOST:PORT; port 0 picks one, see Addr). The
// error is the listener's, for the caller to name the setting.
func Listen(addr string, h http.Handler) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, addr: l.Addr(), done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr.String() }

// Close stops the server, letting requests under way finish for a while.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if served := <-s.done; !errors.Is(served, http.ErrServerClosed) {
		err = errors.Join(err, served)
	}
	return err
}
