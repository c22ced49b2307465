// Package runtimes_test runs the runtime images' mains as processes, with
// the environment a Knative Service gives them, and drives them over HTTP:
// the platform conformance suite through a platform made of such
// processes, and the protocol's own cases.
package runtimes_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// families maps a kind's family to its runtime main under runtimes/.
var families = map[string]string{"nodejs": "nodejs", "python": "python", "go": "go", "blackbox": "native"}

// bins holds the mains, built once by TestMain.
var bins string

// goCache is the toolchain's build cache, which the go image would have
// prewarmed; it keeps the go runtime's builds fast here too.
var goCache string

func TestMain(m *testing.M) {
	code, err := buildMains()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code(m))
}

func buildMains() (func(*testing.M) int, error) {
	dir, err := os.MkdirTemp("", "kwhisk-mains-")
	if err != nil {
		return nil, err
	}
	args := []string{"build", "-o", dir + "/"}
	for _, main := range families {
		args = append(args, "./"+main)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the mains: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOCACHE: %v", err)
	}
	bins, goCache = dir, strings.TrimSpace(string(out))
	return func(m *testing.M) int {
		defer os.RemoveAll(dir)
		return m.Run()
	}, nil
}

// codeServer stands for the gateway as a runtime sees it: it serves code
// by digest with a bearer token, as the gateway's GET
// /api/v1/code/{digest} does, and an action's run keys (wire.RunKeys,
// under testMaster) with the same token.
type codeServer struct {
	*httptest.Server
	mu      sync.Mutex
	codes   map[string]string
	auth    []string // the Authorization headers of the code requests
	keyAuth []string // those of the run keys requests
	hold    chan struct{}
}

const codeToken = "test-token"

// testMaster is the gateway's master run key in these tests.
var testMaster = []byte("test master key")

// runKey is the run key of the action named name (fully qualified).
func runKey(name string) []byte { return runauth.Derive(testMaster, name) }

const runKeysPath = "/api/v1/runkeys"

func newCodeServer(t *testing.T) *codeServer {
	cs := &codeServer{codes: map[string]string{}}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == runKeysPath {
			cs.mu.Lock()
			cs.keyAuth = append(cs.keyAuth, r.Header.Get("Authorization"))
			cs.mu.Unlock()
			if r.Header.Get("Authorization") != "Bearer "+codeToken {
				http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
				return
			}
			key := runKey(r.URL.Query().Get("action"))
			_ = json.NewEncoder(w).Encode(wire.RunKeys{Keys: []string{hex.EncodeToString(key)}}) // the runtime reports a short answer
			return
		}
		cs.mu.Lock()
		cs.auth = append(cs.auth, r.Header.Get("Authorization"))
		code, ok := cs.codes[strings.TrimPrefix(r.URL.Path, "/api/v1/code/")]
		hold := cs.hold
		cs.mu.Unlock()
		if hold != nil {
			<-hold
		}
		switch {
		case r.Header.Get("Authorization") != "Bearer "+codeToken:
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
		case !ok:
			http.NotFound(w, r)
		default:
			_, _ = io.WriteString(w, code) // the runtime reports a short body as a digest mismatch
		}
	}))
	t.Cleanup(cs.Close)
	return cs
}

// add stores code and returns its URL.
func (cs *codeServer) add(code string) string {
	d := wire.Digest(code)
	cs.mu.Lock()
	cs.codes[d] = code
	cs.mu.Unlock()
	return cs.URL + "/api/v1/code/" + d
}

// proc is one runtime main process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	key    []byte // the run key of its action (KWHISK_ACTION); nil in classic mode
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
}

// syncBuffer keeps what a process writes and hands out its lines.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	part  []byte
	lines chan string
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{lines: make(chan string, 4096)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.part = append(b.part, p...)
	for {
		i := bytes.IndexByte(b.part, '\n')
		if i < 0 {
			break
		}
		select {
		case b.lines <- string(b.part[:i]):
		default: // nobody reads this process's lines
		}
		b.part = b.part[i+1:]
	}
	return b.b.Write(p)
}

