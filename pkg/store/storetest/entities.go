package storetest

import (
	"errors"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

var collections = []store.Collection{store.Actions, store.Packages, store.Triggers, store.Rules}

func doc(c store.Collection, namespace, name string, updated int64) *store.Document {
	return &store.Document{
		Collection: c, Namespace: namespace, Name: name, Updated: updated,
		Body: []byte(`{"name":"` + name + `"}`),
	}
}

func mustPut(t *testing.T, s store.Store, docs ...*store.Document) {
	t.Helper()
	for _, d := range docs {
		if err := s.PutEntity(t.Context(), d); err != nil {
			t.Fatalf("PutEntity(%s): %v", key(d.Namespace, d.Name), err)
		}
	}
}

func testEntityCreateGet(t *testing.T, h *harness) {
	for _, c := range collections {
		for _, ns := range []string{"ns", "ns/pkg"} {
			d := doc(c, ns, "e-"+string(c), 1234)
			if err := h.s.PutEntity(t.Context(), d); err != nil {
				t.Fatalf("PutEntity(%s, %s): %v", c, key(ns, d.Name), err)
			}
			if d.Rev == 0 {
				t.Errorf("PutEntity(%s, %s) left Rev 0", c, key(ns, d.Name))
			}
			got, err := h.s.GetEntity(t.Context(), ns, d.Name)
			if err != nil {
				t.Fatalf("GetEntity(%s): %v", key(ns, d.Name), err)
			}
			diff(t, "GetEntity("+key(ns, d.Name)+")", d, got)
		}
	}
	_, err := h.s.GetEntity(t.Context(), "ns", "missing")
	wantKind(t, "GetEntity(missing)", err, whisk.KindNotFound)
	_, err = h.s.GetEntity(t.Context(), "other", "e-actions")
	wantKind(t, "GetEntity(other namespace)", err, whisk.KindNotFound)
}

func testEntityCreateExisting(t *testing.T, h *harness) {
	i := 0
	for _, first := range collections {
		for _, second := range collections {
			i++
			name := "e" + string(rune('a'+i))
			orig := doc(first, "ns", name, 1)
			mustPut(t, h.s, orig)
			err := h.s.PutEntity(t.Context(), doc(second, "ns", name, 2))
			wantIs(t, "create "+string(second)+" over "+string(first), err, store.ErrExists)
			wantKind(t, "create "+string(second)+" over "+string(first), err, whisk.KindConflict)
			if !store.IsExists(err) {
				t.Errorf("store.IsExists(%v) = false", err)
			}
			got, err := h.s.GetEntity(t.Context(), "ns", name)
			if err != nil {
				t.Fatalf("GetEntity: %v", err)
			}
			diff(t, "document after refused create", orig, got)
		}
	}
	// The same name elsewhere is another key.
	mustPut(t, h.s, doc(store.Actions, "ns2", "eb", 1), doc(store.Actions, "ns/pkg", "eb", 1))
}

func testEntityReplace(t *testing.T, h *harness) {
	d := doc(store.Actions, "ns", "a", 1)
	mustPut(t, h.s, d)
	rev1 := d.Rev

	upd := doc(store.Actions, "ns", "a", 2)
	upd.Body = []byte(`{"v":2}`)
	upd.Rev = rev1
	if err := h.s.PutEntity(t.Context(), upd); err != nil {
		t.Fatalf("replace with current rev: %v", err)
	}
	if upd.Rev == rev1 || upd.Rev == 0 {
		t.Errorf("replace set Rev %d, want a new revision after %d", upd.Rev, rev1)
	}
	got, err := h.s.GetEntity(t.Context(), "ns", "a")
	if err != nil {
		t.Fatalf("GetEntity: %v", err)
	}
	diff(t, "replaced document", upd, got)

	for _, tc := range []struct {
		name string
		rev  int64
	}{
		{"old rev", rev1},
		{"unknown rev", upd.Rev + 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stale := doc(store.Actions, "ns", "a", 3)
			stale.Rev = tc.rev
			err := h.s.PutEntity(t.Context(), stale)
			wantIs(t, "replace with "+tc.name, err, store.ErrStale)
			wantKind(t, "replace with "+tc.name, err, whisk.KindConflict)
			if store.IsExists(err) {
				t.Errorf("store.IsExists(%v) = true for a stale revision", err)
			}
			got, err := h.s.GetEntity(t.Context(), "ns", "a")
			if err != nil {
				t.Fatalf("GetEntity: %v", err)
			}
			diff(t, "document after refused replace", upd, got)
		})
	}

	missing := doc(store.Actions, "ns", "missing", 1)
	missing.Rev = rev1
	wantKind(t, "replace missing document", h.s.PutEntity(t.Context(), missing), whisk.KindNotFound)
}

