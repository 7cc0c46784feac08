package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/converter"

	"github.com/catsync/catsync/internal/codec"
	"github.com/catsync/catsync/internal/config"
)

func (c *cli) codecServerCmd() *cobra.Command {
	var listen, origin, certFile, keyFile string
	cmd := &cobra.Command{
		Use:   "codec-server [--listen HOST:PORT] [--ui-origin URL] [--tls-cert FILE --tls-key FILE]",
		Short: "Serve the payload codec to the Temporal Web UI",
		Long: `Serves POST /encode and /decode (under any path prefix) with the payload codec of
CATSYNC_CODEC_KEYS, so the Temporal Web UI shows decoded inputs and results to an
operator whose request carries "Authorization: Bearer TOKEN", TOKEN being one of
CATSYNC_CODEC_TOKENS; other requests get 401 or 403 and no decoded data. Browsers
may call it only from --ui-origin (CORS). See docs/codec.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Read()
			if err != nil {
				return err
			}
			pc, err := cfg.Codec.New()
			if err != nil {
				return err
			}
			if pc == nil {
				return config.Bad(config.CodecKeysEnv, "", "not set: the codec server needs the payload keys")
			}
			if len(cfg.Codec.Tokens) == 0 {
				return config.Bad(config.CodecTokensEnv, "", "not set: the codec server decodes only for a bearer token it knows")
			}
			if (certFile == "") != (keyFile == "") {
				return errors.New("--tls-cert and --tls-key go together")
			}
			if origin == "" {
				origin = cfg.UI
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			srv := &http.Server{Handler: codecHandler(pc, cfg.Codec.Tokens, origin), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				srv.Close()
			}()
			scheme := "http"
			if certFile != "" {
				scheme = "https"
			}
			fmt.Fprintf(c.out, "codec server at %s://%s for the Web UI at %s\n", scheme, ln.Addr(), origin)
			if certFile != "" {
				err = srv.ServeTLS(ln, certFile, keyFile)
			} else {
				err = srv.Serve(ln)
			}
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8088", "the HOST:PORT to serve on")
	cmd.Flags().StringVar(&origin, "ui-origin", "", "the Web UI's origin allowed by CORS (default: "+config.UIEnv+")")
	cmd.Flags().StringVar(&certFile, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	cmd.Flags().StringVar(&keyFile, "tls-key", "", "... and this private key (PEM)")
	return cmd
}

// codecHandler answers the Web UI's CORS preflight from origin, and
// decodes or encodes only for a request bearing one of tokens.
func codecHandler(pc *codec.Codec, tokens []string, origin string) http.Handler {
	origin = strings.TrimRight(origin, "/")
	// Hashes compared in constant time: neither a token's content nor its
	// length leaks through timing.
	sums := make([][32]byte, len(tokens))
	for i, t := range tokens {
		sums[i] = sha256.Sum256([]byte(t))
	}
	inner := converter.NewPayloadCodecHTTPHandler(pc)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			if o != origin {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || bearer == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="catsync codec"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		sum, match := sha256.Sum256([]byte(bearer)), 0
		for _, s := range sums {
			match |= subtle.ConstantTimeCompare(sum[:], s[:])
		}
		if match != 1 {
			http.Error(w, "token not allowed", http.StatusForbidden)
			return
		}
		inner.ServeHTTP(w, r)
	})
}
