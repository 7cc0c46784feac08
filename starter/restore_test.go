package main

import (
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
)

// restore-test at the secondary alone: the keys' group from the secondary
// domain's key-manager entry, every volume of a sample restorable on a
// clean pair; a missing image fails it with exit 1, naming the volume, and
// --labels tests only those asked; bad flags are refused.
func TestRestoreTestCommand(t *testing.T) {
	p := simtest.New(t, simtest.Small(), simtest.Options{Keys: simtest.Keystores, Images: true})
	importDirect(t, p.Config.Primary.Catalog, p.Config.Secondary.Catalog, importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
	useKeys(t, p.Config)
	t.Setenv("CATSYNC_SECONDARY_DATA", p.Config.Secondary.Data)
	args := []string{"restore-test", "--store", "DS_PROD", "--secondary", p.Config.Secondary.Catalog, "--sample", "1000"}

	p.ReplicateData(t, sim.DataReplication{})
	rep := jsonLines[restore.Report](t, mustRun(t, append(args, "--json")...))
	if len(rep) != 1 || rep[0].Sampled == 0 || int64(rep[0].Sampled) != rep[0].Volumes || rep[0].Failed != 0 || rep[0].Fraction != 1 {
		t.Fatalf("restore-test of a clean pair: %+v", rep)
	}

	missing := rep[0].Verdicts[0].Label
	p.ReplicateData(t, sim.DataReplication{Missing: []string{missing}})
	out, _, code := catsync(t, append(args, "--labels", missing)...)
	if code != 1 || !strings.Contains(out, "volume "+missing+" (asked): IMAGE_MISSING") || !strings.Contains(out, "0 of 1 sampled volumes restorable") {
		t.Errorf("restore-test of a volume without its image: exit %d\n%s", code, out)
	}

	mustFail(t, []string{"--store"}, "restore-test")
	mustFail(t, []string{"--sample", "-1"}, "restore-test", "--store", "DS_PROD", "--sample", "-1")
	mustFail(t, []string{"label ZZZ999", "not a volume of data store DS_PROD"}, append(args, "--labels", "ZZZ999")...)
}
