package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/catsync/catsync/internal/importer"
)

// check is what the checker found on the secondary after a trial,
// against the primary at the watermark the secondary applied (the
// primary does not change during a trial): its rows by verify, its
// volumes by counts, its audit chain.
type check struct {
	Lost       int    // rows of the primary the secondary lacks
	Duplicated int    // rows the secondary holds that the primary has not, or volumes it holds twice over
	Corrupt    int    // rows that differ
	Pending    int    // volumes the primary deleted, for the next FULL to remove: not drift
	Audit      string // "" when the chain is intact
	Problem    string // the checker could not check
}

func (c check) clean() bool {
	return c.Lost == 0 && c.Duplicated == 0 && c.Corrupt == 0 && c.Audit == "" && c.Problem == ""
}

func (c check) String() string {
	s := fmt.Sprintf("%d lost, %d duplicated, %d corrupt, %d pending deletes", c.Lost, c.Duplicated, c.Corrupt, c.Pending)
	if c.Audit != "" {
		s += ", audit: " + c.Audit
	}
	if c.Problem != "" {
		s += ", " + c.Problem
	}
	return s
}

// check runs catsync verify, counts and audit verify as an operator
// would, and reads their JSON.
func (w *world) check(ctx context.Context) check {
	var c check
	out, errOut, verr := w.outputs(ctx, "verify", "--store", storeID, "--json")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var d importer.Drift
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			c.Problem = "verify: " + firstLine(out+errOut)
			break
		}
		switch d.Kind {
		case "missing":
			c.Lost++
		case "extra":
			c.Duplicated++
		case "different":
			c.Corrupt++
		case importer.PendingDelete:
			c.Pending++
		default:
			c.Problem = "verify: kind " + d.Kind
		}
	}
	if verr != nil && c.Lost+c.Duplicated+c.Corrupt == 0 && c.Problem == "" {
		c.Problem = "verify: " + firstLine(errOut)
	}

	// Volumes counted at both sites: the secondary holds each of the
	// primary's once, and the deleted ones a FULL has not removed yet.
	var volumes [2]int64
	for i, catalog := range []string{w.env["CATSYNC_PRIMARY_CATALOG"], w.secondaryCatalog()} {
		out, errOut, err := w.outputs(ctx, "counts", "--catalog", catalog, "--json")
		var rep struct {
			Stores []struct {
				ID      string `json:"id"`
				Volumes int64  `json:"volumes"`
			} `json:"stores"`
		}
		if err != nil || json.Unmarshal([]byte(out), &rep) != nil {
			c.Problem = "counts: " + firstLine(errOut+out)
			continue
		}
		for _, s := range rep.Stores {
			if s.ID == storeID {
				volumes[i] = s.Volumes
			}
		}
	}
	if extra := volumes[1] - volumes[0] - int64(c.Pending); extra > 0 && c.Problem == "" {
		c.Duplicated += int(extra)
	} else if extra < 0 && c.Lost == 0 {
		c.Lost += int(-extra)
	}

	if out, err := w.output(ctx, "audit", "verify"); err != nil {
		c.Audit = firstLine(out)
	}
	return c
}
