package keyconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keystore"
	"github.com/catsync/catsync/internal/kmip"
	"github.com/catsync/catsync/internal/kmip/pykmiptest"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	master := make([]byte, 32)
	// open opens a primary with site's key manager, as the environment
	// would configure it.
	open := func(site config.Site, master []byte) (keys.Manager, error) {
		return Open(&config.Config{Primary: site, MasterKey: master}, config.RolePrimary)
	}
	pki := pykmiptest.NewPKI(t)
	pki.Issue(t, "site", false)
	ca, cert, key := filepath.Join(pki.Dir, "ca.pem"), filepath.Join(pki.Dir, "site.pem"), filepath.Join(pki.Dir, "site.key")
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)

	if m, err := open(config.Site{}, nil); m != nil || err != nil {
		t.Errorf("no key manager: %v, %v", m, err)
	}
	m, err := open(config.Site{Keys: "keystore:" + filepath.Join(dir, "k.log")}, master)
	if _, ok := m.(*keystore.Store); !ok || err != nil {
		t.Fatalf("keystore: %T, %v", m, err)
	}
	m.Close()
	m, err = Open(&config.Config{Secondary: config.Site{Keys: "kmip://127.0.0.1:5696", KMIP: config.KMIPFiles{CA: ca, Cert: cert, Key: key}}},
		config.RoleSecondary)
	if _, ok := m.(*kmip.Manager); !ok || err != nil {
		t.Fatalf("kmip: %T, %v", m, err)
	}

	for _, tc := range []struct {
		site config.Site
		want string
	}{
		{config.Site{Keys: "vault://x"}, `CATSYNC_PRIMARY_KEYS="vault://x": want keystore:PATH or kmip://HOST:PORT`},
		{config.Site{Keys: "keystore:"}, `CATSYNC_PRIMARY_KEYS="keystore:": give the keystore file`},
		{config.Site{Keys: "kmip://eskm"}, `CATSYNC_PRIMARY_KEYS="kmip://eskm": want kmip://HOST:PORT`},
		{config.Site{Keys: "kmip://eskm:5696", KMIP: config.KMIPFiles{Cert: cert, Key: key}}, "CATSYNC_PRIMARY_KMIP_CA is not set"},
		{config.Site{Keys: "kmip://eskm:5696", KMIP: config.KMIPFiles{CA: ca, Key: key}}, "CATSYNC_PRIMARY_KMIP_CERT is not set"},
		{config.Site{Keys: "kmip://eskm:5696", KMIP: config.KMIPFiles{CA: ca, Cert: cert}}, "CATSYNC_PRIMARY_KMIP_KEY is not set"},
		{config.Site{Keys: "kmip://eskm:5696", KMIP: config.KMIPFiles{CA: notPEM, Cert: cert, Key: key}}, "CATSYNC_PRIMARY_KMIP_CA=" + notPEM + ": no PEM certificate"},
		{config.Site{Keys: "kmip://eskm:5696", KMIP: config.KMIPFiles{CA: ca, Cert: notPEM, Key: key}}, "CATSYNC_PRIMARY_KMIP_CERT/CATSYNC_PRIMARY_KMIP_KEY"},
	} {
		if _, err := open(tc.site, master); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.site, err, tc.want)
		}
	}
	if _, err := open(config.Site{Keys: "keystore:" + filepath.Join(dir, "k.log")}, nil); err == nil ||
		!strings.Contains(err.Error(), config.MasterKeyEnv+" is not set") {
		t.Errorf("keystore without a master key: %v", err)
	}
}
