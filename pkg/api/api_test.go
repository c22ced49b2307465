package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"

	"github.com/kwhisk/kwhisk/pkg/api"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/controlplane"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/metrics"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// fakeRuntimes offers nodejs:20 (default) and python:3.11.
type fakeRuntimes struct{}

func (fakeRuntimes) Runtimes() []platform.Runtime {
	return []platform.Runtime{
		{Family: "nodejs", Kind: "nodejs:20", Default: true},
		{Family: "python", Kind: "python:3.11", Default: true},
	}
}

// fakeRunner runs activations with a function; the real platforms are
// covered by platformtest and the e2e suite.
type fakeRunner struct {
	run func(a *platform.Action, req *platform.RunRequest) *platform.Result
}

func (f *fakeRunner) Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
	if bytes.Contains(req.Value, []byte(`"unavailable"`)) {
		return nil, whisk.Errorf(whisk.KindUnavailable, "The data plane is unavailable")
	}
	now := time.Now()
	res := f.run(a, req)
	if res.Start.IsZero() {
		res.Start, res.End = now, time.Now()
	}
	return res, nil
}

// fakePlatform is the fake runner with the fake runtimes.
type fakePlatform struct{ *fakeRunner }

func (fakePlatform) Runtimes() []platform.Runtime { return fakeRuntimes{}.Runtimes() }

func (fakePlatform) Deploy(context.Context, *platform.Action)   {}
func (fakePlatform) Remove(context.Context, platform.ActionRef) {}

// echoRun returns its input, or an error result when the input has "fail".
func echoRun(a *platform.Action, req *platform.RunRequest) *platform.Result {
	if bytes.Contains(req.Value, []byte(`"fail"`)) {
		return &platform.Result{Response: whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult("failed")}}
	}
	if bytes.Contains(req.Value, []byte(`"array"`)) {
		return &platform.Result{Response: whisk.Response{Result: json.RawMessage(`[1,2]`)}}
	}
	if bytes.Contains(req.Value, []byte(`"slow"`)) {
		time.Sleep(2 * testBlockingWait)
	}
	return &platform.Result{Cold: true, InitTime: time.Millisecond, Response: whisk.Response{Result: req.Value},
		Logs: []string{"2026-11-25T00:00:00.000000000Z  stdout: hi"}}
}

var testTokens = events.NewTokens([]byte("0123456789abcdef0123456789abcdef"))

type harness struct {
	t     *testing.T
	url   string
	st    *sqlite.Store
	clock *fakeClock
}

// fakeClock is a settable clock for the alarm scheduler.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock and wakes every waiter now due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

var guestAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(auth.WellKnown[0].UUID+":"+auth.WellKnown[0].Key))

// unthrottled are limits no test reaches: the tests invoke and fire far
// more often than OpenWhisk's defaults allow (throttle_test.go covers the
// throttles).
var unthrottled = func() whisk.Throttles {
	n := 1 << 30
	return whisk.Throttles{InvocationsPerMinute: &n, ConcurrentInvocations: &n, FiresPerMinute: &n}
}()

// testBlockingWait is newHarness's blocking wait: every blocking invoke of
// the fake runner must answer within it, on a loaded machine too, while a
// "slow" run outlasts it twice over to get its 202.
const testBlockingWait = time.Second

func newHarness(t testing.TB) *harness {
	return newHarnessWith(t, harnessOptions{throttles: unthrottled, run: echoRun, blockingWait: testBlockingWait})
}

// harnessOptions vary the harness: the gateway's default throttles, the
// fake runner's function and the blocking wait.
type harnessOptions struct {
	throttles    whisk.Throttles
	run          func(a *platform.Action, req *platform.RunRequest) *platform.Result
	blockingWait time.Duration
	// maxConcurrency is the gateway's --max-action-concurrency (0: the
	// control plane's default).
	maxConcurrency int
	// metrics, if set, records and is served at /metrics.
	metrics *metrics.Metrics
	// log is the gateway's log (nil: discarded).
	log *slog.Logger
	// tracer starts the activations' spans (nil: tracing off).
	tracer trace.Tracer
}

