package apigw

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOperationID(t *testing.T) {
	for _, tt := range []struct{ verb, path, want string }{
		{"GET", "/world", "getWorld"},
		{"post", "/items/{id}", "postItemsId"},
		{"get", "/a-b/c_d/E.f", "getA-bC_dEF"},
		{"delete", "/", "delete"},
	} {
		if got := OperationID(tt.verb, tt.path); got != tt.want {
			t.Errorf("OperationID(%s, %s) = %q, want %q", tt.verb, tt.path, got, tt.want)
		}
	}
}

func TestAddMatchRemove(t *testing.T) {
	d := New("/shop", "")
	AddEndpoint(d, Endpoint{RelPath: "/items/{id}", Verb: "GET", Namespace: "ns", Package: "p", Action: "a", Host: "https://h", ResponseType: "http", SecureKey: "k"})
	AddEndpoint(d, Endpoint{RelPath: "/items/new", Verb: "get", Namespace: "ns", Action: "b", Host: "https://h", ResponseType: "json"})
	if err := Validate(d); err == nil {
		t.Errorf("Validate accepted a path parameter no parameter object declares")
	}
	d["paths"].(map[string]any)["/items/{id}"].(map[string]any)["get"].(map[string]any)["parameters"] = []any{map[string]any{"name": "id", "in": "path"}}
	if err := Validate(d); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	got, pathFound, ok := Match(d, "/items/9/", "GET")
	want := Target{Namespace: "ns", Package: "p", Action: "a", ResponseType: "http", Params: map[string]string{"id": "9"}, Secret: "k"}
	if !ok || !pathFound {
		t.Fatalf("Match(/items/9) found nothing")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Match(/items/9) (-want +got):\n%s", d)
	}
	if got, _, _ := Match(d, "/items/new", "GET"); got.Action != "b" || got.Secret != "" {
		t.Errorf("Match(/items/new) = %+v", got)
	}
	if _, pathFound, ok := Match(d, "/items/9", "POST"); ok || !pathFound {
		t.Errorf("Match(POST /items/9) = %v, %v; want a path without the verb", pathFound, ok)
	}
	if err := RemoveEndpoint(d, "/items/{id}", "post"); err == nil || err.Error() != "path /items/{id} with operation post does not exist in the API" {
		t.Errorf("RemoveEndpoint(post) = %v", err)
	}
	if err := RemoveEndpoint(d, "/items/{id}", "GET"); err != nil {
		t.Fatal(err)
	}
	if len(switchCases(d)) != 1 || Empty(d) {
		t.Errorf("after removing one of two operations: cases %v, empty %v", switchCases(d), Empty(d))
	}
	if err := RemoveEndpoint(d, "/items/new", ""); err != nil || !Empty(d) {
		t.Errorf("RemoveEndpoint(/items/new) = %v, empty %v", err, Empty(d))
	}
}
