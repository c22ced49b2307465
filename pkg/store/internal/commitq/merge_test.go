package commitq

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func ids(rs []Row) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s@%d", r.ID, r.Start))
	}
	return out
}

// TestMergePage checks every page of random splits of a record set into
// database rows and queued rows against slicing the sorted union.
func TestMergePage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := rng.IntN(12)
		var union, db, extra []Row
		for i := range n {
			// Few distinct starts, so ties are broken by id.
			r := Row{ID: whisk.ActivationID(fmt.Sprintf("%02d", i)), Start: int64(rng.IntN(4))}
			union = append(union, r)
			if rng.IntN(2) == 0 {
				db = append(db, r)
			} else {
				extra = append(extra, r)
			}
		}
		SortRows(union)
		SortRows(db)
		for skip := 0; skip <= n+1; skip++ {
			for limit := 0; limit <= n+1; limit++ {
				offset, dbLimit := PageWindow(skip, limit, len(extra))
				window := db[min(offset, len(db)):]
				if dbLimit >= 0 && len(window) > dbLimit {
					window = window[:dbLimit]
				}
				got := MergePage(window, slices.Clone(extra), offset, skip, limit)
				want := union[min(skip, n):]
				if limit > 0 && len(want) > limit {
					want = want[:limit]
				}
				if d := cmp.Diff(ids(want), ids(got)); d != "" {
					t.Fatalf("round %d, db %v, extra %v, skip %d, limit %d (-want +got):\n%s",
						round, ids(db), ids(extra), skip, limit, d)
				}
			}
		}
	}
}

func TestMergePageQueuedCopyWins(t *testing.T) {
	db := []Row{{ID: "b", Start: 5, Body: []byte("old")}, {ID: "a", Start: 1}}
	extra := []Row{{ID: "b", Start: 5, Body: []byte("new")}}
	got := MergePage(db, extra, 0, 0, 0)
	if d := cmp.Diff([]string{"b@5", "a@1"}, ids(got)); d != "" {
		t.Fatalf("mergePage (-want +got):\n%s", d)
	}
	if string(got[0].Body) != "new" {
		t.Errorf("mergePage kept body %q, want the queued copy", got[0].Body)
	}
}
