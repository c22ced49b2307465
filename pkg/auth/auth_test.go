package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func basic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := auth.Bootstrap(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := auth.Bootstrap(ctx, st); err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	key, err := auth.Create(ctx, st, "alice")
	if err != nil {
		t.Fatal(err)
	}
	uuid, secret, _ := strings.Cut(key, ":")
	if len(secret) != auth.KeyLength || len(uuid) != 36 {
		t.Errorf("new key %q", key)
	}
	if _, err := auth.Create(ctx, st, "alice"); whisk.KindOf(err) != whisk.KindConflict {
		t.Errorf("duplicate create: %v", err)
	}
	ns, err := st.GetNamespace(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ns.KeyHash, []byte(secret)) || bytes.Contains(ns.KeySalt, []byte(secret)) {
		t.Error("key stored in the clear")
	}
	a := auth.New(st)
	guest := auth.WellKnown[0]
	tests := []struct {
		header, wantNS string
		wantKind       whisk.Kind
	}{
		{basic(guest.UUID + ":" + guest.Key), "guest", 0},
		{basic(key), "alice", 0},
		{basic(key), "alice", 0}, // cached
		{"", "", whisk.KindUnauthorized},
		{basic(uuid + ":" + strings.Repeat("x", 64)), "", whisk.KindUnauthorized},
		{basic(uuid + ":short"), "", whisk.KindUnauthorized},
		{basic("00000000-0000-0000-0000-000000000000:" + secret), "", whisk.KindUnauthorized},
		{"Basic !!!", "", whisk.KindUnauthorized},
		{"Bearer x", "", whisk.KindUnauthorized},
	}
	for _, tt := range tests {
		id, err := a.Authenticate(ctx, tt.header)
		if tt.wantNS == "" {
			if whisk.KindOf(err) != tt.wantKind {
				t.Errorf("Authenticate(%q) = %v, %v; want kind %v", tt.header, id, err, tt.wantKind)
			}
			continue
		}
		if err != nil || id.Namespace != tt.wantNS || id.Subject != tt.wantNS {
			t.Errorf("Authenticate(%q) = %+v, %v; want %s", tt.header, id, err, tt.wantNS)
		}
	}
	if err := st.DeleteNamespace(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	a.Forget()
	if _, err := a.Authenticate(ctx, basic(key)); whisk.KindOf(err) != whisk.KindUnauthorized {
		t.Errorf("deleted namespace still authenticates: %v", err)
	}
}
