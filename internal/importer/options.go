package importer

import (
	"fmt"
	"strings"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/safety"
)

// NodePair rewrites the node of DISKFILE names: From is the primary's
// node, To the name to give it on the secondary.
type NodePair struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ParseNodePairs parses `\PRIM=\SECD,\OLD=\NEW`.
func ParseNodePairs(s string) ([]NodePair, error) {
	var pairs []NodePair
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !catalog.ValidNode(from) || !catalog.ValidNode(to) {
			return nil, fmt.Errorf("node pair %q: want \\OLD=\\NEW with node names", part)
		}
		pairs = append(pairs, NodePair{from, to})
	}
	return pairs, CheckNodePairs(pairs)
}

// CheckNodePairs refuses pairs that are not node names, or that rename one
// node two ways (the first would silently win); a pair given twice is
// harmless.
func CheckNodePairs(pairs []NodePair) error {
	to := map[string]string{}
	for _, p := range pairs {
		if !catalog.ValidNode(p.From) || !catalog.ValidNode(p.To) {
			return fmt.Errorf("node pair %s=%s: want \\OLD=\\NEW with node names", p.From, p.To)
		}
		if prev, ok := to[strings.ToUpper(p.From)]; ok && !strings.EqualFold(prev, p.To) {
			return fmt.Errorf("node pairs %s=%s and %s=%s rename %s two ways: give one", p.From, prev, p.From, p.To, p.From)
		}
		to[strings.ToUpper(p.From)] = p.To
	}
	return nil
}

// Options are the per-run choices of an import.
type Options struct {
	StoreID      string
	CatalogFiles bool       // import DISKFILE and DFTOV
	NodePairs    []NodePair // DISKFILE node rewriting
}

// Setup is the import as the configuration rules see it.
func (o Options) Setup() safety.Setup {
	return safety.Setup{StoreID: o.StoreID, CatalogFiles: o.CatalogFiles, NodePairs: len(o.NodePairs) > 0}
}
