package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kwhisk/kwhisk/pkg/config"
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
	lots := 1 << 20 // the load below is not what this test throttles
	g := startReplica(t, srv.SchemaURL("gateway_outage"), func(c *config.Config) {
		c.Throttles.InvocationsPerMinute = &lots
	})

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

	// Load across the outage: two clients invoke without pause until told
	// to stop. Each answer must be a 200 (its record then must survive)
	// or the 503; nothing else.
	stop := make(chan struct{})
	var (
		mu        sync.Mutex
		loadWG    sync.WaitGroup
		loadIDs   []string
		loadFails []string
		refused   int
	)
	for range 2 {
		loadWG.Add(1)
		go func() {
			defer loadWG.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				st, rec, err := invoke(g.api)
				mu.Lock()
				switch {
				case err != nil:
					loadFails = append(loadFails, err.Error())
				case st == 200:
					loadIDs = append(loadIDs, rec["activationId"].(string))
				case st == http.StatusServiceUnavailable && rec["error"] == store.MsgUnavailable:
					refused++
				default:
					loadFails = append(loadFails, fmt.Sprintf("%d %v", st, rec))
				}
				mu.Unlock()
				if st != 200 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)

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
	time.Sleep(300 * time.Millisecond)
	close(stop)
	loadWG.Wait()
	t.Logf("load: %d invokes answered, %d refused", len(loadIDs), refused)
	if len(loadFails) > 0 {
		t.Errorf("invokes under load across the outage got %d answers other than 200 or the 503: %s",
			len(loadFails), strings.Join(loadFails[:min(len(loadFails), 5)], "; "))
	}
	if refused == 0 {
		t.Error("no invoke under load was refused while the database was down")
	}
	ids = append(ids, loadIDs...)
	for _, id := range ids {
		if st, rec := g.do(t, "GET", "/api/v1/namespaces/_/activations/"+id, guestKey, nil); st != 200 {
			t.Errorf("activation %s after the outage: %d %v", id, st, rec)
		}
	}
	// And durable: every record answered is committed in the database
	// within seconds (the writer's retries back off to 5s at most).
	conn, err := pgx.Connect(ctx, srv.SchemaURL("gateway_outage"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM activations WHERE activation_id = ANY($1)`, ids).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d activations answered are in the database 10s after its return", n, len(ids))
		}
	}
}

// invoke runs the echo action blocking, safe to call from any goroutine.
func invoke(api string) (int, map[string]any, error) {
	req, err := http.NewRequest("POST", api+"/api/v1/namespaces/_/actions/echo?blocking=true", bytes.NewReader([]byte(`{"v":1}`)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	u, p, _ := strings.Cut(guestKey, ":")
	req.SetBasicAuth(u, p)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, out, nil
}
