package storetest

import (
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// testAPIs checks the API definitions' contract: one per (namespace, base
// path), created with Rev 0, replaced and deleted by revision, listed per
// namespace by base path, apart from entities, and durable.
func testAPIs(t *testing.T, h *harness) {
	ctx := t.Context()
	s := h.s

	_, err := s.GetAPI(ctx, "ns", "/missing")
	wantKind(t, "GetAPI(missing)", err, whisk.KindNotFound)
	wantKind(t, "DeleteAPI(missing)", s.DeleteAPI(ctx, "ns", "/missing", 0), whisk.KindNotFound)
	wantKind(t, "PutAPI(missing, rev 3)", s.PutAPI(ctx, &store.API{Namespace: "ns", BasePath: "/missing", Rev: 3, Body: []byte(`{}`)}), whisk.KindNotFound)

	// An entity named like a base path does not collide with the API.
	if err := s.PutEntity(ctx, &store.Document{Collection: store.Actions, Namespace: "ns", Name: "hello", Updated: 1, Body: []byte(`{}`)}); err != nil {
		t.Fatalf("PutEntity: %v", err)
	}
	hello := &store.API{Namespace: "ns", BasePath: "/hello", Updated: 10, Body: []byte(`{"basePath":"/hello"}`)}
	if err := s.PutAPI(ctx, hello); err != nil {
		t.Fatalf("PutAPI(/hello): %v", err)
	}
	if hello.Rev == 0 {
		t.Fatalf("PutAPI left Rev 0")
	}
	wantIs(t, "PutAPI(/hello) again with Rev 0", s.PutAPI(ctx, &store.API{Namespace: "ns", BasePath: "/hello", Body: []byte(`{}`)}), store.ErrExists)
	for _, a := range []*store.API{
		{Namespace: "ns", BasePath: "/a", Updated: 20, Body: []byte(`{"basePath":"/a"}`)},
		{Namespace: "ns", BasePath: "/z/deep", Updated: 5, Body: []byte(`{"basePath":"/z/deep"}`)},
		{Namespace: "other", BasePath: "/hello", Updated: 30, Body: []byte(`{"other":true}`)},
	} {
		if err := s.PutAPI(ctx, a); err != nil {
			t.Fatalf("PutAPI(%s%s): %v", a.Namespace, a.BasePath, err)
		}
	}

	got, err := s.GetAPI(ctx, "ns", "/hello")
	if err != nil {
		t.Fatalf("GetAPI: %v", err)
	}
	diff(t, "GetAPI", hello, got)

	// Replace: the stored revision succeeds and moves on; an old one is stale.
	old := hello.Rev
	hello.Body, hello.Updated = []byte(`{"basePath":"/hello","v":2}`), 11
	if err := s.PutAPI(ctx, hello); err != nil {
		t.Fatalf("PutAPI(replace): %v", err)
	}
	if hello.Rev == old {
		t.Errorf("PutAPI(replace) kept Rev %d", old)
	}
	wantIs(t, "PutAPI(stale)", s.PutAPI(ctx, &store.API{Namespace: "ns", BasePath: "/hello", Rev: old, Body: []byte(`{}`)}), store.ErrStale)
	wantIs(t, "DeleteAPI(stale)", s.DeleteAPI(ctx, "ns", "/hello", old), store.ErrStale)

	list := func(s store.Store, ns string, want ...string) []*store.API {
		t.Helper()
		apis, err := s.ListAPIs(ctx, ns)
		if err != nil {
			t.Fatalf("ListAPIs(%s): %v", ns, err)
		}
		var paths []string
		for _, a := range apis {
			if a.Namespace != ns {
				t.Errorf("ListAPIs(%s) returned namespace %q", ns, a.Namespace)
			}
			paths = append(paths, a.BasePath)
		}
		diff(t, "ListAPIs("+ns+") base paths", want, paths)
		return apis
	}
	apis := list(s, "ns", "/a", "/hello", "/z/deep")
	diff(t, "ListAPIs /hello", hello, apis[1])
	list(s, "none")

	// Durable across a restart.
	s = h.reopen()
	got, err = s.GetAPI(ctx, "ns", "/hello")
	if err != nil {
		t.Fatalf("GetAPI after reopen: %v", err)
	}
	diff(t, "GetAPI after reopen", hello, got)

	if err := s.DeleteAPI(ctx, "ns", "/hello", hello.Rev); err != nil {
		t.Fatalf("DeleteAPI: %v", err)
	}
	if err := s.DeleteAPI(ctx, "ns", "/a", 0); err != nil {
		t.Fatalf("DeleteAPI(any rev): %v", err)
	}
	_, err = s.GetAPI(ctx, "ns", "/hello")
	wantKind(t, "GetAPI(deleted)", err, whisk.KindNotFound)
	list(s, "ns", "/z/deep")
	list(s, "other", "/hello")
	if _, err := s.GetEntity(ctx, "ns", "hello"); err != nil {
		t.Errorf("GetEntity(hello) after the APIs changed: %v", err)
	}
}
