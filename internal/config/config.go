// Package config reads catsync's configuration from environment variables
// and checks it at start, naming the variable at fault.
package config

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/kelseyhightower/envconfig"

	"github.com/catsync/catsync/internal/catalog"
)

// Site is one site as a worker or the CLI reaches it.
type Site struct {
	Name    string `envconfig:"NAME"`    // task queue catsync.<name>
	Catalog string `envconfig:"CATALOG"` // SQLite path or postgres:// DSN
	Staging string `envconfig:"STAGING"` // the primary's outbox, or the secondary's staging area
	// Data is the root of the site's data stores' folders, where volume
	// images live (one folder per data store id): the simulator writes
	// the primary's, the restore test reads the secondary's.
	Data string `envconfig:"DATA"`
	// The site's key manager: keystore:PATH (the embedded keystore, under
	// Config.MasterKey) or kmip://HOST:PORT.
	Keys string    `envconfig:"KEYS"`
	KMIP KMIPFiles `envconfig:"KMIP"`
}

// KMIPFiles are the PEM files of a mutual TLS connection to a KMIP server.
type KMIPFiles struct {
	CA   string `envconfig:"CA"`   // the CA that signed the server's certificate
	Cert string `envconfig:"CERT"` // this site's client certificate ...
	Key  string `envconfig:"KEY"`  // ... and its private key
}

// Config is the whole configuration.
type Config struct {
	TemporalAddress   string `envconfig:"TEMPORAL_ADDRESS" default:"127.0.0.1:7233"`
	TemporalNamespace string `envconfig:"TEMPORAL_NAMESPACE" default:"default"`
	// TLS secures the connection to Temporal (TEMPORAL_TLS_*,
	// TEMPORAL_API_KEY); read by readTemporalTLS, since envconfig would
	// quote the API key in its errors.
	TLS TemporalTLS `ignored:"true"`
	// UI is the Web UI's base URL, for links; read as CATSYNC_UI_URL,
	// DefaultUI when that is empty or unset.
	UI string `ignored:"true"`

	Primary   Site `envconfig:"CATSYNC_PRIMARY"`
	Secondary Site `envconfig:"CATSYNC_SECONDARY"`
	// Where the secondary's worker reads the primary's outbox (a share, or
	// the same folder when both run here); the primary's staging by default.
	Source string `envconfig:"CATSYNC_SECONDARY_SOURCE"`
	// PrimarySource is where the primary's worker reads the secondary's
	// snapshots once a failback reverses the direction (default:
	// CATSYNC_SECONDARY_STAGING).
	PrimarySource string `envconfig:"CATSYNC_PRIMARY_SOURCE"`
	// Which sites this process serves: primary, secondary or both.
	Serve []string `envconfig:"CATSYNC_SERVE" default:"primary,secondary"`
	// Whether this process also runs workflows (queue "catsync"); read by
	// ParseBool, not envconfig, whose error is strconv's.
	Workflows bool `ignored:"true"`

	// Catalog is the CLI's default --catalog: an SQLite path or a
	// postgres:// DSN.
	Catalog string `envconfig:"CATSYNC_CATALOG"`
	// MasterKey seals the embedded keystores' material: 32 bytes, given in
	// CATSYNC_KEYSTORE_MASTER_KEY in base64; nil when that is not set.
	MasterKey []byte `ignored:"true"`

	// Signing are the sites' snapshot keys (CATSYNC_<ROLE>_SIGNING_KEY,
	// CATSYNC_<ROLE>_TRUSTED_KEYS); read by readSigning.
	Signing Signing `ignored:"true"`

	// Codec encrypts Temporal payloads (CATSYNC_CODEC_*); read by
	// readCodec.
	Codec Codec `ignored:"true"`

	// MetricsAddress is where the worker serves its Prometheus metrics
	// and health probes (HOST:PORT); empty: no endpoint.
	MetricsAddress string `envconfig:"CATSYNC_METRICS_ADDRESS"`
}

// Variables read outside envconfig's struct tags, named in messages.
const (
	CatalogEnv   = "CATSYNC_CATALOG"
	MasterKeyEnv = "CATSYNC_KEYSTORE_MASTER_KEY"
	WorkflowsEnv = "CATSYNC_WORKFLOWS"
	UIEnv        = "CATSYNC_UI_URL"
	MetricsEnv   = "CATSYNC_METRICS_ADDRESS"
	// DefaultUI is the dev server's Web UI (scripts/dev-server).
	DefaultUI = "http://localhost:8233"
)

// Roles a process can serve.
const (
	RolePrimary   = "primary"
	RoleSecondary = "secondary"
)

