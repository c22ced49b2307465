package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// activation returns a complete record of the action at path ("ns/name" or
// "ns/pkg/name") started at start, about 1 KB as JSON with pad bytes of logs.
func activation(namespace, path string, start int64) *whisk.Activation {
	p, err := whisk.ParseFullyQualified(path)
	if err != nil {
		panic(fmt.Sprintf("bad test path %q: %v", path, err))
	}
	return &whisk.Activation{
		Namespace:    namespace,
		Name:         p.Name,
		Version:      whisk.DefaultVersion,
		Subject:      "subject",
		ActivationID: whisk.NewActivationID(),
		Start:        start,
		End:          start + 5,
		Duration:     5,
		Response:     whisk.Response{StatusCode: whisk.StatusSuccess, Result: json.RawMessage(`{"ok":true}`)},
		Logs:         []string{"2024-01-01T00:00:00.000Z stdout: hello"},
		Annotations: whisk.KeyValues{
			{Key: "path", Value: json.RawMessage(`"` + path + `"`)},
			{Key: "kind", Value: json.RawMessage(`"nodejs:20"`)},
		},
	}
}

func mustPutActivations(t *testing.T, s store.Store, as ...*whisk.Activation) {
	t.Helper()
	for _, a := range as {
		if err := s.PutActivation(t.Context(), a); err != nil {
			t.Fatalf("PutActivation(%s): %v", a.ActivationID, err)
		}
	}
}

