package runtimes_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/platformtest"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// TestConformance runs the platform conformance suite, and with it the
// runtime scenarios, against the image mains.
func TestConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T) platform.Platform { return newImagePlatform(t) })
}

const hello = `function main(params) {
  console.log('hello ' + params.name);
  return { greeting: 'Hello, ' + params.name + '!' };
}`

func nodeAction(code string) *platform.Action {
	return &platform.Action{
		Key: "hello", Path: whisk.EntityPath{Namespace: "guest", Name: "hello"}, Version: "0.0.1", Kind: "nodejs:20",
		Code: code, Limits: whisk.Limits{Timeout: 10000, Memory: 256, Logs: 10, Concurrency: 1},
	}
}

func run(t *testing.T, p *proc, value string) (int, envelope) {
	t.Helper()
	status, body, err := p.post(context.Background(), "/run", map[string]any{
		"value": json.RawMessage(value), "namespace": "guest", "action_name": "/guest/hello",
		"action_version": "0.0.1", "activation_id": string(whisk.NewActivationID()), "transaction_id": "tid",
		"deadline": "4102444800000",
	})
	if err != nil {
		t.Fatalf("/run: %v; stderr:\n%s", err, p.stderr)
	}
	var env envelope
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("/run answered %s: %v", body, err)
		}
	}
	return status, env
}

func stopped(t *testing.T, p *proc) {
	t.Helper()
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Error(err)
		}
	})
}

func requireNode(t *testing.T) {
	t.Helper()
	its, err := interpreters()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range its {
		if it.Family == "nodejs" {
			return
		}
	}
	t.Skip("no node on PATH")
}

// The code comes from the gateway with the token, the runtime is not
// ready while it waits for it, and the first run reports the cold start.
func TestKnativeCodeByURL(t *testing.T) {
	requireNode(t)
	cs := newCodeServer(t)
	release := make(chan struct{})
	cs.hold = release
	a := nodeAction(hello)
	p := startMain(t, "nodejs", actionEnv(a, cs, true)...)
	stopped(t, p)

	if got := p.ready(t); got != http.StatusServiceUnavailable {
		t.Errorf("/ready while the code is on its way = %d, want 503", got)
	}
	// A run the gateway did not sign is refused, even before the init.
	unsigned := []byte(`{"value":{"name":"Mallory"},"activation_id":"` + string(whisk.NewActivationID()) + `"}`)
	if status, body, err := p.send(context.Background(), "/run", unsigned, ""); err != nil || status != http.StatusUnauthorized {
		t.Errorf("unsigned /run = %d %s (%v), want 401", status, body, err)
	}
	close(release)
	status, env := run(t, p, `{"name":"Jane"}`)
	if status != http.StatusOK || env.Response.StatusCode != 0 || string(env.Response.Result) != `{"greeting":"Hello, Jane!"}` {
		t.Fatalf("/run = %d %+v", status, env)
	}
	if env.InitTime == nil || env.Start > env.End {
		t.Errorf("first run: initTime %v, start %d, end %d; want an init time and start <= end", env.InitTime, env.Start, env.End)
	}
	if len(env.Logs) != 1 || !strings.HasSuffix(env.Logs[0], " stdout: hello Jane") {
		t.Errorf("logs %q, want the run's one line", env.Logs)
	}
	if got := p.ready(t); got != http.StatusOK {
		t.Errorf("/ready after the init = %d, want 200", got)
	}
	_, env = run(t, p, `{"name":"Zoë"}`)
	if env.InitTime != nil || string(env.Response.Result) != `{"greeting":"Hello, Zoë!"}` {
		t.Errorf("second run: initTime %v, result %s; want a warm run", env.InitTime, env.Response.Result)
	}
	cs.mu.Lock()
	auth, keyAuth := cs.auth, cs.keyAuth
	cs.mu.Unlock()
	if diff := cmp.Diff([]string{"Bearer " + codeToken}, auth); diff != "" {
		t.Errorf("code requests' Authorization (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Bearer " + codeToken}, keyAuth); diff != "" {
		t.Errorf("run keys requests' Authorization (-want +got):\n%s", diff)
	}
}

