package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func testNamespaces(t *testing.T, h *harness) {
	ctx := t.Context()
	notFound := func(s store.Store) {
		t.Helper()
		_, err := s.GetNamespace(ctx, "missing")
		wantKind(t, "GetNamespace(missing)", err, whisk.KindNotFound)
		_, err = s.NamespaceByUUID(ctx, "missing-uuid")
		wantKind(t, "NamespaceByUUID(missing)", err, whisk.KindNotFound)
		wantKind(t, "DeleteNamespace(missing)", s.DeleteNamespace(ctx, "missing"), whisk.KindNotFound)
	}
	list := func(s store.Store, want ...*whisk.Namespace) {
		t.Helper()
		got, err := s.ListNamespaces(ctx)
		if err != nil {
			t.Fatalf("ListNamespaces: %v", err)
		}
		slices.SortFunc(got, func(a, b *whisk.Namespace) int { return strings.Compare(a.Name, b.Name) })
		if want == nil {
			want = []*whisk.Namespace{}
		}
		if got == nil {
			got = []*whisk.Namespace{}
		}
		diff(t, "ListNamespaces", want, got)
	}
	get := func(s store.Store, want *whisk.Namespace) {
		t.Helper()
		got, err := s.GetNamespace(ctx, want.Name)
		if err != nil {
			t.Fatalf("GetNamespace(%s): %v", want.Name, err)
		}
		diff(t, "GetNamespace", want, got)
		got, err = s.NamespaceByUUID(ctx, want.UUID)
		if err != nil {
			t.Fatalf("NamespaceByUUID(%s): %v", want.UUID, err)
		}
		diff(t, "NamespaceByUUID", want, got)
	}

	notFound(h.s)
	list(h.s)

	perMinute, concurrent := 60, 3
	guest := &whisk.Namespace{
		Name: "guest", UUID: "23bc46b1-71f6-4ed5-8c54-816aa4f8c502",
		KeyHash: []byte{1, 2, 3, 0, 255}, KeySalt: []byte("salt"),
		Throttles: whisk.Throttles{InvocationsPerMinute: &perMinute, ConcurrentInvocations: &concurrent},
		Created:   1700000000000,
	}
	other := &whisk.Namespace{Name: "a_b", UUID: "uuid-2", KeyHash: []byte("h"), KeySalt: []byte("s"), Created: 1}
	for _, ns := range []*whisk.Namespace{guest, other} {
		if err := h.s.PutNamespace(ctx, ns); err != nil {
			t.Fatalf("PutNamespace(%s): %v", ns.Name, err)
		}
	}
	get(h.s, guest)
	get(h.s, other)
	list(h.s, other, guest)
	notFound(h.s)

	// Replacing moves the uuid.
	oldUUID := guest.UUID
	guest = &whisk.Namespace{Name: "guest", UUID: "uuid-3", KeyHash: []byte("new"), KeySalt: []byte("salt2"), Created: 2}
	if err := h.s.PutNamespace(ctx, guest); err != nil {
		t.Fatalf("PutNamespace(replace): %v", err)
	}
	get(h.s, guest)
	_, err := h.s.NamespaceByUUID(ctx, oldUUID)
	wantKind(t, "NamespaceByUUID(replaced uuid)", err, whisk.KindNotFound)

	s := h.reopen()
	get(s, guest)
	get(s, other)
	list(s, other, guest)

	if err := s.DeleteNamespace(ctx, "guest"); err != nil {
		t.Fatalf("DeleteNamespace: %v", err)
	}
	_, err = s.GetNamespace(ctx, "guest")
	wantKind(t, "GetNamespace(deleted)", err, whisk.KindNotFound)
	_, err = s.NamespaceByUUID(ctx, guest.UUID)
	wantKind(t, "NamespaceByUUID(deleted)", err, whisk.KindNotFound)
	list(s, other)
	list(h.reopen(), other)
}
