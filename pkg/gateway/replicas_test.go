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

// An update made through one replica is served by every other within a
// second: B caches the action it invoked and the credentials it verified,
// and drops them when A (or the admin tool) changes them in the store.
func TestUpdateOnAIsSeenByB(t *testing.T) {
	url := pgtest.Shared(t).SchemaURL("replica_invalidate")
	a := startReplica(t, url)
	b := startReplica(t, url)
	put := func(version string) time.Time {
		t.Helper()
		code := "function main(p) { return { version: p.version }; }"
		if st, body := a.do(t, "PUT", "/api/v1/namespaces/_/actions/changing?overwrite=true", guestKey, map[string]any{
			"exec":       map[string]any{"kind": "nodejs:default", "code": code},
			"parameters": []any{map[string]any{"key": "version", "value": version}},
		}); st != 200 {
			t.Fatalf("put %s on A: %d %v", version, st, body)
		}
		return time.Now()
	}
	invokeB := func() (int, any) {
		st, out := b.do(t, "POST", "/api/v1/namespaces/_/actions/changing?blocking=true&result=true", guestKey, map[string]any{})
		return st, out["version"]
	}
	// seen invokes on B until it answers want; an invoke started more than
	// a second after the change on A must.
	seen := func(changed time.Time, wantStatus int, want any) {
		t.Helper()
		for {
			start := time.Now()
			st, got := invokeB()
			if st == wantStatus && got == want {
				return
			}
			if start.Sub(changed) > time.Second {
				t.Fatalf("invoke on B %v after the change on A = %d %v, want %d %v", start.Sub(changed), st, got, wantStatus, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	put("v1")
	for range 2 { // the second is served from B's cache
		if st, got := invokeB(); st != 200 || got != "v1" {
			t.Fatalf("invoke on B = %d %v, want 200 v1", st, got)
		}
	}
	seen(put("v2"), 200, "v2")

	if st, body := a.do(t, "DELETE", "/api/v1/namespaces/_/actions/changing", guestKey, nil); st != 200 {
		t.Fatalf("delete on A: %d %v", st, body)
	}
	seen(time.Now(), 404, nil)

	var out bytes.Buffer
	env := func(string) string { return "" }
	if err := Admin(context.Background(), []string{"namespace", "create", "leaving", "--store-url", url}, env, &out); err != nil {
		t.Fatalf("admin namespace create: %v", err)
	}
	key := strings.TrimSpace(out.String())
	if st, body := b.do(t, "GET", "/api/v1/namespaces/_/actions", key, nil); st != 200 {
		t.Fatalf("new namespace's key on B: %d %v", st, body)
	}
	if err := Admin(context.Background(), []string{"namespace", "delete", "leaving", "--store-url", url}, env, &out); err != nil {
		t.Fatalf("admin namespace delete: %v", err)
	}
	deleted := time.Now()
	for {
		start := time.Now()
		st, body := b.do(t, "GET", "/api/v1/namespaces/_/actions", key, nil)
		if st == 401 {
			break
		}
		if start.Sub(deleted) > time.Second {
			t.Fatalf("deleted namespace's key on B %v after the delete = %d %v, want 401", start.Sub(deleted), st, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