// Code that does not match its digest fails every run, with a ready
// runtime, so the activations record why.
func TestKnativeBadDigest(t *testing.T) {
	requireNode(t)
	cs := newCodeServer(t)
	a := nodeAction(hello)
	env := actionEnv(a, cs, true) // serves the code under its digest...
	var act wire.ActionEnv
	if err := json.Unmarshal([]byte(strings.TrimPrefix(env[len(env)-1], "KWHISK_ACTION=")), &act); err != nil {
		t.Fatal(err)
	}
	act.Digest = wire.Digest(hello + "tampered") // ...but the revision wants other code
	b, _ := json.Marshal(act)                    // plain values always marshal
	env[len(env)-1] = "KWHISK_ACTION=" + string(b)
	p := startMain(t, "nodejs", env...)
	stopped(t, p)

	for range 2 {
		_, got := run(t, p, `{}`)
		var r struct{ Error string }
		_ = json.Unmarshal(got.Response.Result, &r) // checked below
		if got.Response.StatusCode != whisk.StatusWhiskError || !strings.Contains(r.Error, "does not match its digest") || got.InitTime == nil {
			t.Errorf("run = %+v; want a whisk error about the digest with an init time", got)
		}
	}
	if got := p.ready(t); got != http.StatusOK {
		t.Errorf("/ready = %d, want 200", got)
	}
}

// An init failure is every run's answer, with the init's logs.
func TestKnativeInitFailure(t *testing.T) {
	requireNode(t)
	p := startMain(t, "nodejs", actionEnv(nodeAction("console.log('loading');\nfunction main( {"), newCodeServer(t), false)...)
	stopped(t, p)
	for range 2 {
		status, env := run(t, p, `{}`)
		var r struct{ Error string }
		_ = json.Unmarshal(env.Response.Result, &r) // checked below
		if status != http.StatusOK || env.Response.StatusCode != whisk.StatusDeveloperError ||
			!strings.HasPrefix(r.Error, "Initialization has failed due to: ") || !strings.Contains(r.Error, "SyntaxError") {
			t.Errorf("/run = %d %+v; want the init's developer error", status, env)
		}
		if env.InitTime == nil || len(env.Logs) == 0 || !strings.HasSuffix(env.Logs[len(env.Logs)-1], actionloop.MsgLogsIncomplete) {
			t.Errorf("initTime %v, logs %q; want an init time and the warning line", env.InitTime, env.Logs)
		}
	}
}

// Classic mode speaks OpenWhisk's container protocol: /init once, /run
// with bare results, logs on the container's streams with sentinels.
func TestClassic(t *testing.T) {
	requireNode(t)
	p := startMain(t, "nodejs")
	stopped(t, p)
	ctx := context.Background()
	post := func(path string, body any) (int, string) {
		t.Helper()
		status, out, err := p.post(ctx, path, body)
		if err != nil {
			t.Fatal(err)
		}
		return status, strings.TrimSpace(string(out))
	}
	code := `function main(p) { console.log('hi ' + p.name); console.error('err'); if (p.fail) throw new Error('boom'); return { hi: p.name }; }`
	tests := []struct {
		path       string
		body       string
		wantStatus int
		want       string
	}{
		{"/run", `{"value":{}}`, 403, `{"error":"The action has not been initialized."}`},
		{"/init", `{"value":{"name":"hello","main":"main","code":` + quote(code) + `,"binary":false}}`, 200, `{"ok":true}`},
		{"/init", `{"value":{"name":"hello","main":"main","code":"function main() {}","binary":false}}`, 403,
			`{"error":"Cannot initialize the action more than once."}`},
		{"/run", `{"value":{"name":"Jane"},"activation_id":"a1"}`, 200, `{"hi":"Jane"}`},
		{"/run", `{"value":{"name":"Joe","fail":true}}`, 502, `{"error":"An error has occurred: Error: boom"}`},
		{"/run", `{"value":{"name":"Zoë"}}`, 200, `{"hi":"Zoë"}`},
	}
	for _, tt := range tests {
		status, got := post(tt.path, json.RawMessage(tt.body))
		if status != tt.wantStatus || got != tt.want {
			t.Errorf("POST %s %s = %d %s, want %d %s", tt.path, tt.body, status, got, tt.wantStatus, tt.want)
		}
	}
	s := actionloop.Sentinel
	wantOut := []string{"hi Jane", s, "hi Joe", s, "hi Zoë", s}
	if diff := cmp.Diff(wantOut, p.stdout.next(t, len(wantOut))); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"err", s}, p.stderr.next(t, 2)); diff != "" {
		t.Errorf("stderr of the first run (-want +got):\n%s", diff)
	}
}

