package gateway

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// An unreachable database at start is a one-line usage error naming
// --store-url, for serve and admin alike, and it does not show the
// password.
func TestStoreURLUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // nobody listens there now
	url := "postgres://kwhisk:secret@127.0.0.1:" + strconv.Itoa(port) + "/kwhisk"
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !config.IsUsage(err) || !strings.Contains(err.Error(), "--store-url") ||
			strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s with an unreachable store = %v, want a one-line usage error naming --store-url", what, err)
		}
	}
	cfg := config.Default()
	cfg.DataDir, cfg.StoreURL = t.TempDir(), url
	check("Serve", Serve(t.Context(), cfg, &bytes.Buffer{}))
	check("Admin", Admin(t.Context(), []string{"namespace", "list", "--store-url", url}, func(string) string { return "" }, &bytes.Buffer{}))
}

// `kwhisk admin --store-url` works on the PostgreSQL store a gateway with
// the same --store-url (and another data dir) then uses.
func TestAdminStoreURL(t *testing.T) {
	url := pgtest.Shared(t).SchemaURL("admin_store_url")
	ctx := context.Background()
	var out bytes.Buffer
	noenv := func(string) string { return "" }
	if err := Admin(ctx, []string{"namespace", "create", "team", "--store-url", url, "--data-dir", t.TempDir()}, noenv, &out); err != nil {
		t.Fatalf("admin namespace create: %v", err)
	}
	uuid, _, ok := strings.Cut(strings.TrimSpace(out.String()), ":")
	if !ok {
		t.Fatalf("admin namespace create printed %q", out.String())
	}
	st, err := openStore(ctx, config.Config{DataDir: t.TempDir(), StoreURL: url}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ns, err := st.NamespaceByUUID(ctx, uuid)
	if err != nil || ns.Name != "team" {
		t.Fatalf("NamespaceByUUID(%s) = %+v, %v; want namespace team", uuid, ns, err)
	}
	out.Reset()
	if err := Admin(ctx, []string{"namespace", "list"}, func(k string) string {
		if k == "KWHISK_STORE_URL" {
			return url
		}
		return ""
	}, &out); err != nil {
		t.Fatalf("admin namespace list: %v", err)
	}
	if !strings.Contains(out.String(), "team\t"+uuid) {
		t.Errorf("admin namespace list with KWHISK_STORE_URL = %q, want team", out.String())
	}
}
