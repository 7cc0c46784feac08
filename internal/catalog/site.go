package catalog

import (
	"fmt"
	"strings"
)

// RetentionPermanent is the MEDIADEFS/DEFINE retention that never expires.
const RetentionPermanent = -1

// Site is one NonStop node with one BackPak domain and its DSM/TC defaults.
type Site struct {
	Node       string    // \PRIM
	DomainID   string    // BackPak domain id, e.g. BBOX
	BackPakID  string    // identity under which the domain's keys live in the key manager
	MediaDefs  MediaDefs // MEDIACOM ALTER MEDIADEFS
	SearchList []string  // system search list: node-qualified VOLCAT/FILECAT names
	// KeyManagers are the domain's other key-manager entries: a secondary
	// reads the replicated keys of encrypted volumes through an entry
	// carrying the primary's BackPak id.
	KeyManagers []KeyManagerEntry
}

// KeyManagerEntry is a key-manager entry of a BackPak domain: the BackPak
// id it presents and the key manager it reaches.
type KeyManagerEntry struct {
	BackPakID string
	Server    string // host:port, or a name
}

func (e KeyManagerEntry) String() string { return e.BackPakID + "=" + e.Server }

// ParseKeyManager parses BACKPAKID=SERVER.
func ParseKeyManager(s string) (KeyManagerEntry, error) {
	id, server, ok := strings.Cut(s, "=")
	e := KeyManagerEntry{BackPakID: id, Server: server}
	if !ok || !validBackPakID(id) || !validServer(server) {
		return e, fmt.Errorf("key manager entry %q: want BACKPAKID=SERVER, without spaces", s)
	}
	return e, nil
}

// KnowsBackPakID reports whether the domain presents id to a key manager:
// its own BackPak id or one of its entries'.
func (s *Site) KnowsBackPakID(id string) bool {
	if s.BackPakID == id {
		return true
	}
	for _, e := range s.KeyManagers {
		if e.BackPakID == id {
			return true
		}
	}
	return false
}

func validBackPakID(s string) bool {
	return s != "" && printable(s, 32) && !strings.ContainsAny(s, " =")
}

func validServer(s string) bool { return s != "" && printable(s, 100) && !strings.Contains(s, " ") }

// MediaDefs holds the node defaults of MEDIACOM MEDIADEFS.
type MediaDefs struct {
	DefaultVolcat    string
	DefaultFilecat   string
	Retention        int    // days 1..9999, or RetentionPermanent
	AbendRetention   int    // days 0..9999
	SearchListSystem string // node on which the system search list is defined
}

// SearchListNodes returns the distinct nodes of the system search list, in order.
func (s *Site) SearchListNodes() []string {
	var nodes []string
	for _, c := range s.SearchList {
		if n := CatalogNode(c); n != "" && !oneOf(n, nodes...) {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// Validate checks the site record.
func (s *Site) Validate() error {
	c := newChecker("SITE")
	check(c, ValidNode(s.Node), "NODE", s.Node, `must be \ and 1-7 letters or digits, the first a letter`)
	check(c, guardianName(s.DomainID, 8), "DOMAINID", s.DomainID, "must be 1-8 letters or digits, the first a letter")
	check(c, validBackPakID(s.BackPakID), "BACKPAKID", s.BackPakID, "must be 1-32 printable characters without spaces or =")
	m := s.MediaDefs
	check(c, ValidCatalogName(m.DefaultVolcat), "MEDIADEFS.VOLCAT", m.DefaultVolcat, "must be a catalog name of at most 30 characters")
	check(c, ValidCatalogName(m.DefaultFilecat), "MEDIADEFS.FILECAT", m.DefaultFilecat, "must be a catalog name of at most 30 characters")
	check(c, m.Retention == RetentionPermanent || (m.Retention >= 1 && m.Retention <= 9999),
		"MEDIADEFS.RETENTION", m.Retention, "must be 1-9999 days or PERMANENT")
	check(c, m.AbendRetention >= 0 && m.AbendRetention <= 9999, "MEDIADEFS.ABENDRETENTION", m.AbendRetention, "must be 0-9999 days")
	check(c, m.SearchListSystem == "" || ValidNode(m.SearchListSystem), "MEDIADEFS.SEARCHLISTSYSTEM", m.SearchListSystem, "must be a node name")
	for i, e := range s.KeyManagers {
		field := fmt.Sprintf("KEYMANAGER[%d]", i)
		check(c, validBackPakID(e.BackPakID), field+".BACKPAKID", e.BackPakID, "must be 1-32 printable characters without spaces or =")
		check(c, validServer(e.Server), field+".SERVER", e.Server, "must be 1-100 printable characters without spaces")
		for _, f := range s.KeyManagers[:i] {
			check(c, f.BackPakID != e.BackPakID, field+".BACKPAKID", e.BackPakID, "must not repeat another entry's")
		}
	}
	for i, e := range s.SearchList {
		check(c, ValidCatalogName(e) && CatalogNode(e) != "", fmt.Sprintf("SEARCHLIST[%d]", i), e, `must be a node-qualified catalog name (\NODE.NAME)`)
	}
	return c.result(func() string { return s.Node })
}