func testEntityDelete(t *testing.T, h *harness) {
	for _, tc := range []struct {
		name    string
		exists  bool
		rev     func(stored int64) int64
		want    error // nil, ErrStale
		notFnd  bool  // want KindNotFound
		remains bool  // the document is still there afterwards
	}{
		{name: "any rev", exists: true, rev: func(int64) int64 { return 0 }},
		{name: "current rev", exists: true, rev: func(r int64) int64 { return r }},
		{name: "stale rev", exists: true, rev: func(r int64) int64 { return r + 7 }, want: store.ErrStale, remains: true},
		{name: "missing", rev: func(int64) int64 { return 0 }, notFnd: true},
		{name: "missing with rev", rev: func(int64) int64 { return 3 }, notFnd: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "d-" + tc.name
			var stored int64
			if tc.exists {
				d := doc(store.Triggers, "ns", name, 1)
				mustPut(t, h.s, d)
				stored = d.Rev
			}
			err := h.s.DeleteEntity(t.Context(), "ns", name, tc.rev(stored))
			switch {
			case tc.notFnd:
				wantKind(t, "DeleteEntity", err, whisk.KindNotFound)
			case tc.want != nil:
				wantIs(t, "DeleteEntity", err, tc.want)
			case err != nil:
				t.Fatalf("DeleteEntity: %v", err)
			}
			_, err = h.s.GetEntity(t.Context(), "ns", name)
			if tc.remains {
				if err != nil {
					t.Errorf("GetEntity after refused delete: %v", err)
				}
			} else {
				wantKind(t, "GetEntity after delete", err, whisk.KindNotFound)
			}
		})
	}
	// A deleted key can be created again.
	mustPut(t, h.s, doc(store.Rules, "ns", "d-any rev", 1))
}

// listKeys lists q and returns the documents' keys and the total.
func listKeys(t *testing.T, s store.Store, q store.ListQuery) ([]string, int) {
	t.Helper()
	docs, total, err := s.ListEntities(t.Context(), q)
	if err != nil {
		t.Fatalf("ListEntities(%+v): %v", q, err)
	}
	keys := []string{}
	for _, d := range docs {
		if d.Collection != q.Collection {
			t.Errorf("ListEntities(%+v) returned %s of collection %s", q, key(d.Namespace, d.Name), d.Collection)
		}
		keys = append(keys, key(d.Namespace, d.Name))
	}
	return keys, total
}

type listCase struct {
	name      string
	q         store.ListQuery
	want      []string
	wantTotal int
}

func runListCases(t *testing.T, s store.Store, cases []listCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, total := listKeys(t, s, tc.q)
			diff(t, "ListEntities", tc.want, got)
			if total != tc.wantTotal {
				t.Errorf("ListEntities total = %d, want %d", total, tc.wantTotal)
			}
		})
	}
}