// next returns the next n lines written, failing after a generous wait.
func (b *syncBuffer) next(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	limit := time.NewTimer(10 * time.Second)
	defer limit.Stop()
	for len(out) < n {
		select {
		case l := <-b.lines:
			out = append(out, l)
		case <-limit.C:
			t.Fatalf("got lines %q, then nothing more", out)
		}
	}
	return out
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startMain starts the main of family with env added to a Knative
// Service's (PORT, __OW_API_HOST); it listens on a socket the test opened,
// so requests may be sent at once.
func startMain(t *testing.T, family string, env ...string) *proc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	_ = ln.Close() // the child has its own copy in f
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := &proc{url: "http://" + ln.Addr().String(), stdout: newSyncBuffer(), stderr: newSyncBuffer(), exited: make(chan struct{})}
	for _, kv := range env {
		if raw, ok := strings.CutPrefix(kv, "KWHISK_ACTION="); ok {
			var a wire.ActionEnv
			if err := json.Unmarshal([]byte(raw), &a); err != nil {
				t.Fatal(err)
			}
			p.key = runKey(a.Name)
		}
	}
	p.cmd = exec.Command(filepath.Join(bins, families[family]))
	p.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "GOCACHE=" + goCache,
		"PORT=8080", "__OW_API_HOST=http://gateway.test", "LISTEN_FDS=1",
		"K_SERVICE=ow-test", "K_REVISION=ow-test-00001", "K_CONFIGURATION=ow-test",
	}, env...)
	p.cmd.ExtraFiles = []*os.File{f}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait() // the exit status is checked by stop
		close(p.exited)
	}()
	return p
}

// stop ends the process as Kubernetes does: SIGTERM, then SIGKILL.
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // fails only when it has exited
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		_ = p.cmd.Process.Kill() // reported below
		<-p.exited
		return fmt.Errorf("runtime did not stop on SIGTERM; stderr:\n%s", p.stderr)
	}
	if !p.cmd.ProcessState.Success() {
		return fmt.Errorf("runtime exited with %v; stderr:\n%s", p.cmd.ProcessState, p.stderr)
	}
	return nil
}

// post sends body to path and returns the status and the answer; in
// Knative mode a /run is signed as the gateway signs it.
func (p *proc) post(ctx context.Context, path string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	signature := ""
	if path == "/run" && p.key != nil {
		signature = runauth.Sign(p.key, time.Now().Add(time.Minute), b)
	}
	return p.send(ctx, path, b, signature)
}