func mustFlush(t *testing.T, s store.Store) {
	t.Helper()
	if err := s.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func testActivationPutGet(t *testing.T, h *harness) {
	a := activation("ns", "ns/pkg/act", 1000)
	a.Annotations = a.Annotations.Set("binding", "ns/bound")
	a.Cause = whisk.NewActivationID()
	a.Response = whisk.Response{StatusCode: whisk.StatusApplicationError, Result: json.RawMessage(`{"error":"boom"}`)}
	a.Publish = true
	other := activation("ns2", "ns2/act", 1000)
	mustPutActivations(t, h.s, a, other)

	check := func(t *testing.T, s store.Store) {
		t.Helper()
		got, err := s.GetActivation(t.Context(), "ns", a.ActivationID)
		if err != nil {
			t.Fatalf("GetActivation: %v", err)
		}
		diff(t, "GetActivation", a, got)
		_, err = s.GetActivation(t.Context(), "ns2", a.ActivationID)
		wantKind(t, "GetActivation(other namespace)", err, whisk.KindNotFound)
		_, err = s.GetActivation(t.Context(), "ns", other.ActivationID)
		wantKind(t, "GetActivation(id of other namespace)", err, whisk.KindNotFound)
		_, err = s.GetActivation(t.Context(), "ns", whisk.NewActivationID())
		wantKind(t, "GetActivation(missing)", err, whisk.KindNotFound)
	}
	t.Run("queued", func(t *testing.T) { check(t, h.s) })
	mustFlush(t, h.s)
	t.Run("flushed", func(t *testing.T) { check(t, h.s) })
	t.Run("reopened", func(t *testing.T) { check(t, h.reopen()) })
}

// label names a record in list results.
func label(a *whisk.Activation) string {
	return fmt.Sprintf("%s:%s@%d", a.Namespace, a.EntityName(), a.Start)
}

func listLabels(t *testing.T, s store.Store, q store.ActivationQuery) ([]string, int) {
	t.Helper()
	as, total, err := s.ListActivations(t.Context(), q)
	if err != nil {
		t.Fatalf("ListActivations(%+v): %v", q, err)
	}
	out := []string{}
	for _, a := range as {
		out = append(out, label(a))
	}
	return out, total
}

func testActivationList(t *testing.T, h *harness) {
	bound := activation("ns1", "ns1/greet", 400)
	bound.Annotations = bound.Annotations.Set("binding", "ns1/bound")
	records := []*whisk.Activation{
		activation("ns1", "ns1/hello", 100),
		activation("ns1", "ns1/pkg/act", 150),
		activation("ns1", "ns1/hello", 200),
		activation("ns1", "ns1/pkg/act", 250),
		activation("ns1", "ns1/hello", 300),
		bound,
		activation("ns2", "ns2/hello", 500),
		activation("ns1x", "ns1x/hello", 600),
	}
	q := func(f func(*store.ActivationQuery)) store.ActivationQuery {
		q := store.ActivationQuery{Namespace: "ns1"}
		if f != nil {
			f(&q)
		}
		return q
	}
	all := []string{"ns1:bound/greet@400", "ns1:hello@300", "ns1:pkg/act@250", "ns1:hello@200", "ns1:pkg/act@150", "ns1:hello@100"}
	cases := []struct {
		name      string
		q         store.ActivationQuery
		want      []string
		wantTotal int
	}{
		{"all", q(nil), all, 6},
		{"limit", q(func(q *store.ActivationQuery) { q.Limit = 2 }), all[:2], 6},
		{"skip and limit", q(func(q *store.ActivationQuery) { q.Skip, q.Limit = 1, 2 }), all[1:3], 6},
		{"last page", q(func(q *store.ActivationQuery) { q.Skip, q.Limit = 5, 10 }), all[5:], 6},
		{"skip past end", q(func(q *store.ActivationQuery) { q.Skip = 6 }), []string{}, 6},
		{"skip only", q(func(q *store.ActivationQuery) { q.Skip = 4 }), all[4:], 6},
		{"name", q(func(q *store.ActivationQuery) { q.Name = "hello" }), []string{"ns1:hello@300", "ns1:hello@200", "ns1:hello@100"}, 3},
		{"name page", q(func(q *store.ActivationQuery) { q.Name, q.Skip, q.Limit = "hello", 1, 1 }), []string{"ns1:hello@200"}, 3},
		{"package name", q(func(q *store.ActivationQuery) { q.Name = "pkg/act" }), []string{"ns1:pkg/act@250", "ns1:pkg/act@150"}, 2},
		{"bare name of packaged action", q(func(q *store.ActivationQuery) { q.Name = "act" }), []string{}, 0},
		{"binding name", q(func(q *store.ActivationQuery) { q.Name = "bound/greet" }), []string{"ns1:bound/greet@400"}, 1},
		{"since inclusive", q(func(q *store.ActivationQuery) { q.Since = 200 }), all[:4], 4},
		{"upto inclusive", q(func(q *store.ActivationQuery) { q.Upto = 250 }), all[2:], 4},
		{"since and upto", q(func(q *store.ActivationQuery) { q.Since, q.Upto = 150, 300 }), all[1:5], 4},
		{"since, upto and page", q(func(q *store.ActivationQuery) { q.Since, q.Upto, q.Skip, q.Limit = 150, 300, 1, 2 }), all[2:4], 4},
		{"name and since", q(func(q *store.ActivationQuery) { q.Name, q.Since = "hello", 200 }), []string{"ns1:hello@300", "ns1:hello@200"}, 2},
		{"empty range", q(func(q *store.ActivationQuery) { q.Since, q.Upto = 301, 399 }), []string{}, 0},
		{"other namespace", store.ActivationQuery{Namespace: "ns2"}, []string{"ns2:hello@500"}, 1},
		{"unknown namespace", store.ActivationQuery{Namespace: "ns3"}, []string{}, 0},
	}
	check := func(t *testing.T, s store.Store) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, total := listLabels(t, s, tc.q)
				diff(t, "ListActivations", tc.want, got)
				if total != tc.wantTotal {
					t.Errorf("ListActivations total = %d, want %d", total, tc.wantTotal)
				}
			})
		}
	}

	// Half durable, half possibly still queued.
	mustPutActivations(t, h.s, records[:3]...)
	mustFlush(t, h.s)
	mustPutActivations(t, h.s, records[3:]...)
	t.Run("mixed", func(t *testing.T) { check(t, h.s) })
	mustFlush(t, h.s)
	t.Run("flushed", func(t *testing.T) { check(t, h.s) })
	s := h.reopen()
	t.Run("reopened", func(t *testing.T) { check(t, s) })

	// Listed records are complete.
	got, _, err := s.ListActivations(t.Context(), store.ActivationQuery{Namespace: "ns1", Limit: 1})
	if err != nil {
		t.Fatalf("ListActivations: %v", err)
	}
	diff(t, "listed record", []*whisk.Activation{bound}, got)
}