// A Node.js action with limits.concurrency > 1 runs its activations in one
// process at the same time, each with its own logs and __OW_ variables.
func TestKnativeConcurrentNode(t *testing.T) {
	requireNode(t)
	const n = 4
	// Every activation waits until all n are in the process: run one at a
	// time, they would time out.
	code := `let arrived = 0;
let open;
const all = new Promise((resolve) => { open = resolve; });
async function main(p) {
  console.log('start ' + p.i);
  if (++arrived === 4) open();
  await all;
  console.error('end ' + p.i);
  return { i: p.i, id: process.env.__OW_ACTIVATION_ID };
}`
	a := nodeAction(code)
	a.Limits.Concurrency = n
	a.Limits.Timeout = 5000
	p := startMain(t, "nodejs", actionEnv(a, newCodeServer(t), false)...)
	stopped(t, p)

	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := strings.Repeat(string(rune('a'+i)), 32)
			status, body, err := p.post(context.Background(), "/run", map[string]any{
				"value": map[string]int{"i": i}, "activation_id": id, "namespace": "guest",
				"deadline": time.Now().Add(5 * time.Second).UnixMilli(),
			})
			var env envelope
			if err == nil {
				err = json.Unmarshal(body, &env)
			}
			if err != nil || status != http.StatusOK {
				t.Errorf("run %d: %d %s %v", i, status, body, err)
				return
			}
			want := `{"i":` + string(rune('0'+i)) + `,"id":"` + id + `"}`
			if env.Response.StatusCode != 0 || string(env.Response.Result) != want {
				t.Errorf("run %d: %d %s, want %s", i, env.Response.StatusCode, env.Response.Result, want)
			}
			var got []string
			for _, l := range env.Logs {
				got = append(got, l[strings.Index(l, " std"):])
			}
			// Exactly its own two lines. Their order is not checked: lines are
			// stamped as the runtime reads the two pipes, so a line written to
			// stdout just before one to stderr may be stamped after it when
			// the reader is descheduled in between (a loaded machine).
			slices.Sort(got)
			wantLogs := []string{" stderr: end " + string(rune('0'+i)), " stdout: start " + string(rune('0'+i))}
			if diff := cmp.Diff(wantLogs, got); diff != "" {
				t.Errorf("run %d logs (-want +got):\n%s", i, diff)
			}
		})
	}
	wg.Wait()
}

// A blackbox action's own image runs beside the runtime, which proxies
// OpenWhisk's protocol to it.
func TestBlackboxProxy(t *testing.T) {
	var mu sync.Mutex
	var inits []string
	image := newImage(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.URL.Path {
		case "/init":
			mu.Lock()
			inits = append(inits, string(body))
			mu.Unlock()
			_, _ = w.Write([]byte(`{"ok":true}`))
		case "/run":
			var req struct {
				Value map[string]any `json:"value"`
			}
			_ = json.Unmarshal(body, &req) // an empty value answers below
			if req.Value["fail"] == true {
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte(`{"error":"the image failed"}`))
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"echo": req.Value})
		}
	})
	a := &platform.Action{
		Path: whisk.EntityPath{Namespace: "guest", Name: "box"}, Version: "0.0.1", Kind: "blackbox",
		Image: "docker.io/jane/box:1", Limits: whisk.Limits{Timeout: 5000, Logs: 10, Concurrency: 1},
	}
	p := startMain(t, "blackbox", append(actionEnv(a, newCodeServer(t), false), "KWHISK_BLACKBOX_URL="+image)...)
	stopped(t, p)

	_, env := run(t, p, `{"x":1}`)
	if env.Response.StatusCode != 0 || string(env.Response.Result) != `{"echo":{"x":1}}` {
		t.Errorf("run = %+v", env)
	}
	_, env = run(t, p, `{"fail":true}`)
	if env.Response.StatusCode != whisk.StatusDeveloperError || string(env.Response.Result) != `{"error":"the image failed"}` {
		t.Errorf("failing run = %+v; want the image's error as a developer error", env)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{`{"value":{"binary":false,"main":"main","name":"box"}}`}, inits); diff != "" {
		t.Errorf("inits (-want +got):\n%s", diff)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s) // strings always marshal
	return string(b)
}