// Read reads the whole environment and checks the values that are set;
// it requires none. Commands that open catalogs or key managers directly,
// and need neither Temporal nor the site names, use it.
func Read() (*Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return nil, err
	}
	if c.Source == "" {
		c.Source = c.Primary.Staging
	}
	if c.PrimarySource == "" {
		c.PrimarySource = c.Secondary.Staging
	}
	var err error
	if c.TLS, err = readTemporalTLS(); err != nil {
		return nil, err
	}
	if c.Signing, err = readSigning(); err != nil {
		return nil, err
	}
	if c.Codec, err = readCodec(); err != nil {
		return nil, err
	}
	c.Workflows = true
	if v := os.Getenv(WorkflowsEnv); v != "" {
		if c.Workflows, err = ParseBool(WorkflowsEnv, v); err != nil {
			return nil, err
		}
	}
	c.UI = cmp.Or(strings.TrimSpace(os.Getenv(UIEnv)), DefaultUI)
	if u, err := url.Parse(c.UI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Bad(UIEnv, c.UI, "want the Temporal Web UI's base URL, such as "+DefaultUI)
	}
	if c.MetricsAddress = strings.TrimSpace(c.MetricsAddress); c.MetricsAddress != "" {
		// A bare port or host would fail only at listen time, less plainly.
		host, port, err := net.SplitHostPort(c.MetricsAddress)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, "/ ") {
			return nil, Bad(MetricsEnv, c.MetricsAddress, "want HOST:PORT to serve the metrics and health probes on, such as 127.0.0.1:9464 (unset: none)")
		}
	}
	// Read here, not through envconfig: its errors quote the value, and a
	// secret must not reach a log.
	if v := strings.TrimSpace(os.Getenv(MasterKeyEnv)); v != "" {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(k) != 32 {
			return nil, Bad(MasterKeyEnv, "", "want 32 bytes in base64 (head -c 32 /dev/urandom | base64)")
		}
		c.MasterKey = k
	}
	return &c, nil
}

// Load reads the environment as Read does, and checks what every command
// talking to Temporal needs: the Temporal endpoint and the site names.
func Load() (*Config, error) {
	c, err := Read()
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.TemporalAddress) == "" {
		return nil, fmt.Errorf("TEMPORAL_ADDRESS is empty: set it to the Temporal frontend host:port")
	}
	for _, s := range []struct{ v, name string }{{c.Primary.Name, "CATSYNC_PRIMARY_NAME"}, {c.Secondary.Name, "CATSYNC_SECONDARY_NAME"}} {
		if s.v == "" {
			return nil, fmt.Errorf("%s is not set: name the site (its worker serves task queue catsync.<name>)", s.name)
		}
		if !catalog.ValidPoolName(strings.ToUpper(s.v)) {
			return nil, Bad(s.name, s.v, "a site name is 1-30 letters, digits or underscores, the first a letter")
		}
	}
	if strings.EqualFold(c.Primary.Name, c.Secondary.Name) {
		return nil, fmt.Errorf("CATSYNC_PRIMARY_NAME and CATSYNC_SECONDARY_NAME are both %q: the sites need their own names", c.Primary.Name)
	}
	for _, r := range c.Serve {
		if r != RolePrimary && r != RoleSecondary {
			return nil, Bad("CATSYNC_SERVE", strings.Join(c.Serve, ","), "each role must be primary or secondary")
		}
	}
	return c, nil
}

// Serves reports whether the process serves a role.
func (c *Config) Serves(role string) bool { return slices.Contains(c.Serve, role) }

// Site returns the site of a role: the secondary for RoleSecondary, the
// primary otherwise.
func (c *Config) Site(role string) Site {
	if role == RoleSecondary {
		return c.Secondary
	}
	return c.Primary
}

// RequireSite checks that a site's catalog and staging area are set.
func (c *Config) RequireSite(role string) error {
	s, prefix := c.Site(role), Prefix(role)
	if s.Catalog == "" {
		return fmt.Errorf("%s_CATALOG is not set: give the %s site's catalog (an SQLite path or a postgres:// DSN)", prefix, role)
	}
	if s.Staging == "" {
		return fmt.Errorf("%s_STAGING is not set: give the %s site's staging folder", prefix, role)
	}
	if role == RoleSecondary && c.Source == "" {
		return fmt.Errorf("CATSYNC_SECONDARY_SOURCE is not set (nor CATSYNC_PRIMARY_STAGING): say where the secondary reads the primary's snapshots")
	}
	return nil
}

// Prefix is the prefix of a role's variables, for messages that name them.
func Prefix(role string) string {
	if role == RoleSecondary {
		return "CATSYNC_SECONDARY"
	}
	return "CATSYNC_PRIMARY"
}

// KeystoreMasterKey returns the master key an embedded keystore needs, or
// an error naming the variable when it is not set.
func (c *Config) KeystoreMasterKey() ([]byte, error) {
	if c.MasterKey == nil {
		return nil, fmt.Errorf("%s is not set: give the keystore's master key, 32 bytes in base64", MasterKeyEnv)
	}
	return c.MasterKey, nil
}
