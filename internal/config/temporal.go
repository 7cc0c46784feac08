package config

import (
	"os"
	"strings"
)

// The variables securing the connection to the Temporal frontend: the
// standard ones of Temporal's clients (the CLI, and the SDKs' envconfig),
// so one environment file serves catsync and the temporal CLI alike.
const (
	TLSEnv             = "TEMPORAL_TLS"
	TLSCertPathEnv     = "TEMPORAL_TLS_CLIENT_CERT_PATH"
	TLSCertDataEnv     = "TEMPORAL_TLS_CLIENT_CERT_DATA"
	TLSKeyPathEnv      = "TEMPORAL_TLS_CLIENT_KEY_PATH"
	TLSKeyDataEnv      = "TEMPORAL_TLS_CLIENT_KEY_DATA"
	TLSCAPathEnv       = "TEMPORAL_TLS_SERVER_CA_CERT_PATH"
	TLSCADataEnv       = "TEMPORAL_TLS_SERVER_CA_CERT_DATA"
	TLSServerNameEnv   = "TEMPORAL_TLS_SERVER_NAME"
	TLSNoHostVerifyEnv = "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"
	APIKeyEnv          = "TEMPORAL_API_KEY"
	temporalConfigEnv  = "TEMPORAL_CONFIG_FILE"
	temporalProfileEnv = "TEMPORAL_PROFILE"
)

// PEM is one PEM item given either as a file (the _PATH variable) or
// inline (the _DATA variable, for secrets injected as environment).
type PEM struct {
	Path, Data string
	// The variables it came from, for messages.
	PathEnv, DataEnv string
}

// Set reports whether the item is given at all.
func (p PEM) Set() bool { return p.Path != "" || p.Data != "" }

// Setting is the variable that gives the item, for messages.
func (p PEM) Setting() string {
	if p.Path == "" && p.Data != "" {
		return p.DataEnv
	}
	return p.PathEnv
}

// TemporalTLS is how catsync's programs secure their connection to the
// Temporal frontend: TLS, a client certificate for mutual TLS, the CA of
// the server's certificate, and an API key.
type TemporalTLS struct {
	// Enabled is true when TEMPORAL_TLS says so, or, unset, when any
	// other TLS variable or the API key is set (as Temporal's clients do).
	Enabled    bool
	Cert, Key  PEM
	CA         PEM // empty: the system's roots
	ServerName string
	// NoHostVerify skips the check of the server's certificate: for a
	// test, never for production.
	NoHostVerify bool
	// APIKey is a secret: never in a message.
	APIKey string
}

// Mutual reports whether a client certificate is presented.
func (t TemporalTLS) Mutual() bool { return t.Cert.Set() }

// readTemporalTLS reads and checks the TEMPORAL_TLS_* variables and the
// API key; the files they name are read at dial time, where a missing
// one is named by its variable too.
func readTemporalTLS() (TemporalTLS, error) {
	get := func(k string) string { return strings.TrimSpace(os.Getenv(k)) }
	t := TemporalTLS{
		Cert:       PEM{Path: get(TLSCertPathEnv), Data: get(TLSCertDataEnv), PathEnv: TLSCertPathEnv, DataEnv: TLSCertDataEnv},
		Key:        PEM{Path: get(TLSKeyPathEnv), Data: get(TLSKeyDataEnv), PathEnv: TLSKeyPathEnv, DataEnv: TLSKeyDataEnv},
		CA:         PEM{Path: get(TLSCAPathEnv), Data: get(TLSCADataEnv), PathEnv: TLSCAPathEnv, DataEnv: TLSCADataEnv},
		ServerName: get(TLSServerNameEnv),
		APIKey:     get(APIKeyEnv),
	}
	for _, p := range []PEM{t.Cert, t.Key, t.CA} {
		if p.Path != "" && p.Data != "" {
			return t, Bad(p.DataEnv, "", "set either "+p.PathEnv+" or "+p.DataEnv+", not both")
		}
	}
	if t.Cert.Set() != t.Key.Set() {
		if t.Cert.Set() {
			return t, Bad(TLSKeyPathEnv, "", "not set, and "+t.Cert.Setting()+" is: a client certificate needs its private key")
		}
		return t, Bad(TLSCertPathEnv, "", "not set, and "+t.Key.Setting()+" is: a private key needs its client certificate")
	}
	if v := get(TLSNoHostVerifyEnv); v != "" {
		var err error
		if t.NoHostVerify, err = ParseBool(TLSNoHostVerifyEnv, v); err != nil {
			return t, err
		}
	}
	t.Enabled = t.Cert.Set() || t.CA.Set() || t.ServerName != "" || t.NoHostVerify || t.APIKey != ""
	if v := get(TLSEnv); v != "" {
		on, err := ParseBool(TLSEnv, v)
		if err != nil {
			return t, err
		}
		if !on && t.Enabled {
			// Temporal's clients would quietly send the key or ignore the
			// certificate in clear text; say which setting contradicts.
			other := TLSServerNameEnv
			switch {
			case t.APIKey != "":
				other = APIKeyEnv
			case t.Cert.Set():
				other = t.Cert.Setting()
			case t.CA.Set():
				other = t.CA.Setting()
			case t.NoHostVerify:
				other = TLSNoHostVerifyEnv
			}
			return t, Bad(TLSEnv, v, "TLS is off, yet "+other+" is set: unset one of them (an API key or a certificate is never sent in clear)")
		}
		t.Enabled = on
	}
	// catsync reads the variables, not the temporal CLI's profile files:
	// a profile would be silently ignored.
	for _, k := range []string{temporalConfigEnv, temporalProfileEnv} {
		if v := get(k); v != "" {
			return t, Bad(k, v, "catsync does not read Temporal client profiles: set TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TEMPORAL_TLS_* variables instead, and unset "+k)
		}
	}
	return t, nil
}
