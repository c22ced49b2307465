package imageserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/runtime/imageserver"
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
	ctx, cancel := context.WithCancel(context.Background())
	s, err := imageserver.New(ctx, imageserver.Options{Launcher: skeleton, Env: env, Stdout: stdout, Stderr: io.Discard, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
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
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// In Knative mode the action comes in wire.EnvAction, and each /run
// answers a wire.RunResponse; the first reports the cold start.
func TestKnativeMode(t *testing.T) {
	code := script
	act, _ := json.Marshal(wire.ActionEnv{Name: "/guest/hello", Version: "0.0.1", Kind: "blackbox", Main: "main", Code: &code, Digest: wire.Digest(code)})
	url := serve(t, map[string]string{wire.EnvAction: string(act)}, io.Discard)
	for run := range 2 {
		status, body := post(t, url+"/run", wire.RunRequest{
			Value: json.RawMessage(`{"x":1}`), ActivationID: strings.Repeat("a", 32),
			Deadline: wire.FormatDeadline(time.Now().Add(10 * time.Second)),
		})
		var got wire.RunResponse
		if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK || got.Response == nil {
			t.Fatalf("run %d: %d %s (%v)", run, status, body, err)
		}
		if got.Response.StatusCode != whisk.StatusSuccess || string(got.Response.Result) != `{"greeting":"hi"}` {
			t.Errorf("run %d: response %d %s", run, got.Response.StatusCode, got.Response.Result)
		}
		if len(got.Logs) != 1 || !strings.HasSuffix(got.Logs[0], ` stdout: hello {"x":1}`) {
			t.Errorf("run %d: logs %q", run, got.Logs)
		}
		if (got.InitTime != nil) != (run == 0) {
			t.Errorf("run %d: initTime %v", run, got.InitTime)
		}
	}
}

// Code that does not match its digest fails every run as a whisk error.
func TestKnativeBadDigest(t *testing.T) {
	code := script
	act, _ := json.Marshal(wire.ActionEnv{Name: "/guest/hello", Code: &code, Digest: wire.Digest("other")})
	url := serve(t, map[string]string{wire.EnvAction: string(act)}, io.Discard)
	status, body := post(t, url+"/run", wire.RunRequest{Value: json.RawMessage(`{}`)})
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
	act, _ := json.Marshal(wire.ActionEnv{Name: "/guest/deadline", Kind: "blackbox", Main: "main", Code: &code, Digest: wire.Digest(code), Limits: &limits})
	url := serve(t, map[string]string{wire.EnvAction: string(act)}, io.Discard)
	sent := time.Now()
	status, body := post(t, url+"/run", wire.RunRequest{
		Value: json.RawMessage(`{}`), ActivationID: strings.Repeat("a", 32),
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
	act, _ := json.Marshal(wire.ActionEnv{Name: "/guest/docker", Kind: "blackbox", Main: "main", Image: "example/action", Code: &code, Digest: wire.Digest(code), Limits: &limits})
	return map[string]string{wire.EnvAction: string(act), wire.EnvBlackbox: image}
}

// The blackbox proxy gives the action's image a deadline of its own
// limit, from when it forwards the run.
func TestProxyDeadline(t *testing.T) {
	image, arrivals := blackboxImage(t, 0)
	url := serve(t, proxyEnv(t, image), io.Discard)
	status, body := post(t, url+"/run", wire.RunRequest{Value: json.RawMessage(`{}`), ActivationID: strings.Repeat("b", 32)})
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
	for run := range 2 {
		status, body := post(t, url+"/run", wire.RunRequest{Value: json.RawMessage(`{}`), ActivationID: strings.Repeat("c", 32)})
		var got wire.RunResponse
		if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK || got.Response == nil {
			t.Fatalf("run %d: %d %s (%v)", run, status, body, err)
		}
		switch {
		case run == 0 && (got.InitTime == nil || *got.InitTime < initDelay.Milliseconds()):
			t.Errorf("first run: initTime %v, want the image's init (%d ms or more)", ptrMillis(got.InitTime), initDelay.Milliseconds())
		case run > 0 && got.InitTime != nil:
			t.Errorf("run %d: initTime %d, want none on a warm run", run, *got.InitTime)
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
	act, _ := json.Marshal(wire.ActionEnv{Name: "/guest/hog", Kind: "blackbox", Main: "main", Code: &code, Digest: wire.Digest(code),
		Limits: &whisk.Limits{Timeout: 10000, Memory: 128, Logs: 10, Concurrency: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := imageserver.New(ctx, imageserver.Options{
		Launcher: skeleton, Env: map[string]string{wire.EnvAction: string(act)}, Stderr: io.Discard, WorkDir: t.TempDir(),
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
		status, body := post(t, srv.URL+"/run", wire.RunRequest{Value: json.RawMessage(`{}`)})
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