// send posts body to path with signature as its runauth.Header ("": none).
func (p *proc) send(ctx context.Context, path string, body []byte, signature string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
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

func (p *proc) ready(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(p.url + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // only the status matters
	return resp.StatusCode
}

// envelope is the Knative /run answer.
type envelope struct {
	Response struct {
		StatusCode int             `json:"statusCode"`
		Result     json.RawMessage `json:"result"`
	} `json:"response"`
	Logs     []string `json:"logs"`
	Timeout  bool     `json:"timeout"`
	Start    int64    `json:"start"`
	End      int64    `json:"end"`
	InitTime *int64   `json:"initTime"`
}

// actionEnv is a revision's environment for a: its run keys at cs, its
// code inline or, byURL, at cs too. KWHISK_ACTION comes last.
func actionEnv(a *platform.Action, cs *codeServer, byURL bool) []string {
	env := wire.ActionEnv{
		Name: a.Path.FullyQualified(), Version: a.Version, Kind: a.Kind, Main: a.Main, Binary: a.Binary,
		Digest: wire.Digest(a.Code), Image: a.Image, Limits: &a.Limits, Env: a.Env,
	}
	if env.Main == "" {
		env.Main = "main"
	}
	vars := []string{
		"KWHISK_RUN_KEYS_URL=" + cs.URL + runKeysPath + "?action=" + url.QueryEscape(env.Name), "KWHISK_CODE_TOKEN=" + codeToken,
	}
	if byURL {
		vars = append(vars, "KWHISK_CODE_URL="+cs.add(a.Code))
	} else {
		code := a.Code
		env.Code = &code
	}
	b, _ := json.Marshal(env) // plain values always marshal
	return append(vars, "KWHISK_ACTION="+string(b))
}

// runBody is the /run body of req.
func runBody(a *platform.Action, req *platform.RunRequest) map[string]any {
	body := map[string]any{
		"value": req.Value, "namespace": req.Namespace, "action_name": a.Path.FullyQualified(),
		"action_version": a.Version, "activation_id": string(req.ActivationID), "transaction_id": req.TransactionID,
	}
	if len(req.Value) == 0 {
		body["value"] = json.RawMessage(`{}`)
	}
	if req.APIKey != "" {
		body["api_key"] = req.APIKey
	}
	return body
}

// imagePlatform runs every action version in a runtime main of its own,
// as Knative runs a revision: binary code is fetched from a code server,
// text code travels inline; each /run is signed with the action's key.
type imagePlatform struct {
	t     *testing.T
	codes *codeServer
	rts   []platform.Runtime

	mu     sync.Mutex
	procs  map[string]*proc // by action key
	paths  map[string]whisk.EntityPath
	closed bool
}

var _ platform.Platform = (*imagePlatform)(nil)

// interpreters are detected once, as local mode does.
var interpreters = sync.OnceValues(func() ([]local.Interpreter, error) {
	return local.Detect(context.Background())
})

func newImagePlatform(t *testing.T) *imagePlatform {
	its, err := interpreters()
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	p := &imagePlatform{t: t, codes: newCodeServer(t), procs: map[string]*proc{}, paths: map[string]whisk.EntityPath{}}
	seen := map[string]bool{}
	for _, it := range its {
		if seen[it.Family] {
			continue
		}
		seen[it.Family] = true
		p.rts = append(p.rts, platform.Runtime{Family: it.Family, Kind: it.Kind(), Default: true})
	}
	t.Cleanup(func() {
		if err := p.close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func (p *imagePlatform) Runtimes() []platform.Runtime { return p.rts }

func (p *imagePlatform) Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
	family, _, _ := strings.Cut(a.Kind, ":")
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("closed")
	}
	pr := p.procs[a.Key]
	if pr == nil {
		pr = startMain(p.t, family, actionEnv(a, p.codes, a.Binary)...)
		p.procs[a.Key], p.paths[a.Key] = pr, a.Path
	}
	p.mu.Unlock()
	status, body, err := pr.post(ctx, "/run", runBody(a, req))
	if err != nil {
		return nil, fmt.Errorf("%w; stderr:\n%s", err, pr.stderr)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("/run answered %d: %s; stderr:\n%s", status, body, pr.stderr)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("/run answered %.200s: %w", body, err)
	}
	return result(&env), nil
}

// result maps an envelope as the knative platform does.
func result(env *envelope) *platform.Result {
	res := &platform.Result{
		Start: time.UnixMilli(env.Start), End: time.UnixMilli(env.End), Timeout: env.Timeout,
		Response: whisk.Response{StatusCode: env.Response.StatusCode, Result: env.Response.Result}, Logs: env.Logs,
	}
	if env.InitTime != nil {
		res.Cold = true
		res.InitTime = max(time.Duration(*env.InitTime)*time.Millisecond, time.Millisecond)
		res.Start = res.Start.Add(-time.Duration(*env.InitTime) * time.Millisecond)
	}
	return res
}

// Deploy does nothing: as Knative keeps an older revision addressable
// for a while, an older version's main stays until Remove.
func (p *imagePlatform) Deploy(context.Context, *platform.Action) {}

func (p *imagePlatform) Remove(ctx context.Context, ref platform.ActionRef) {
	p.mu.Lock()
	var stop []*proc
	for key, pr := range p.procs {
		if p.paths[key] == ref.Path {
			stop = append(stop, pr)
			delete(p.procs, key)
		}
	}
	p.mu.Unlock()
	for _, pr := range stop {
		if err := pr.stop(); err != nil {
			p.t.Error(err)
		}
	}
}

func (p *imagePlatform) close() error {
	p.mu.Lock()
	p.closed = true
	procs := p.procs
	p.procs = nil
	p.mu.Unlock()
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, pr := range procs {
		wg.Go(func() {
			if err := pr.stop(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// newImage is a stand-in for a blackbox action's own image: an HTTP server
// with OpenWhisk's /init and /run; it returns its URL.
func newImage(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		handle(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
