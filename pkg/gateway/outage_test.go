package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
)

// A gateway whose PostgreSQL database goes away answers 503 with a clear
// message for what needs it, still answers /ping, and serves again by
// itself within 10s of the database's return; every activation answered
// before the outage is still there.
func TestDatabaseOutageGateway(t *testing.T) {
	srv := pgtest.Private(t)
	ctx := t.Context()
	g := startReplica(t, srv.SchemaURL("gateway_outage"))

	code := "function main(p) { return { echo: p.v }; }"
	if st, body := g.do(t, "PUT", "/api/v1/namespaces/_/actions/echo", guestKey,
		map[string]any{"exec": map[string]any{"kind": "nodejs:default", "code": code}}); st != 200 {
		t.Fatalf("create action: %d %v", st, body)
	}
	var ids []string
	for i := range 5 {
		st, rec := g.do(t, "POST", "/api/v1/namespaces/_/actions/echo?blocking=true", guestKey, map[string]any{"v": i})
		if st != 200 {
			t.Fatalf("invoke %d: %d %v", i, st, rec)
		}
		ids = append(ids, rec["activationId"].(string))
	}

	if err := srv.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	unavailable := func(what string, st int, body map[string]any) {
		t.Helper()
		if st != http.StatusServiceUnavailable || body["error"] != store.MsgUnavailable {
			t.Errorf("%s while the database is down = %d %v; want 503 %q", what, st, body, store.MsgUnavailable)
		}
	}
	// The store notices within a second or two (its watcher pings every
	// second); invokes answered until then are acknowledged and must
	// survive the outage.
	began := time.Now()
	for {
		st, rec := g.do(t, "POST", "/api/v1/namespaces/_/actions/echo?blocking=true", guestKey, map[string]any{"v": 9})
		if st != 200 {
			unavailable("invoke", st, rec)
			break
		}
		ids = append(ids, rec["activationId"].(string))
		if time.Since(began) > 5*time.Second {
			t.Fatal("invokes still answered 200 5s after the database went down")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("invokes refused %v after the database went down", time.Since(began))
	began = time.Now()
	st, body := g.do(t, "PUT", "/api/v1/namespaces/_/actions/other", guestKey,
		map[string]any{"exec": map[string]any{"kind": "nodejs:default", "code": code}})
	unavailable("create action", st, body)
	// The invoke is refused up front even once the action is cached.
	st, body = g.do(t, "POST", "/api/v1/namespaces/_/actions/echo", guestKey, map[string]any{"v": 10})
	unavailable("non-blocking invoke", st, body)
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("the requests while the database was down took %v; want 503s at once", d)
	}
	resp, err := http.Get(g.api + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/ping while the database is down = %d; want 200", resp.StatusCode)
	}

	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for {
		st, rec := g.do(t, "POST", "/api/v1/namespaces/_/actions/echo?blocking=true", guestKey, map[string]any{"v": 11})
		if st == 200 {
			ids = append(ids, rec["activationId"].(string))
			break
		}
		if time.Since(back) > 10*time.Second {
			t.Fatalf("invoke 10s after the database came back: %d %v", st, rec)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("invokes served again %v after the restart", time.Since(back))
	for _, id := range ids {
		if st, rec := g.do(t, "GET", "/api/v1/namespaces/_/activations/"+id, guestKey, nil); st != 200 {
			t.Errorf("activation %s after the outage: %d %v", id, st, rec)
		}
	}
}