func newHarnessWith(t testing.TB, o harnessOptions) *harness {
	ctx := context.Background()
	var stOpts sqlite.Options
	if o.metrics != nil {
		stOpts.Commits = o.metrics
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kwhisk.db"), stOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := auth.Bootstrap(ctx, st); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts := controlplane.Options{
		Tokens: testTokens, APIHost: "http://gateway.test", BlockingWait: o.blockingWait, Clock: clock, Throttles: o.throttles,
		MaxActionConcurrency: o.maxConcurrency, Log: o.log, Tracer: o.tracer,
	}
	if o.metrics != nil {
		opts.Metrics, opts.MetricsHandler = o.metrics, o.metrics.Handler()
	}
	ctrl := controlplane.New(st, fakePlatform{&fakeRunner{run: o.run}}, opts)
	if err := ctrl.Install(ctx); err != nil {
		t.Fatal(err)
	}
	srv, inv := ctrl.API, ctrl.Activations
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	go func() { _ = ctrl.RunAlarms(schedCtx); close(schedDone) }()
	t.Cleanup(func() { stopSched(); <-schedDone })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = inv.Drain(ctx) })
	h := &harness{url: hs.URL, st: st, clock: clock}
	if tt, ok := t.(*testing.T); ok {
		h.t = tt
	}
	return h
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func newRequest(method, url, body string) (*http.Request, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return http.NewRequest(method, url, rd)
}