func testActivationVisibleAtOnce(t *testing.T, h *harness) {
	const n = 300
	for i := range n {
		a := activation("ns", "ns/act", int64(1000+i))
		mustPutActivations(t, h.s, a)
		got, err := h.s.GetActivation(t.Context(), "ns", a.ActivationID)
		if err != nil {
			t.Fatalf("GetActivation right after PutActivation #%d: %v", i, err)
		}
		if got.ActivationID != a.ActivationID || got.Start != a.Start {
			t.Fatalf("GetActivation right after PutActivation #%d = %s@%d", i, got.ActivationID, got.Start)
		}
		if i%50 != 0 {
			continue
		}
		newest, total, err := h.s.ListActivations(t.Context(), store.ActivationQuery{Namespace: "ns", Limit: 1})
		if err != nil {
			t.Fatalf("ListActivations: %v", err)
		}
		if total != i+1 || len(newest) != 1 || newest[0].ActivationID != a.ActivationID {
			t.Fatalf("ListActivations right after PutActivation #%d: total %d, %d records", i, total, len(newest))
		}
	}
	mustFlush(t, h.s)
	mustFlush(t, h.s) // nothing new: returns at once
}

func testActivationDurable(t *testing.T, h *harness) {
	const n = 1500 // several group commits
	var as []*whisk.Activation
	for i := range n {
		as = append(as, activation("ns", "ns/act", int64(i+1)))
	}
	mustPutActivations(t, h.s, as[:n/2]...)
	mustFlush(t, h.s)
	mustPutActivations(t, h.s, as[n/2:]...) // Close must flush these

	s := h.reopen()
	for _, a := range as {
		got, err := s.GetActivation(t.Context(), "ns", a.ActivationID)
		if err != nil {
			t.Fatalf("GetActivation(%d) after reopen: %v", a.Start, err)
		}
		if got.Start != a.Start {
			t.Fatalf("GetActivation(%s) after reopen: start %d, want %d", a.ActivationID, got.Start, a.Start)
		}
	}
	newest, total, err := s.ListActivations(t.Context(), store.ActivationQuery{Namespace: "ns", Limit: 1})
	if err != nil {
		t.Fatalf("ListActivations: %v", err)
	}
	if total != n {
		t.Errorf("ListActivations total after reopen = %d, want %d", total, n)
	}
	diff(t, "newest record after reopen", []*whisk.Activation{as[n-1]}, newest)

	// Records put after a reopen are listed with the older ones.
	later := activation("ns", "ns/act", n+1)
	mustPutActivations(t, s, later)
	newest, total, err = s.ListActivations(t.Context(), store.ActivationQuery{Namespace: "ns", Limit: 2})
	if err != nil {
		t.Fatalf("ListActivations: %v", err)
	}
	if total != n+1 {
		t.Errorf("ListActivations total = %d, want %d", total, n+1)
	}
	diff(t, "newest records", []*whisk.Activation{later, as[n-1]}, newest)
}