func testEntityList(t *testing.T, h *harness) {
	mustPut(t, h.s,
		doc(store.Actions, "ns", "a1", 10),
		doc(store.Actions, "ns", "a2", 30),
		doc(store.Actions, "ns", "a3", 20),
		doc(store.Actions, "ns", "a4", 50),
		doc(store.Actions, "ns", "a5", 40),
		doc(store.Triggers, "ns", "t1", 60),
		doc(store.Actions, "ns/pkg", "p1", 35),
		doc(store.Packages, "ns", "pkg", 5),
		doc(store.Actions, "ns2", "b1", 70),
	)
	all := []string{"ns/a4", "ns/a5", "ns/a2", "ns/a3", "ns/a1"}
	actions := store.ListQuery{Collection: store.Actions, Namespace: "ns"}
	page := func(skip, limit int) store.ListQuery {
		q := actions
		q.Skip, q.Limit = skip, limit
		return q
	}
	runListCases(t, h.s, []listCase{
		{"all", actions, all, 5},
		{"limit", page(0, 2), all[:2], 5},
		{"skip and limit", page(1, 2), all[1:3], 5},
		{"last page", page(4, 10), all[4:], 5},
		{"skip past end", page(10, 0), []string{}, 5},
		{"skip only", page(3, 0), all[3:], 5},
		{"triggers", store.ListQuery{Collection: store.Triggers, Namespace: "ns"}, []string{"ns/t1"}, 1},
		{"packages", store.ListQuery{Collection: store.Packages, Namespace: "ns"}, []string{"ns/pkg"}, 1},
		{"empty collection", store.ListQuery{Collection: store.Rules, Namespace: "ns"}, []string{}, 0},
		{"package", store.ListQuery{Collection: store.Actions, Namespace: "ns/pkg"}, []string{"ns/pkg/p1"}, 1},
		{"with packages", store.ListQuery{Collection: store.Actions, Namespace: "ns", WithPackages: true},
			[]string{"ns/a4", "ns/a5", "ns/pkg/p1", "ns/a2", "ns/a3", "ns/a1"}, 6},
		{"with packages limit", store.ListQuery{Collection: store.Actions, Namespace: "ns", WithPackages: true, Limit: 3},
			[]string{"ns/a4", "ns/a5", "ns/pkg/p1"}, 6},
		{"other namespace", store.ListQuery{Collection: store.Actions, Namespace: "ns2"}, []string{"ns2/b1"}, 1},
		{"unknown namespace", store.ListQuery{Collection: store.Actions, Namespace: "nope"}, []string{}, 0},
	})

	// Listed documents are complete.
	docs, _, err := h.s.ListEntities(t.Context(), page(0, 1))
	if err != nil {
		t.Fatalf("ListEntities: %v", err)
	}
	want, err := h.s.GetEntity(t.Context(), "ns", "a4")
	if err != nil {
		t.Fatalf("GetEntity: %v", err)
	}
	diff(t, "listed document", []*store.Document{want}, docs)
}

func testEntityListWithPackages(t *testing.T, h *harness) {
	mustPut(t, h.s,
		doc(store.Actions, "ns", "a", 10),
		doc(store.Actions, "ns/pkg", "b", 9),
		doc(store.Actions, "ns/pkg2", "c", 8),
		doc(store.Actions, "nsX", "d", 7),
		doc(store.Actions, "nsX/pkg", "e", 6),
		doc(store.Actions, "ns2/pkg", "f", 5),
		doc(store.Actions, "xns", "g", 4),
		doc(store.Actions, "n", "h", 3),
		doc(store.Actions, "n_", "i", 2),
		doc(store.Actions, "n_/p", "j", 1),
		doc(store.Actions, "n%/p", "k", 0),
	)
	q := func(ns string, with bool) store.ListQuery {
		return store.ListQuery{Collection: store.Actions, Namespace: ns, WithPackages: with}
	}
	runListCases(t, h.s, []listCase{
		{"ns with packages", q("ns", true), []string{"ns/a", "ns/pkg/b", "ns/pkg2/c"}, 3},
		{"ns alone", q("ns", false), []string{"ns/a"}, 1},
		{"package with packages", q("ns/pkg", true), []string{"ns/pkg/b"}, 1},
		{"package alone", q("ns/pkg", false), []string{"ns/pkg/b"}, 1},
		{"nsX with packages", q("nsX", true), []string{"nsX/d", "nsX/pkg/e"}, 2},
		{"prefix n", q("n", true), []string{"n/h"}, 1},
		{"underscore is literal", q("n_", true), []string{"n_/i", "n_/p/j"}, 2},
		{"percent is literal", q("n%", true), []string{"n%/p/k"}, 1},
		{"underscore alone", q("n_", false), []string{"n_/i"}, 1},
	})
}