func do(t testing.TB, h *harness, method, path, authz, body string) response {
	t.Helper()
	req, err := newRequest(method, h.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(t, req)
}

func send(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

const ns = "/api/v1/namespaces/_"

func TestErrors(t *testing.T) {
	h := newHarness(t)
	do(t, h, "PUT", ns+"/actions/exists", guestAuth, `{"exec":{"kind":"nodejs:default","code":"x"}}`)
	badKey := "Basic " + base64.StdEncoding.EncodeToString([]byte(auth.WellKnown[0].UUID+":"+strings.Repeat("x", 64)))
	tests := []struct {
		name, method, path, authz, body string
		status                          int
		msg                             string
	}{
		{"no auth", "GET", ns + "/actions", "", "", 401, whisk.MsgAuthMissing},
		{"bad key", "GET", ns + "/actions", badKey, "", 401, whisk.MsgAuthInvalid},
		{"short key", "GET", ns + "/actions", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:k")), "", 401, whisk.MsgAuthInvalid},
		{"missing action", "GET", ns + "/actions/nope", guestAuth, "", 404, whisk.MsgNotFound},
		{"missing delete", "DELETE", ns + "/actions/nope", guestAuth, "", 404, whisk.MsgNotFound},
		{"missing invoke", "POST", ns + "/actions/nope", guestAuth, "", 404, whisk.MsgNotFound},
		{"illegal name", "GET", ns + "/actions/hi+there", guestAuth, "", 400, whisk.MsgIllegalName},
		{"illegal name $", "GET", ns + "/actions/$hola", guestAuth, "", 400, whisk.MsgIllegalName},
		{"space name", "GET", ns + "/actions/%20", guestAuth, "", 400, whisk.MsgIllegalName},
		{"illegal namespace", "GET", "/api/v1/namespaces/a+b/actions", guestAuth, "", 400, whisk.MsgIllegalNamespace},
		{"other namespace", "GET", "/api/v1/namespaces/other/actions/x", guestAuth, "", 403, "The supplied authentication is not authorized to access 'other/x'."},
		{"exists", "PUT", ns + "/actions/exists", guestAuth, `{"exec":{"kind":"nodejs:default","code":"x"}}`, 409, whisk.MsgAlreadyExists},
		{"no exec", "PUT", ns + "/actions/a", guestAuth, `{}`, 400, whisk.MsgExecUndefined},
		{"empty body", "PUT", ns + "/actions/a", guestAuth, ``, 400, whisk.MsgEntityExpected},
		{"array body", "PUT", ns + "/actions/a", guestAuth, `[]`, 400, whisk.MsgMalformedPrefix + "expected a JSON object"},
		{"bad limits type", "PUT", ns + "/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"limits":{"memory":"big"}}`, 400, ""},
		{"unknown kind", "PUT", ns + "/actions/a", guestAuth, `{"exec":{"kind":"cobol:1","code":"x"}}`, 400, whisk.MsgMalformedPrefix + "The specified runtime 'cobol:1' is not supported by this platform. Valid values are: 'nodejs:20', 'python:3.11'"},
		{"limits", "PUT", ns + "/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"limits":{"memory":1024}}`, 400, "memory 1024 MB exceeds allowed threshold of 512 MB"},
		{"package missing", "PUT", ns + "/actions/pkg/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`, 404, "The requested resource 'guest/pkg' does not exist."},
		{"timeout param", "POST", ns + "/actions/exists?blocking=true&timeout=70000", guestAuth, `{}`, 400, whisk.MsgTimeoutParam},
		{"invoke array body", "POST", ns + "/actions/exists", guestAuth, `[1]`, 400, ""},
		{"bad activation id", "GET", ns + "/activations/abc", guestAuth, "", 400, "Activation id length is 3 but must be 32."},
		{"non-hex activation id", "GET", ns + "/activations/" + strings.Repeat("z", 32), guestAuth, "", 400, "The activation id is not valid."},
		{"missing activation", "GET", ns + "/activations/" + strings.Repeat("0", 32), guestAuth, "", 404, whisk.MsgNotFound},
		{"missing logs", "GET", ns + "/activations/" + strings.Repeat("0", 32) + "/logs", guestAuth, "", 404, whisk.MsgNotFound},
		{"missing result", "GET", ns + "/activations/" + strings.Repeat("0", 32) + "/result", guestAuth, "", 404, whisk.MsgNotFound},
		{"list limit", "GET", ns + "/actions?limit=201", guestAuth, "", 400, "The value '201' is not in the range of 0 to 200 for actions."},
		{"list limit int", "GET", ns + "/actions?limit=x", guestAuth, "", 400, "The value 'x' is not an integer for actions."},
		{"list skip", "GET", ns + "/activations?skip=-1", guestAuth, "", 400, "The value '-1' is not greater than or equal to 0 for activations."},
		{"docs and count", "GET", ns + "/activations?docs=true&count=true", guestAuth, "", 400, "The parameter 'docs' is not permitted with 'count'."},
		{"name filter", "GET", ns + "/activations?name=a/b/c", guestAuth, "", 400, "Parameter may be a 'simple' name or 'package-name/simple' name: a/b/c"},
		{"since", "GET", ns + "/activations?since=yesterday", guestAuth, "", 400, "Parameter is not a valid value for epoch seconds: yesterday"},
		{"payload too large", "POST", ns + "/actions/exists", guestAuth, `{"a":"` + strings.Repeat("x", whisk.MaxPayloadSize) + `"}`, 413, fmt.Sprintf("Request larger than allowed: %d > 1048576 bytes.", whisk.MaxPayloadSize+8)},
		{"unknown route", "GET", "/api/v1/nothing", guestAuth, "", 404, "The requested resource could not be found."},
		{"malformed query", "GET", ns + "/actions?limit=%zz", guestAuth, "", 400, api.MsgMalformedQuery + `invalid URL escape "%zz"`},
		{"malformed query, no auth", "GET", ns + "/actions?limit=%zz", "", "", 400, api.MsgMalformedQuery + `invalid URL escape "%zz"`},
		{"malformed query key", "POST", ns + "/actions/exists?blocking=true&%=x", guestAuth, `{}`, 400, api.MsgMalformedQuery + `invalid URL escape "%=x"`},
		{"malformed query, web", "GET", "/api/v1/web/guest/default/exists.json?a=%2", "", "", 400, api.MsgMalformedQuery + `invalid URL escape "%2"`},
		{"malformed query, info", "GET", "/?x=%G0", "", "", 400, api.MsgMalformedQuery + `invalid URL escape "%G0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, h, tt.method, tt.path, tt.authz, tt.body)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			m := r.json(t)
			if m["code"] == nil || m["code"] == "" || m["code"] != r.header.Get("X-Request-ID") {
				t.Errorf("code = %v, X-Request-ID = %q", m["code"], r.header.Get("X-Request-ID"))
			}
			msg, _ := m["error"].(string)
			if tt.msg != "" && msg != tt.msg {
				t.Errorf("error = %q, want %q", msg, tt.msg)
			}
			if msg == "" {
				t.Errorf("no error message: %s", r.body)
			}
			if tt.status == 401 && r.header.Get("WWW-Authenticate") != `Basic realm="OpenWhisk secure realm"` {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestActionLifecycle(t *testing.T) {
	h := newHarness(t)
	r := do(t, h, "PUT", ns+"/actions/hello%20Async", guestAuth, `{"name":"ignored","exec":{"kind":"nodejs:default","code":"function main(){}"},"parameters":[{"key":"a","value":"A"}],"annotations":[{"key":"x","value":1}]}`)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var a whisk.Action
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatal(err)
	}
	if a.Name != "hello Async" || a.Namespace != "guest" || a.Exec.Kind != "nodejs:20" || a.Exec.Binary || a.Exec.CodeString() != "function main(){}" || a.Version.String() != "0.0.1" {
		t.Errorf("created = %+v", a)
	}
	r = do(t, h, "PUT", ns+"/actions/hello%20Async?overwrite=true", guestAuth, `{"parameters":[{"key":"b","value":"B"}],"annotations":[{"key":"y","value":2}],"delAnnotations":["x"]}`)
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	r = do(t, h, "GET", ns+"/actions/hello%20Async?code=false", guestAuth, "")
	var got map[string]any
	_ = json.Unmarshal(r.body, &got)
	want := map[string]any{
		"namespace": "guest", "name": "hello Async", "version": "0.0.2", "publish": false,
		"exec":        map[string]any{"kind": "nodejs:20", "binary": false},
		"parameters":  []any{map[string]any{"key": "b", "value": "B"}},
		"annotations": []any{map[string]any{"key": "provide-api-key", "value": false}, map[string]any{"key": "exec", "value": "nodejs:20"}, map[string]any{"key": "y", "value": float64(2)}},
		"limits":      map[string]any{"timeout": float64(60000), "memory": float64(256), "logs": float64(10), "concurrency": float64(1)},
	}
	delete(got, "updated")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET code=false (-want +got):\n%s", diff)
	}
	// A base64 zip is binary; the list shows summaries newest first.
	do(t, h, "PUT", ns+"/actions/zipped", guestAuth, `{"exec":{"kind":"python:default","code":"UEsDBAoAAAAAAA=="}}`)
	r = do(t, h, "GET", ns+"/actions", guestAuth, "")
	var list []map[string]any
	_ = json.Unmarshal(r.body, &list)
	if len(list) != 2 || list[0]["name"] != "zipped" || list[1]["name"] != "hello Async" {
		t.Fatalf("list = %s", r.body)
	}
	if _, ok := list[0]["parameters"]; ok || list[0]["exec"].(map[string]any)["binary"] != true {
		t.Errorf("summary = %v", list[0])
	}
	if r := do(t, h, "GET", ns+"/actions?count=true", guestAuth, ""); string(bytes.TrimSpace(r.body)) != `{"actions":2}` {
		t.Errorf("count = %s", r.body)
	}
	if r := do(t, h, "GET", ns+"/actions?limit=1&skip=1", guestAuth, ""); !strings.Contains(string(r.body), "hello Async") || strings.Contains(string(r.body), "zipped") {
		t.Errorf("page = %s", r.body)
	}
	r = do(t, h, "DELETE", ns+"/actions/zipped", guestAuth, "")
	if r.status != 200 || r.json(t)["name"] != "zipped" {
		t.Errorf("delete = %d %s", r.status, r.body)
	}
	if r := do(t, h, "GET", ns+"/actions/zipped", guestAuth, ""); r.status != 404 {
		t.Errorf("get after delete = %d", r.status)
	}
}

func TestInvoke(t *testing.T) {
	h := newHarness(t)
	do(t, h, "PUT", ns+"/actions/echo", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"p","value":"P"},{"key":"secret","value":"s","init":true}]}`)
	do(t, h, "PUT", ns+"/actions/final", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"p","value":"P"}],"annotations":[{"key":"final","value":true}]}`)

	r := do(t, h, "POST", ns+"/actions/echo?blocking=true", guestAuth, `{"q":"Q"}`)
	if r.status != 200 {
		t.Fatalf("blocking: %d %s", r.status, r.body)
	}
	rec := r.json(t)
	id, _ := rec["activationId"].(string)
	if len(id) != 32 || r.header.Get("X-Openwhisk-Activation-Id") != id {
		t.Errorf("id %q header %q", id, r.header.Get("X-Openwhisk-Activation-Id"))
	}
	resp := rec["response"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"status": "success", "success": true, "result": map[string]any{"p": "P", "q": "Q"}}, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	keys := map[string]bool{}
	for _, a := range rec["annotations"].([]any) {
		keys[a.(map[string]any)["key"].(string)] = true
	}
	for _, k := range []string{"path", "kind", "limits", "waitTime", "initTime", "timeout"} {
		if !keys[k] {
			t.Errorf("annotation %q missing: %v", k, rec["annotations"])
		}
	}
	// The record is readable at once, with logs and result.
	if r := do(t, h, "GET", ns+"/activations/"+id, guestAuth, ""); r.status != 200 || r.json(t)["activationId"] != id {
		t.Errorf("get record: %d %s", r.status, r.body)
	}
	if r := do(t, h, "GET", ns+"/activations/"+id+"/result", guestAuth, ""); string(bytes.TrimSpace(r.body)) != `{"status":"success","success":true,"result":{"p":"P","q":"Q"}}` {
		t.Errorf("result = %s", r.body)
	}
	if r := do(t, h, "GET", ns+"/activations/"+id+"/logs", guestAuth, ""); !strings.Contains(string(r.body), "stdout: hi") {
		t.Errorf("logs = %s", r.body)
	}

	if r := do(t, h, "POST", ns+"/actions/echo?blocking=true&result=true", guestAuth, `{"q":1}`); r.status != 200 || string(bytes.TrimSpace(r.body)) != `{"p":"P","q":1}` {
		t.Errorf("result=true: %d %s", r.status, r.body)
	}
	if r := do(t, h, "POST", ns+"/actions/echo?blocking=true", guestAuth, `{"fail":1}`); r.status != 502 || r.json(t)["response"].(map[string]any)["status"] != "application error" {
		t.Errorf("application error: %d %s", r.status, r.body)
	}
	if r := do(t, h, "POST", ns+"/actions/echo?blocking=true", guestAuth, `{"array":1}`); r.status != 200 || string(bytes.TrimSpace(r.body)) != `[1,2]` {
		t.Errorf("array: %d %s", r.status, r.body)
	}
	if r := do(t, h, "POST", ns+"/actions/final?blocking=true", guestAuth, `{"p":"other"}`); r.status != 400 || r.json(t)["error"] != whisk.MsgReservedParameters {
		t.Errorf("final: %d %s", r.status, r.body)
	}
	// Blocking past the wait: 202 with the id; the record appears later.
	r = do(t, h, "POST", ns+"/actions/echo?blocking=true", guestAuth, `{"slow":1}`)
	if r.status != 202 {
		t.Fatalf("slow: %d %s", r.status, r.body)
	}
	slow := r.json(t)["activationId"].(string)
	// Non-blocking: 202 at once.
	r = do(t, h, "POST", ns+"/actions/echo", guestAuth, `{}`)
	if r.status != 202 || len(r.json(t)["activationId"].(string)) != 32 {
		t.Fatalf("non-blocking: %d %s", r.status, r.body)
	}
	waitFor(t, h, slow)
	// The list finds them; count and name filter work.
	if r := do(t, h, "GET", ns+"/activations?count=true", guestAuth, ""); string(bytes.TrimSpace(r.body)) != `{"activations":6}` {
		t.Errorf("count = %s", r.body)
	}
	r = do(t, h, "GET", ns+"/activations?name=echo&limit=2", guestAuth, "")
	var sums []map[string]any
	_ = json.Unmarshal(r.body, &sums)
	if len(sums) != 2 || sums[0]["statusCode"] == nil || sums[0]["response"] != nil {
		t.Errorf("summaries = %s", r.body)
	}
}

// waitFor polls until the activation's record exists.
func waitFor(t *testing.T, h *harness, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if r := do(t, h, "GET", ns+"/activations/"+id, guestAuth, ""); r.status == 200 {
			return r.json(t)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("activation %s never recorded", id)
	return nil
}

func TestInfoAndCORS(t *testing.T) {
	h := newHarness(t)
	if r := do(t, h, "GET", "/ping", "", ""); r.status != 200 || string(r.body) != "pong" {
		t.Errorf("ping = %d %q", r.status, r.body)
	}
	r := do(t, h, "GET", "/api/v1", "", "")
	if m := r.json(t); m["build"] == nil || m["buildno"] == nil || m["api_version"] != "1.0.0" {
		t.Errorf("api info = %s", r.body)
	}
	r = do(t, h, "GET", "/", "", "")
	m := r.json(t)
	rts := m["runtimes"].(map[string]any)
	if len(rts) != 2 || rts["nodejs"].([]any)[0].(map[string]any)["kind"] != "nodejs:20" {
		t.Errorf("runtimes = %v", rts)
	}
	if m["limits"].(map[string]any)["max_action_memory"] != float64(512*1024*1024) {
		t.Errorf("limits = %v", m["limits"])
	}
	r = do(t, h, "OPTIONS", "/api/v1/namespaces/_/actions/x", "", "")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("OPTIONS = %d %v", r.status, r.header)
	}
	if r := do(t, h, "GET", "/api/v1/namespaces", guestAuth, ""); string(bytes.TrimSpace(r.body)) != `["guest"]` {
		t.Errorf("namespaces = %s", r.body)
	}
	if r := do(t, h, "GET", ns+"/limits", guestAuth, ""); r.json(t)["concurrentInvocations"] == nil {
		t.Errorf("limits = %s", r.body)
	}
	if r := do(t, h, "GET", ns+"/triggers", guestAuth, ""); string(bytes.TrimSpace(r.body)) != `[]` {
		t.Errorf("triggers = %s", r.body)
	}
}

func TestRequestID(t *testing.T) {
	h := newHarness(t)
	req, _ := http.NewRequest("GET", h.url+"/api/v1", nil)
	req.Header.Set("X-Request-ID", "mine")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-ID"); got != "mine" {
		t.Errorf("X-Request-ID = %q", got)
	}
	req.Header.Set("X-Request-ID", "sid_x")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-ID"); len(got) != 32 {
		t.Errorf("sid_ id replaced by %q", got)
	}
}

func TestMethods(t *testing.T) {
	h := newHarness(t)
	do(t, h, "PUT", ns+"/actions/x", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`)
	r := do(t, h, "HEAD", ns+"/actions/x", guestAuth, "")
	if r.status != 200 || len(r.body) != 0 {
		t.Errorf("HEAD = %d %q", r.status, r.body)
	}
	r = do(t, h, "PATCH", ns+"/actions/x", guestAuth, "")
	if r.status != 405 || r.json(t)["error"] != "HTTP method not allowed, supported methods: GET, PUT, DELETE, POST" {
		t.Errorf("PATCH = %d %s", r.status, r.body)
	}
	r = do(t, h, "POST", ns+"/packages/p", guestAuth, "{}")
	if r.status != 405 {
		t.Errorf("POST on a package = %d %s", r.status, r.body)
	}
	r = do(t, h, "DELETE", ns+"/activations/"+strings.Repeat("0", 32), guestAuth, "")
	if r.status != 405 {
		t.Errorf("DELETE on an activation = %d %s", r.status, r.body)
	}
	r = do(t, h, "PUT", ns+"/actions/", guestAuth, `{}`)
	if r.status != 404 {
		t.Errorf("PUT on the collection = %d %s", r.status, r.body)
	}
}

func TestPlatformUnavailableIs503(t *testing.T) {
	h := newHarness(t)
	do(t, h, "PUT", ns+"/actions/x", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`)
	r := do(t, h, "POST", ns+"/actions/x?blocking=true", guestAuth, `{"unavailable":1}`)
	if r.status != 503 || r.json(t)["error"] != "The data plane is unavailable" {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	id := r.header.Get("X-Openwhisk-Activation-Id")
	rec := waitFor(t, h, id)
	if rec["response"].(map[string]any)["status"] != "whisk internal error" {
		t.Errorf("record = %v", rec)
	}
}

// The most concurrent activations an action may ask for is the gateway's
// setting: PUT refuses more with OpenWhisk's message, and GET / and the
// namespace limits report it.
func TestMaxActionConcurrency(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{throttles: unthrottled, run: echoRun, blockingWait: testBlockingWait, maxConcurrency: 8})
	r := do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"limits":{"concurrency":8}}`)
	mustStatus(t, r, 200)
	if l := r.json(t)["limits"].(map[string]any); l["concurrency"] != float64(8) {
		t.Errorf("limits = %v", l)
	}
	r = do(t, h, "PUT", ns+"/actions/b", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"limits":{"concurrency":9}}`)
	if r.status != 400 || r.json(t)["error"] != "concurrency 9 exceeds allowed threshold of 8" {
		t.Errorf("concurrency 9 = %d %s", r.status, r.body)
	}
	r = do(t, h, "GET", "/", "", "")
	if l := r.json(t)["limits"].(map[string]any); l["min_action_concurrency"] != float64(1) || l["max_action_concurrency"] != float64(8) {
		t.Errorf("GET / limits = %v", l)
	}
	r = do(t, h, "GET", ns+"/limits", guestAuth, "")
	if m := r.json(t); m["minActionConcurrency"] != float64(1) || m["maxActionConcurrency"] != float64(8) {
		t.Errorf("namespace limits = %s", r.body)
	}
	// Unset, the control plane's default is kwhisk's: 500.
	h = newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"limits":{"concurrency":500}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/b", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"limits":{"concurrency":501}}`), 400)
}