func testActivationConcurrentPut(t *testing.T, h *harness) {
	const goroutines, each, namespaces = 64, 200, 4
	ids := make([][]whisk.ActivationID, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := fmt.Sprintf("ns%d", g%namespaces)
			for i := range each {
				a := activation(ns, ns+"/act", int64(g*each+i+1))
				if err := h.s.PutActivation(t.Context(), a); err != nil {
					t.Errorf("PutActivation: %v", err)
					return
				}
				ids[g] = append(ids[g], a.ActivationID)
				if i%20 == 0 {
					if _, err := h.s.GetActivation(t.Context(), ns, a.ActivationID); err != nil {
						t.Errorf("GetActivation right after PutActivation: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	check := func(t *testing.T, s store.Store) {
		for g, gids := range ids {
			ns := fmt.Sprintf("ns%d", g%namespaces)
			for _, id := range gids {
				if _, err := s.GetActivation(t.Context(), ns, id); err != nil {
					t.Fatalf("GetActivation(%s, %s): %v", ns, id, err)
				}
			}
		}
		for n := range namespaces {
			_, total, err := s.ListActivations(t.Context(), store.ActivationQuery{Namespace: fmt.Sprintf("ns%d", n), Limit: 1})
			if err != nil {
				t.Fatalf("ListActivations: %v", err)
			}
			if want := goroutines / namespaces * each; total != want {
				t.Errorf("ListActivations(ns%d) total = %d, want %d", n, total, want)
			}
		}
	}
	t.Run("queued", func(t *testing.T) { check(t, h.s) })
	mustFlush(t, h.s)
	t.Run("reopened", func(t *testing.T) { check(t, h.reopen()) })
}

func testActivationExpire(t *testing.T, h *harness) {
	var as []*whisk.Activation
	for i := range 10 {
		as = append(as, activation([]string{"ns1", "ns2"}[i%2], []string{"ns1", "ns2"}[i%2]+"/act", int64(100*(i+1))))
	}
	mustPutActivations(t, h.s, as...)
	mustFlush(t, h.s)
	expire := func(s store.Store, before int64, limit, want int) {
		t.Helper()
		n, err := s.ExpireActivations(t.Context(), before, limit)
		if err != nil {
			t.Fatalf("ExpireActivations(%d, %d): %v", before, limit, err)
		}
		if n != want {
			t.Fatalf("ExpireActivations(%d, %d) = %d, want %d", before, limit, n, want)
		}
	}
	left := func(s store.Store, want ...*whisk.Activation) {
		t.Helper()
		kept := map[whisk.ActivationID]bool{}
		for _, a := range want {
			kept[a.ActivationID] = true
		}
		for _, a := range as {
			_, err := s.GetActivation(t.Context(), a.Namespace, a.ActivationID)
			switch {
			case kept[a.ActivationID] && err != nil:
				t.Errorf("GetActivation(kept record @%d): %v", a.Start, err)
			case !kept[a.ActivationID]:
				wantKind(t, fmt.Sprintf("GetActivation(expired record @%d)", a.Start), err, whisk.KindNotFound)
			}
		}
		total := 0
		for _, ns := range []string{"ns1", "ns2"} {
			_, n, err := s.ListActivations(t.Context(), store.ActivationQuery{Namespace: ns})
			if err != nil {
				t.Fatalf("ListActivations: %v", err)
			}
			total += n
		}
		if total != len(want) {
			t.Errorf("ListActivations totals = %d, want %d", total, len(want))
		}
	}

	expire(h.s, 100, 5, 0) // strictly before
	left(h.s, as...)
	expire(h.s, 650, 2, 2) // oldest first, at most limit
	left(h.s, as[2:]...)
	expire(h.s, 650, 100, 4)
	left(h.s, as[6:]...)
	expire(h.s, 650, 100, 0)

	// A record that may still be queued when an expiry runs is expired by
	// the first one after it is durable.
	late := activation("ns1", "ns1/act", 50)
	mustPutActivations(t, h.s, late)
	if _, err := h.s.ExpireActivations(t.Context(), 650, 100); err != nil {
		t.Fatalf("ExpireActivations: %v", err)
	}
	mustFlush(t, h.s)
	if _, err := h.s.ExpireActivations(t.Context(), 650, 100); err != nil {
		t.Fatalf("ExpireActivations: %v", err)
	}
	s := h.reopen()
	left(s, as[6:]...)
	_, err := s.GetActivation(t.Context(), "ns1", late.ActivationID)
	wantKind(t, "GetActivation(record expired once durable)", err, whisk.KindNotFound)
}
