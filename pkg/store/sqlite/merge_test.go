package sqlite

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func ids(rs []row) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s@%d", r.id, r.start))
	}
	return out
}

// TestMergePage checks every page of random splits of a record set into
// database rows and queued rows against slicing the sorted union.
func TestMergePage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := rng.IntN(12)
		var union, db, extra []row
		for i := range n {
			// Few distinct starts, so ties are broken by id.
			r := row{id: whisk.ActivationID(fmt.Sprintf("%02d", i)), start: int64(rng.IntN(4))}
			union = append(union, r)
			if rng.IntN(2) == 0 {
				db = append(db, r)
			} else {
				extra = append(extra, r)
			}
		}
		sortRows(union)
		sortRows(db)
		for skip := 0; skip <= n+1; skip++ {
			for limit := 0; limit <= n+1; limit++ {
				offset, dbLimit := pageWindow(skip, limit, len(extra))
				window := db[min(offset, len(db)):]
				if dbLimit >= 0 && len(window) > dbLimit {
					window = window[:dbLimit]
				}
				got := mergePage(window, slices.Clone(extra), offset, skip, limit)
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
	db := []row{{id: "b", start: 5, body: []byte("old")}, {id: "a", start: 1}}
	extra := []row{{id: "b", start: 5, body: []byte("new")}}
	got := mergePage(db, extra, 0, 0, 0)
	if d := cmp.Diff([]string{"b@5", "a@1"}, ids(got)); d != "" {
		t.Fatalf("mergePage (-want +got):\n%s", d)
	}
	if string(got[0].body) != "new" {
		t.Errorf("mergePage kept body %q, want the queued copy", got[0].body)
	}
}

// TestListWhileWriterBlocked holds the writer connection so that some
// records are surely committed and the rest surely queued, and checks every
// page against the same listing once all are durable.
func TestListWhileWriterBlocked(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"), Options{BatchSize: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	rng := rand.New(rand.NewPCG(3, 4))
	put := func(n int) {
		for range n {
			a := &whisk.Activation{Namespace: "ns", Name: []string{"a", "b"}[rng.IntN(2)], ActivationID: whisk.NewActivationID(), Start: int64(1 + rng.IntN(20))}
			if err := s.PutActivation(ctx, a); err != nil {
				t.Fatalf("PutActivation: %v", err)
			}
		}
	}
	put(30)
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	conn, err := s.wdb.Conn(ctx) // the only write connection: the writer waits
	if err != nil {
		t.Fatalf("Conn: %v", err)
	}
	put(30)

	var queries []store.ActivationQuery
	for skip := 0; skip <= 62; skip += 3 {
		for _, limit := range []int{0, 1, 5, 200} {
			for _, name := range []string{"", "a"} {
				queries = append(queries, store.ActivationQuery{Namespace: "ns", Name: name, Skip: skip, Limit: limit})
			}
		}
	}
	queries = append(queries, store.ActivationQuery{Namespace: "ns", Since: 5, Upto: 15, Skip: 4, Limit: 7})
	list := func() []string {
		var out []string
		for _, q := range queries {
			as, total, err := s.ListActivations(ctx, q)
			if err != nil {
				t.Fatalf("ListActivations: %v", err)
			}
			page := fmt.Sprintf("%+v total %d:", q, total)
			for _, a := range as {
				page += fmt.Sprintf(" %s@%d", a.ActivationID, a.Start)
			}
			out = append(out, page)
		}
		return out
	}
	queued := list()
	if n := len(s.q.matching(func(*item) bool { return true })); n != 30 {
		t.Fatalf("%d records queued while the writer is blocked, want 30", n)
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("release writer connection: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if d := cmp.Diff(list(), queued); d != "" {
		t.Errorf("listing with queued records differs from durable listing (-durable +queued):\n%s", d)
	}
}