func testEntityNames(t *testing.T, h *harness) {
	namespaces := []string{"n_s", "nxs", "n%s", "n.s", "n s"}
	names := []string{"a_b", "axb", "a%b", "a%", "a.b", "a&b", "a@b", "a b", "a-b", "A_B", "a\\b"}
	for _, ns := range namespaces {
		for _, n := range names {
			mustPut(t, h.s, doc(store.Actions, ns, n, 1))
		}
	}
	for _, ns := range namespaces {
		for _, n := range names {
			got, err := h.s.GetEntity(t.Context(), ns, n)
			if err != nil {
				t.Errorf("GetEntity(%q, %q): %v", ns, n, err)
				continue
			}
			if got.Namespace != ns || got.Name != n || string(got.Body) != `{"name":"`+n+`"}` {
				t.Errorf("GetEntity(%q, %q) = %s %q", ns, n, key(got.Namespace, got.Name), got.Body)
			}
		}
		for _, n := range []string{"a_", "a", "a%%", "a?b", "a*b", "a__b", "ab"} {
			_, err := h.s.GetEntity(t.Context(), ns, n)
			wantKind(t, "GetEntity("+ns+", "+n+")", err, whisk.KindNotFound)
		}
		_, total := listKeys(t, h.s, store.ListQuery{Collection: store.Actions, Namespace: ns, WithPackages: true})
		if total != len(names) {
			t.Errorf("ListEntities(%q) total = %d, want %d", ns, total, len(names))
		}
	}
	if err := h.s.DeleteEntity(t.Context(), "n_s", "a%", 0); err != nil {
		t.Fatalf("DeleteEntity: %v", err)
	}
	if _, err := h.s.GetEntity(t.Context(), "n_s", "a%b"); err != nil {
		t.Errorf("deleting a%% removed a%%b: %v", err)
	}
	if _, err := h.s.GetEntity(t.Context(), "nxs", "a%"); err != nil {
		t.Errorf("deleting n_s/a%% removed nxs/a%%: %v", err)
	}
}

func testEntityDurable(t *testing.T, h *harness) {
	a := doc(store.Actions, "ns", "a", 1)
	b := doc(store.Rules, "ns/pkg", "b", 2)
	gone := doc(store.Triggers, "ns", "gone", 3)
	mustPut(t, h.s, a, b, gone)
	a.Body = []byte(`{"v":2}`)
	mustPut(t, h.s, a)
	if err := h.s.DeleteEntity(t.Context(), "ns", "gone", 0); err != nil {
		t.Fatalf("DeleteEntity: %v", err)
	}

	s := h.reopen()
	for _, want := range []*store.Document{a, b} {
		got, err := s.GetEntity(t.Context(), want.Namespace, want.Name)
		if err != nil {
			t.Fatalf("GetEntity(%s) after reopen: %v", key(want.Namespace, want.Name), err)
		}
		diff(t, "document after reopen", want, got)
	}
	_, err := s.GetEntity(t.Context(), "ns", "gone")
	wantKind(t, "GetEntity(deleted) after reopen", err, whisk.KindNotFound)
	err = s.PutEntity(t.Context(), doc(store.Actions, "ns", "a", 9))
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("create over reopened key: got %v, want ErrExists", err)
	}
}
