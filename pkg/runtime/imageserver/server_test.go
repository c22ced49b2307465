package imageserver_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/runtime/imageserver"
	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// script is docker-skeleton code: it needs no language runtime, so these
// tests run wherever /bin/sh does. The full conformance of the images is
// runtimes/images_test.go's.
const script = "#!/bin/sh\necho \"hello $1\"\necho '{\"greeting\":\"hi\"}'\n"

// skeleton is the native family's launcher, as runtimes/native makes it.
func skeleton(_ context.Context, _ string, env []string) (*actionloop.Launcher, error) {
	return &actionloop.Launcher{Source: actionloop.ExecFile, Env: env, Skeleton: true}, nil
}

// serve runs a Server over env until the test ends and returns its URL.
func serve(t *testing.T, env map[string]string, stdout io.Writer) string {
	t.Helper()
	return serveWith(t, env, stdout, io.Discard, nil)
}

// serveWith is serve with the Server's stderr, and setup called before
// it serves.
func serveWith(t *testing.T, env map[string]string, stdout, stderr io.Writer, setup func(*imageserver.Server)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := imageserver.New(ctx, imageserver.Options{Launcher: skeleton, Env: env, Stdout: stdout, Stderr: stderr, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "http://" + ln.Addr().String()
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(url + "/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func post(t *testing.T, url string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return postSigned(t, url, b, "")
}

// postSigned posts body to url with signature as its runauth.Header
// ("": none).
func postSigned(t *testing.T, url string, body []byte, signature string) (int, []byte) {
	t.Helper()
	status, out, err := tryPost(url, body, signature)
	if err != nil {
		t.Fatal(err)
	}
	return status, out
}

func tryPost(url string, body []byte, signature string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(runauth.Header, signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// master is the gateway's master key in these tests.
var master = []byte("test master key")

// keyOf is the run key of the action named name.
func keyOf(name string) []byte { return runauth.Derive(master, name) }

var ids atomic.Uint64

// newID returns an activation id no test used before.
func newID() string { return fmt.Sprintf("%032x", ids.Add(1)) }

// run posts body, with a new activation id, to url's /run signed with key
// and expiring in a minute, as the gateway does.
func run(t *testing.T, url string, key []byte, body wire.RunRequest) (int, []byte) {
	t.Helper()
	body.ActivationID = newID()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return postSigned(t, url+"/run", b, runauth.Sign(key, time.Now().Add(time.Minute), b))
}

const codeToken = "code-token"

// gateway stands for the gateway's run keys endpoint: it answers the keys
// it holds to a GET with the code token.
type gateway struct {
	*httptest.Server
	mu     sync.Mutex
	keys   [][]byte
	status int           // when not 0, the answer instead of the keys
	hold   chan struct{} // when not nil, each answer waits for it to close
	gets   int
}

func newGateway(t *testing.T, keys ...[]byte) *gateway {
	g := &gateway{keys: keys}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+codeToken {
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
			return
		}
		g.mu.Lock()
		g.gets++
		rk, status, hold := wire.RunKeys{Keys: []string{}}, g.status, g.hold
		for _, k := range g.keys {
			rk.Keys = append(rk.Keys, hex.EncodeToString(k))
		}
		g.mu.Unlock()
		if hold != nil {
			<-hold
		}
		if status != 0 {
			http.Error(w, `{"error":"no"}`, status)
			return
		}
		_ = json.NewEncoder(w).Encode(rk) // the runtime reports a short answer
	}))
	t.Cleanup(g.Close)
	return g
}

// set makes g answer keys from now on.
func (g *gateway) set(keys ...[]byte) {
	g.mu.Lock()
	g.keys, g.status = keys, 0
	g.mu.Unlock()
}

// fetches is the number of GETs of the keys with the token.
func (g *gateway) fetches() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gets
}

// knativeEnv is a revision's environment for a, its keys at g.
func knativeEnv(t *testing.T, a wire.ActionEnv, g *gateway) map[string]string {
	t.Helper()
	act, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{wire.EnvAction: string(act), wire.EnvRunKeysURL: g.URL + "/api/v1/runkeys", wire.EnvCodeToken: codeToken}
}

// helloEnv is the environment of /guest/hello, script, keys at g.
func helloEnv(t *testing.T, g *gateway) map[string]string {
	code := script
	return knativeEnv(t, wire.ActionEnv{Name: "/guest/hello", Version: "0.0.1", Kind: "blackbox", Main: "main", Code: &code, Digest: wire.Digest(code)}, g)
}

// In Knative mode the action comes in wire.EnvAction, and each /run
// answers a wire.RunResponse; the first reports the cold start.
func TestKnativeMode(t *testing.T) {
	url := serve(t, helloEnv(t, newGateway(t, keyOf("/guest/hello"))), io.Discard)
	for i := range 2 {
		status, body := run(t, url, keyOf("/guest/hello"), wire.RunRequest{
			Value:    json.RawMessage(`{"x":1}`),
			Deadline: wire.FormatDeadline(time.Now().Add(10 * time.Second)),
		})
		var got wire.RunResponse
		if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK || got.Response == nil {
			t.Fatalf("run %d: %d %s (%v)", i, status, body, err)
		}
		if got.Response.StatusCode != whisk.StatusSuccess || string(got.Response.Result) != `{"greeting":"hi"}` {
			t.Errorf("run %d: response %d %s", i, got.Response.StatusCode, got.Response.Result)
		}
		if len(got.Logs) != 1 || !strings.HasSuffix(got.Logs[0], ` stdout: hello {"x":1}`) {
			t.Errorf("run %d: logs %q", i, got.Logs)
		}
		if (got.InitTime != nil) != (i == 0) {
			t.Errorf("run %d: initTime %v", i, got.InitTime)
		}
	}
}

// Code that does not match its digest fails every run as a whisk error.
func TestKnativeBadDigest(t *testing.T) {
	code := script
	url := serve(t, knativeEnv(t, wire.ActionEnv{Name: "/guest/hello", Code: &code, Digest: wire.Digest("other")}, newGateway(t, keyOf("/guest/hello"))), io.Discard)
	status, body := run(t, url, keyOf("/guest/hello"), wire.RunRequest{Value: json.RawMessage(`{}`)})
	var got wire.RunResponse
	if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK || got.Response == nil {
		t.Fatalf("run: %d %s (%v)", status, body, err)
	}
	if got.Response.StatusCode != whisk.StatusWhiskError || !strings.Contains(string(got.Response.Result), "does not match its digest") {
		t.Errorf("response %d %s", got.Response.StatusCode, got.Response.Result)
	}
}

// Classic mode is OpenWhisk's container protocol: /init once, then /run
// answering the bare result, the logs on the container's stdout followed
// by the sentinel.
func TestClassicMode(t *testing.T) {
	var stdout bytes.Buffer // written only between requests
	url := serve(t, map[string]string{}, &stdout)
	if status, body := post(t, url+"/run", wire.RunRequest{Value: json.RawMessage(`{}`)}); status != http.StatusForbidden || !strings.Contains(string(body), imageserver.MsgNotInitialized) {
		t.Errorf("run before init: %d %s", status, body)
	}
	init := wire.InitRequest{Value: wire.InitValue{Name: "hello", Main: "main", Code: script}}
	if status, body := post(t, url+"/init", init); status != http.StatusOK || string(body) != "{\"ok\":true}\n" {
		t.Fatalf("init: %d %s", status, body)
	}
	if status, body := post(t, url+"/init", init); status != http.StatusForbidden || !strings.Contains(string(body), imageserver.MsgInitTwice) {
		t.Errorf("second init: %d %s", status, body)
	}
	status, body := post(t, url+"/run", wire.RunRequest{Value: json.RawMessage(`{"x":1}`)})
	if status != http.StatusOK || string(body) != "{\"greeting\":\"hi\"}\n" {
		t.Errorf("run: %d %s", status, body)
	}
	if want := "hello {\"x\":1}\n" + actionloop.Sentinel + "\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
}

// In Knative mode the runtime starts the time limit, and __OW_DEADLINE,
// when the run reaches it: a deadline in the request (which may have
// waited in Knative's activator for the pod) does not count.
func TestKnativeDeadlineStartsWithTheRun(t *testing.T) {
	code := "#!/bin/sh\necho \"{\\\"deadline\\\":\\\"$__OW_DEADLINE\\\"}\"\n"
	limits := whisk.DefaultBounds.Defaults()
	limits.Timeout = 5000
	env := knativeEnv(t, wire.ActionEnv{Name: "/guest/deadline", Kind: "blackbox", Main: "main", Code: &code, Digest: wire.Digest(code), Limits: &limits},
		newGateway(t, keyOf("/guest/deadline")))
	url := serve(t, env, io.Discard)
	sent := time.Now()
	status, body := run(t, url, keyOf("/guest/deadline"), wire.RunRequest{
		Value:    json.RawMessage(`{}`),
		Deadline: wire.FormatDeadline(sent.Add(-10 * time.Second)),
	})
	var got wire.RunResponse
	if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK || got.Response == nil {
		t.Fatalf("run: %d %s (%v)", status, body, err)
	}
	var out struct {
		Deadline string `json:"deadline"`
	}
	if err := json.Unmarshal(got.Response.Result, &out); err != nil {
		t.Fatalf("result %s: %v", got.Response.Result, err)
	}
	if d := wire.ParseDeadline(json.RawMessage(out.Deadline)); d.UnixMilli() < got.Start+int64(limits.Timeout) {
		t.Errorf("__OW_DEADLINE = %q, want the run's start (%d) + %d ms or later", out.Deadline, got.Start, limits.Timeout)
	}
}

// blackboxImage stands for a blackbox action's own image: OpenWhisk's
// container protocol, answering each run with the deadline it was given.
func blackboxImage(t *testing.T, initDelay time.Duration) (string, <-chan time.Time) {
	t.Helper()
	arrivals := make(chan time.Time, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/init":
			time.Sleep(initDelay)
			_, _ = io.WriteString(w, `{"ok":true}`)
		case "/run":
			arrivals <- time.Now()
			var body wire.RunRequest
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Errorf("run body: %v", err)
			}
			_ = json.NewEncoder(w).Encode(map[string]json.RawMessage{"deadline": body.Deadline})
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, arrivals
}

func proxyEnv(t *testing.T, image string) map[string]string {
	t.Helper()
	code := ""
	limits := whisk.DefaultBounds.Defaults()
	limits.Timeout = 5000
	env := knativeEnv(t, wire.ActionEnv{Name: "/guest/docker", Kind: "blackbox", Main: "main", Image: "example/action", Code: &code, Digest: wire.Digest(code), Limits: &limits},
		newGateway(t, keyOf("/guest/docker")))
	env[wire.EnvBlackbox] = image
	return env
}

// The blackbox proxy gives the action's image a deadline of its own
// limit, from when it forwards the run.
func TestProxyDeadline(t *testing.T) {
	image, arrivals := blackboxImage(t, 0)
	url := serve(t, proxyEnv(t, image), io.Discard)
	status, body := run(t, url, keyOf("/guest/docker"), wire.RunRequest{Value: json.RawMessage(`{}`)})
	var got wire.RunResponse
	if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK || got.Response == nil {
		t.Fatalf("run: %d %s (%v)", status, body, err)
	}
	arrived := <-arrivals
	var out struct {
		Deadline json.RawMessage `json:"deadline"`
	}
	if err := json.Unmarshal(got.Response.Result, &out); err != nil {
		t.Fatalf("result %s: %v", got.Response.Result, err)
	}
	d := wire.ParseDeadline(out.Deadline)
	if d.Before(arrived) || d.After(arrived.Add(5*time.Second)) {
		t.Errorf("the image got deadline %s at %d; want one within the 5 s limit from then", out.Deadline, arrived.UnixMilli())
	}
}

// A blackbox (--docker) action's cold start: the first run after boot
// reports the /init of the action's image as its initTime, later runs
// none, as on the runtime's own path.
func TestProxyReportsTheInit(t *testing.T) {
	const initDelay = 50 * time.Millisecond
	image, _ := blackboxImage(t, initDelay)
	url := serve(t, proxyEnv(t, image), io.Discard)
	for i := range 2 {
		status, body := run(t, url, keyOf("/guest/docker"), wire.RunRequest{Value: json.RawMessage(`{}`)})
		var got wire.RunResponse
		if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK || got.Response == nil {
			t.Fatalf("run %d: %d %s (%v)", i, status, body, err)
		}
		switch {
		case i == 0 && (got.InitTime == nil || *got.InitTime < initDelay.Milliseconds()):
			t.Errorf("first run: initTime %v, want the image's init (%d ms or more)", ptrMillis(got.InitTime), initDelay.Milliseconds())
		case i > 0 && got.InitTime != nil:
			t.Errorf("run %d: initTime %d, want none on a warm run", i, *got.InitTime)
		}
	}
}

func ptrMillis(p *int64) any {
	if p == nil {
		return "none"
	}
	return *p
}

// In Knative mode the runtime is told the action's memory limit
// (MemoryEnv), and a runtime giving up on its memory is OpenWhisk's
// "exhausted its memory", as in local mode.
func TestKnativeMemoryExhausted(t *testing.T) {
	code := "#!/bin/sh\necho \"limit $HEAP_MB\" >&2\necho 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' >&2\nexit 134\n"
	env := knativeEnv(t, wire.ActionEnv{Name: "/guest/hog", Kind: "blackbox", Main: "main", Code: &code, Digest: wire.Digest(code),
		Limits: &whisk.Limits{Timeout: 10000, Memory: 128, Logs: 10, Concurrency: 1}}, newGateway(t, keyOf("/guest/hog")))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := imageserver.New(ctx, imageserver.Options{
		Launcher: skeleton, Env: env, Stderr: io.Discard, WorkDir: t.TempDir(),
		MemoryEnv: func(mb int) []string { return []string{"HEAP_MB=" + strconv.Itoa(mb)} },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, mustListen(t)) }()
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	var got wire.RunResponse
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		status, body := run(t, srv.URL, keyOf("/guest/hog"), wire.RunRequest{Value: json.RawMessage(`{}`)})
		if status == http.StatusOK {
			if err := json.Unmarshal(body, &got); err != nil || got.Response == nil {
				t.Fatalf("run: %s (%v)", body, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run: %d %s", status, body)
		}
	}
	if got.Response.StatusCode != whisk.StatusDeveloperError || string(got.Response.Result) != `{"error":"`+actionloop.MsgMemoryExhausted+`"}` {
		t.Errorf("response %d %s; want the developer error %q", got.Response.StatusCode, got.Response.Result, actionloop.MsgMemoryExhausted)
	}
	if !strings.Contains(strings.Join(got.Logs, "\n"), "stderr: limit 128") {
		t.Errorf("logs %q; want the runtime told its limit of 128 MB", got.Logs)
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// lockedBuffer is a Server's stderr that a test reads while it serves.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// wantRefused fails unless a run was answered 401 with want's message.
func wantRefused(t *testing.T, what string, status int, body []byte, want error) {
	t.Helper()
	if status != http.StatusUnauthorized || string(body) != string(actionloop.ErrorResult(want.Error()))+"\n" {
		t.Errorf("%s: %d %s; want 401 %q", what, status, body, want)
	}
}

// A run the gateway did not sign for this action is refused before the
// action runs: unsigned, signed with another action's key, with the body
// changed after signing, or with a header that is no signature.
func TestKnativeRefusesUnsignedRuns(t *testing.T) {
	ran := t.TempDir() + "/ran"
	code := "#!/bin/sh\necho run >> '" + ran + "'\necho '{\"ok\":true}'\n"
	g := newGateway(t, keyOf("/guest/count"))
	var stderr lockedBuffer
	url := serveWith(t, knativeEnv(t, wire.ActionEnv{Name: "/guest/count", Kind: "blackbox", Main: "main", Code: &code, Digest: wire.Digest(code)}, g),
		io.Discard, &stderr, nil)

	body, _ := json.Marshal(wire.RunRequest{Value: json.RawMessage(`{}`), ActivationID: newID()})
	expiry := time.Now().Add(time.Minute)
	tampered := bytes.Replace(body, []byte(`{}`), []byte(`{"x":1}`), 1)
	for _, tt := range []struct {
		name      string
		signature string
		want      error
	}{
		{"unsigned", "", runauth.ErrUnsigned},
		{"another action's key", runauth.Sign(keyOf("/other/action"), expiry, body), runauth.ErrSignature},
		{"changed body", runauth.Sign(keyOf("/guest/count"), expiry, tampered), runauth.ErrSignature},
		{"no signature", "t=1,v1=zz", runauth.ErrSignature},
	} {
		status, answer := postSigned(t, url+"/run", body, tt.signature)
		wantRefused(t, tt.name, status, answer, tt.want)
	}
	if _, err := os.Stat(ran); !os.IsNotExist(err) {
		t.Errorf("the action ran for a refused request (stat: %v)", err)
	}
	if n := strings.Count(stderr.String(), "kwhisk runtime: refused a run: "); n != 4 {
		t.Errorf("stderr %q; want a line for each of the 4 refusals", stderr.String())
	}
	// The check above can fail: a signed run does run the action.
	status, answer := postSigned(t, url+"/run", body, runauth.Sign(keyOf("/guest/count"), expiry, body))
	if status != http.StatusOK {
		t.Fatalf("signed run: %d %s", status, answer)
	}
	if b, err := os.ReadFile(ran); err != nil || string(b) != "run\n" {
		t.Errorf("after the signed run the action's file holds %q (%v), want one run", b, err)
	}
}

// An activation runs once: the same signed request again is a replay, as
// is the same activation signed anew; a request past its expiry is
// refused.
func TestKnativeRefusesReplaysAndExpired(t *testing.T) {
	url := serve(t, helloEnv(t, newGateway(t, keyOf("/guest/hello"))), io.Discard)
	key := keyOf("/guest/hello")
	body, _ := json.Marshal(wire.RunRequest{Value: json.RawMessage(`{}`), ActivationID: newID()})
	signature := runauth.Sign(key, time.Now().Add(time.Minute), body)
	if status, answer := postSigned(t, url+"/run", body, signature); status != http.StatusOK {
		t.Fatalf("first run: %d %s", status, answer)
	}
	status, answer := postSigned(t, url+"/run", body, signature)
	wantRefused(t, "the same request again", status, answer, runauth.ErrReplayed)
	status, answer = postSigned(t, url+"/run", body, runauth.Sign(key, time.Now().Add(2*time.Minute), body))
	wantRefused(t, "the same activation signed anew", status, answer, runauth.ErrReplayed)

	expired, _ := json.Marshal(wire.RunRequest{Value: json.RawMessage(`{}`), ActivationID: newID()})
	status, answer = postSigned(t, url+"/run", expired, runauth.Sign(key, time.Now().Add(-runauth.Skew-time.Second), expired))
	wantRefused(t, "expired", status, answer, runauth.ErrExpired)
}

// A key the gateway rotated in is fetched when a signature matches none
// of the keys the runtime holds; the old key still opens the action.
func TestKnativeKeyRotation(t *testing.T) {
	a, b := keyOf("/guest/hello"), runauth.Derive([]byte("new master"), "/guest/hello")
	g := newGateway(t, a)
	url := serveWith(t, helloEnv(t, g), io.Discard, io.Discard, func(s *imageserver.Server) {
		imageserver.SetKeyIntervals(s, 0, time.Hour)
	})
	if status, answer := run(t, url, a, wire.RunRequest{Value: json.RawMessage(`{}`)}); status != http.StatusOK {
		t.Fatalf("run with A: %d %s", status, answer)
	}
	g.set(b, a)
	for _, k := range []struct {
		name string
		key  []byte
	}{{"B", b}, {"A", a}} {
		if status, answer := run(t, url, k.key, wire.RunRequest{Value: json.RawMessage(`{}`)}); status != http.StatusOK {
			t.Errorf("run with %s after the rotation: %d %s", k.name, status, answer)
		}
	}
	if n := g.fetches(); n != 2 {
		t.Errorf("%d fetches of the keys, want 2: the boot's and the one B's signature caused", n)
	}
}

// Runs refused at once share one fetch of the keys, and a fetch follows
// the last one no sooner than the interval.
func TestKnativeRefetchIsShared(t *testing.T) {
	g := newGateway(t, keyOf("/guest/hello"))
	const interval = time.Second
	url := serveWith(t, helloEnv(t, g), io.Discard, io.Discard, func(s *imageserver.Server) {
		imageserver.SetKeyIntervals(s, interval, time.Hour)
	})
	time.Sleep(interval) // since the boot's fetch
	hold := make(chan struct{})
	g.mu.Lock()
	g.hold = hold
	g.mu.Unlock()
	var wg sync.WaitGroup
	for range 5 {
		body, _ := json.Marshal(wire.RunRequest{Value: json.RawMessage(`{}`), ActivationID: newID()})
		signature := runauth.Sign(keyOf("/other/action"), time.Now().Add(time.Minute), body)
		wg.Go(func() {
			status, answer, err := tryPost(url+"/run", body, signature)
			if err != nil {
				t.Error(err)
			}
			wantRefused(t, "another action's key", status, answer, runauth.ErrSignature)
		})
	}
	time.Sleep(300 * time.Millisecond) // the runs wait for the one fetch
	close(hold)
	wg.Wait()
	if n := g.fetches(); n != 2 {
		t.Errorf("%d fetches of the keys, want 2: the boot's and one for the 5 refused runs", n)
	}
}

// Keys are fetched again in the background once they are old, so a key
// the gateway dropped stops opening the action.
func TestKnativeDroppedKey(t *testing.T) {
	a, b := keyOf("/guest/hello"), runauth.Derive([]byte("new master"), "/guest/hello")
	g := newGateway(t, a)
	url := serveWith(t, helloEnv(t, g), io.Discard, io.Discard, func(s *imageserver.Server) {
		imageserver.SetKeyIntervals(s, 0, 0)
	})
	g.set(b)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, answer := run(t, url, a, wire.RunRequest{Value: json.RawMessage(`{}`)})
		if status == http.StatusUnauthorized {
			wantRefused(t, "run with the dropped key", status, answer, runauth.ErrSignature)
			break
		}
		if status != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("run with the dropped key: %d %s; want 200 until the keys are fetched again, then 401", status, answer)
		}
	}
	if status, answer := run(t, url, b, wire.RunRequest{Value: json.RawMessage(`{}`)}); status != http.StatusOK {
		t.Errorf("run with the new key: %d %s", status, answer)
	}
}

// Without its keys the runtime refuses every run, and fetches them again
// on a later run.
func TestKnativeKeysUnavailable(t *testing.T) {
	g := newGateway(t)
	g.mu.Lock()
	g.status = http.StatusForbidden // no retry: the boot's fetch fails at once
	g.mu.Unlock()
	var stderr lockedBuffer
	url := serveWith(t, helloEnv(t, g), io.Discard, &stderr, func(s *imageserver.Server) {
		imageserver.SetKeyIntervals(s, 0, time.Hour)
	})
	key := keyOf("/guest/hello")
	status, answer := run(t, url, key, wire.RunRequest{Value: json.RawMessage(`{}`)})
	if status != http.StatusUnauthorized || !strings.Contains(string(answer), "could not fetch") {
		t.Errorf("run without keys: %d %s; want 401 saying the keys could not be fetched", status, answer)
	}
	if !strings.Contains(stderr.String(), "403 Forbidden") {
		t.Errorf("stderr %q; want why the fetch failed", stderr.String())
	}
	g.set(key)
	if status, answer := run(t, url, key, wire.RunRequest{Value: json.RawMessage(`{}`)}); status != http.StatusOK {
		t.Errorf("run once the gateway answers: %d %s", status, answer)
	}
}

// The blackbox proxy refuses an unsigned run without forwarding it.
func TestProxyRefusesUnsignedRuns(t *testing.T) {
	image, arrivals := blackboxImage(t, 0)
	url := serve(t, proxyEnv(t, image), io.Discard)
	status, answer := post(t, url+"/run", wire.RunRequest{Value: json.RawMessage(`{}`), ActivationID: newID()})
	wantRefused(t, "unsigned", status, answer, runauth.ErrUnsigned)
	if status, answer := run(t, url, keyOf("/guest/docker"), wire.RunRequest{Value: json.RawMessage(`{}`)}); status != http.StatusOK {
		t.Fatalf("signed run: %d %s", status, answer)
	}
	if n := len(arrivals); n != 1 {
		t.Errorf("the image got %d runs, want 1: the signed one", n)
	}
}

// Knative mode never runs without the run keys' URL.
func TestKnativeNeedsRunKeysURL(t *testing.T) {
	env := helloEnv(t, newGateway(t))
	delete(env, wire.EnvRunKeysURL)
	_, err := imageserver.New(context.Background(), imageserver.Options{Launcher: skeleton, Env: env, Stderr: io.Discard, WorkDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), wire.EnvRunKeysURL) {
		t.Errorf("New without %s = %v, want an error naming it", wire.EnvRunKeysURL, err)
	}
}
