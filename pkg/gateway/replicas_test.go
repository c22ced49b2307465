package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
)

const guestKey = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

// replica is a gateway served in this process on its own port and data dir.
type replica struct{ api string }

func startReplica(t *testing.T, storeURL string, tune ...func(*config.Config)) replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // Serve listens on it again
	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.APIHost, cfg.StoreURL = t.TempDir(), addr, "http://"+addr, storeURL
	cfg.DrainTimeout = 5 * time.Second
	for _, f := range tune {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, pw); _ = pw.Close() }()
	lines := bufio.NewScanner(pr)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "wsk property set") {
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve on %s = %v", addr, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Serve on %s did not stop", addr)
		}
	})
	return replica{api: cfg.APIHost}
}

func (r replica) do(t *testing.T, method, path, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body) // test literals
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	u, p, _ := strings.Cut(key, ":")
	req.SetBasicAuth(u, p)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out) // some answers are lists or empty
	return resp.StatusCode, out
}

// Two gateways on one PostgreSQL store act as one for what the store holds:
// an action created on A is invoked on B, B's activation is read on A, and
// a namespace made by `kwhisk admin --store-url` authenticates on both.
func TestTwoReplicasShareTheStore(t *testing.T) {
	url := pgtest.Shared(t).SchemaURL("two_replicas")
	a := startReplica(t, url)
	b := startReplica(t, url)

	code := "function main(p) { return { echo: p.v }; }"
	if st, body := a.do(t, "PUT", "/api/v1/namespaces/_/actions/shared", guestKey,
		map[string]any{"exec": map[string]any{"kind": "nodejs:default", "code": code}}); st != 200 {
		t.Fatalf("create on A: %d %v", st, body)
	}
	st, rec := b.do(t, "POST", "/api/v1/namespaces/_/actions/shared?blocking=true", guestKey, map[string]any{"v": 7})
	if st != 200 {
		t.Fatalf("invoke on B: %d %v", st, rec)
	}
	id, _ := rec["activationId"].(string)
	// B answers before its group commit (the record is readable on B at
	// once); A sees it once committed, within milliseconds.
	var got map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, got = a.do(t, "GET", "/api/v1/namespaces/_/activations/"+id, guestKey, nil); st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("activation %s from B read on A: %d %v after 5s", id, st, got)
		}
	}
	if res, _ := got["response"].(map[string]any)["result"].(map[string]any); res["echo"] != float64(7) {
		t.Errorf("activation read on A has result %v, want {echo: 7}", got["response"])
	}

	var out bytes.Buffer
	if err := Admin(context.Background(), []string{"namespace", "create", "team", "--store-url", url}, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("admin namespace create: %v", err)
	}
	key := strings.TrimSpace(out.String())
	for name, r := range map[string]replica{"A": a, "B": b} {
		if st, body := r.do(t, "GET", "/api/v1/namespaces/_/actions", key, nil); st != 200 {
			t.Errorf("new namespace's key on %s: %d %v", name, st, body)
		}
	}
}
