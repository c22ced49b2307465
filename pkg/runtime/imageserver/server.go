package imageserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// The environment of a runtime image besides what the gateway sets
// (wire.EnvAction and its kin; docs/runtime-protocol.md).
const (
	EnvPort       = "PORT"
	EnvListenFDs  = "LISTEN_FDS"
	DefaultPort   = "8080"
	maxBodyBytes  = 64 << 20 // a run or init body: parameters or code
	shutdownGrace = 30 * time.Second
)

// MsgInitTwice is the 403 of a second /init.
const MsgInitTwice = "Cannot initialize the action more than once."

// MsgNotInitialized is the 403 of a classic /run before /init.
const MsgNotInitialized = "The action has not been initialized."

// MainOptions configure a runtime image's main.
type MainOptions struct {
	// Launcher makes the family's launcher. dir is a directory it may
	// write to (scripts, build caches); env is the environment instances
	// start from. It is not called in blackbox proxy mode.
	Launcher func(ctx context.Context, dir string, env []string) (*actionloop.Launcher, error)
	// Environ is the process environment (os.Environ()).
	Environ []string
	// MemoryEnv returns what tells the family's runtime the action's
	// memory limit of mb megabytes (Node.js's heap size), as local mode
	// tells it; nil: nothing. Knative mode only: classic /init carries no
	// limits.
	MemoryEnv func(mb int) []string
	// Stdout and Stderr receive the activations' logs in classic mode,
	// where OpenWhisk's invoker reads them from the container; nil means
	// os.Stdout and os.Stderr. Knative mode returns logs with each result
	// and writes only its own failures to Stderr.
	Stdout, Stderr io.Writer
}

// Main runs a runtime image until ctx ends: it reads the environment,
// makes the launcher, listens on $PORT and, in Knative mode, initialises
// the action at boot. It returns when the server has shut down.
func Main(ctx context.Context, o MainOptions) error {
	env := map[string]string{}
	for _, kv := range o.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	ln, err := listen(env)
	if err != nil {
		return err
	}
	s, err := New(ctx, Options{
		Launcher: o.Launcher, MemoryEnv: o.MemoryEnv, Env: env, Stdout: o.Stdout, Stderr: o.Stderr,
	})
	if err != nil {
		_ = ln.Close() // the server error matters
		return err
	}
	return s.Serve(ctx, ln)
}

// listen listens on $PORT, or takes the socket a supervisor passed as fd
// 3 with LISTEN_FDS=1 (systemd's socket activation), so a harness can
// connect before the runtime has started.
func listen(env map[string]string) (net.Listener, error) {
	if env[EnvListenFDs] == "1" {
		f := os.NewFile(3, "listener")
		ln, err := net.FileListener(f)
		_ = f.Close() // FileListener holds its own copy
		return ln, err
	}
	port := env[EnvPort]
	if port == "" {
		port = DefaultPort
	}
	return net.Listen("tcp", ":"+port)
}

// Options configure a Server; see MainOptions.
type Options struct {
	Launcher       func(ctx context.Context, dir string, env []string) (*actionloop.Launcher, error)
	MemoryEnv      func(mb int) []string
	Env            map[string]string // the process environment
	Stdout, Stderr io.Writer
	// WorkDir holds the launcher's files and the instances; "" means a
	// new temporary directory, removed at shutdown.
	WorkDir string
}

// Server serves one action over HTTP: in Knative mode the one named by
// KWHISK_ACTION, initialised at boot; in classic mode the one /init
// brings. It keeps one launcher instance, replaced after it turns
// unusable.
type Server struct {
	l       *actionloop.Launcher
	work    string
	ownWork bool
	apiHost string
	action  *wire.ActionEnv // Knative mode; nil in classic mode
	codeURL string
	token   string
	proxy   *proxy   // blackbox proxy mode
	keys    *runKeys // Knative mode: who may run the action
	stdout  io.Writer
	stderr  io.Writer
	client  *http.Client
	ready   atomic.Bool
	booted  chan struct{} // closed when the boot init has ended
	seq     atomic.Uint64

	startMu sync.Mutex // one start at a time
	initMu  sync.Mutex // one classic /init at a time
	state   serverState
}

// New reads the environment and makes the launcher. In Knative mode it
// fails without wire.EnvRunKeysURL: the action must never run for
// requests the gateway did not sign.
func New(ctx context.Context, o Options) (*Server, error) {
	s := &Server{
		apiHost: o.Env[wire.EnvAPIHost],
		codeURL: o.Env[wire.EnvCodeURL],
		token:   o.Env[wire.EnvCodeToken],
		stdout:  orWriter(o.Stdout, os.Stdout),
		stderr:  orWriter(o.Stderr, os.Stderr),
		client:  &http.Client{Timeout: 5 * time.Minute},
		booted:  make(chan struct{}),
		work:    o.WorkDir,
	}
	s.state.inflight = map[*actionloop.Instance]int{}
	s.state.retired = map[*actionloop.Instance]bool{}
	if raw := o.Env[wire.EnvAction]; raw != "" {
		var a wire.ActionEnv
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return nil, fmt.Errorf("%s: %w", wire.EnvAction, err)
		}
		if a.Code == nil && s.codeURL == "" {
			return nil, fmt.Errorf("%s has no code and %s is not set", wire.EnvAction, wire.EnvCodeURL)
		}
		url := o.Env[wire.EnvRunKeysURL]
		if url == "" {
			// Without the keys anyone who reaches the pod could run the action.
			return nil, fmt.Errorf("%s is set but %s is not: the runtime would run unauthenticated", wire.EnvAction, wire.EnvRunKeysURL)
		}
		s.action = &a
		s.keys = newRunKeys(url, s.token, s.client, s.stderr)
	}
	if s.work == "" {
		dir, err := os.MkdirTemp("", "kwhisk-runtime-")
		if err != nil {
			return nil, err
		}
		s.work, s.ownWork = dir, true
	}
	for _, d := range []string{"instances", "launcher"} {
		if err := os.MkdirAll(filepath.Join(s.work, d), 0o700); err != nil {
			s.removeWork()
			return nil, err
		}
	}
	if url := o.Env[wire.EnvBlackbox]; url != "" && s.action != nil {
		s.proxy = &proxy{url: strings.TrimRight(url, "/"), client: &http.Client{}}
		return s, nil
	}
	if o.Launcher == nil {
		return nil, errors.New("imageserver: no launcher")
	}
	env := instanceEnv(o.Env)
	if a := s.action; a != nil && a.Limits != nil && a.Limits.Memory > 0 && o.MemoryEnv != nil {
		env = append(env, o.MemoryEnv(a.Limits.Memory)...)
	}
	l, err := o.Launcher(ctx, filepath.Join(s.work, "launcher"), env)
	if err != nil {
		s.removeWork()
		return nil, err
	}
	s.l = l
	return s, nil
}

func orWriter(w, def io.Writer) io.Writer {
	if w == nil {
		return def
	}
	return w
}

// instanceEnv is what instances inherit from the runtime's environment:
// the path, the locale and the Go toolchain's settings, never the
// KWHISK_* variables (the code token).
func instanceEnv(env map[string]string) []string {
	out := []string{"PATH=" + env["PATH"]}
	if env["PATH"] == "" {
		out[0] = "PATH=/usr/local/bin:/usr/bin:/bin"
	}
	lang := env["LANG"]
	if lang == "" {
		lang = "C.UTF-8"
	}
	out = append(out, "LANG="+lang)
	// The toolchain's settings matter to the go runtime's builds, e.g. a
	// prewarmed GOCACHE in the image.
	for _, k := range []string{"TZ", "GOROOT", "GOCACHE", "GOPATH"} {
		if v := env[k]; v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// Serve answers on ln until ctx ends, initialising the action at boot in
// Knative mode, then drains: readiness fails, requests in flight finish
// (up to 30 s), instances stop.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if s.action != nil {
		s.keys.start(ctx) // beside the init, so a cold start does not wait for it
		go s.boot(ctx)
	} else {
		close(s.booted)
		s.ready.Store(true)
	}
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		s.ready.Store(false)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		err = srv.Shutdown(sctx)
		cancel()
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	<-s.booted
	return errors.Join(err, s.stopAll())
}

// Handler routes /ready, /init and /run.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", s.serveReady)
	mux.HandleFunc("POST /init", s.serveInit)
	mux.HandleFunc("POST /run", s.serveRun)
	return mux
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, actionloop.ErrorResult("initializing"))
		return
	}
	writeJSON(w, http.StatusOK, json.RawMessage(`{"ok":true}`))
}

// boot initialises the Knative action: code inline or fetched and
// verified, then the instance. A failure is kept and answered to every
// run; either way the server becomes ready.
func (s *Server) boot(ctx context.Context) {
	defer close(s.booted)
	defer s.ready.Store(true)
	start := time.Now()
	a := s.action
	code, failure := s.actionCode(ctx, a)
	if failure != "" {
		fmt.Fprintf(s.stderr, "kwhisk runtime: %s\n", failure)
		s.state.mu.Lock()
		s.state.failed = &actionloop.Outcome{
			Start: start, End: time.Now(),
			Response: whisk.Response{StatusCode: whisk.StatusWhiskError, Result: actionloop.ErrorResult(failure)},
			Logs:     []string{actionloop.StderrLine(time.Now(), failure)},
		}
		s.state.mu.Unlock()
		return
	}
	limits := whisk.DefaultBounds.Defaults()
	if a.Limits != nil {
		limits = *a.Limits
	}
	cfg := &actionloop.Config{
		Code: code, Binary: a.Binary, Main: a.Main, Env: a.Env, APIHost: s.apiHost,
		Timeout:     time.Duration(max(limits.Timeout, 0)) * time.Millisecond,
		LogLimit:    int64(max(limits.Logs, 0)) << 20,
		Concurrency: limits.Concurrency,
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Duration(whisk.DefaultBounds.DefaultTimeout) * time.Millisecond
	}
	if s.proxy != nil {
		s.state.mu.Lock()
		s.state.cfg = cfg
		s.state.mu.Unlock()
		initTime, out := s.proxy.init(ctx, a, cfg, start)
		s.state.mu.Lock()
		s.state.failed, s.state.initTime = out, initTime
		s.state.mu.Unlock()
		return
	}
	s.state.mu.Lock()
	s.state.cfg = cfg
	s.state.mu.Unlock()
	if out, err := s.start(ctx, nil); err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(s.stderr, "kwhisk runtime: init: %v\n", err)
		}
	} else if out != nil {
		s.state.mu.Lock()
		s.state.failed = out
		s.state.mu.Unlock()
	}
}

// actionCode returns the action's code, fetching and verifying it when
// it is not inline, or why it cannot be had.
func (s *Server) actionCode(ctx context.Context, a *wire.ActionEnv) (string, string) {
	var code string
	if a.Code != nil {
		code = *a.Code
	} else {
		var err error
		if code, err = fetchCode(ctx, s.client, s.codeURL, s.token); err != nil {
			return "", "Unable to fetch the action's code: " + err.Error()
		}
	}
	if a.Digest != "" {
		if got := wire.Digest(code); got != a.Digest {
			return "", "The action's code does not match its digest: got " + got + ", want " + a.Digest + "."
		}
	}
	return code, ""
}

func (s *Server) removeWork() {
	if s.ownWork {
		_ = os.RemoveAll(s.work) // a temporary directory: nothing to report
	}
}

// request is the activation a /run body asks for.
func request(b *wire.RunRequest) *actionloop.Request {
	return &actionloop.Request{
		Value: b.Value, Namespace: b.Namespace, ActionName: b.ActionName, ActionVersion: b.ActionVersion,
		ActivationID: whisk.ActivationID(b.ActivationID), TransactionID: b.TransactionID, APIKey: b.APIKey,
		Deadline: wire.ParseDeadline(b.Deadline), TraceParent: b.TraceParent,
	}
}

func (s *Server) serveRun(w http.ResponseWriter, r *http.Request) {
	if s.action == nil {
		var body wire.RunRequest
		if err := decodeBody(w, r, &body); err != nil {
			writeJSON(w, http.StatusBadRequest, actionloop.ErrorResult("The run request is not valid JSON: "+err.Error()))
			return
		}
		s.serveClassicRun(w, r, &body)
		return
	}
	body := s.authorize(w, r) // before anything of the action
	if body == nil {
		return
	}
	<-s.booted
	if s.proxy != nil {
		// The first run reports the boot's init: the cold start.
		s.state.mu.Lock()
		failed, cfg, initTime := s.state.failed, s.state.cfg, s.state.initTime
		s.state.initTime = 0
		s.state.mu.Unlock()
		if failed != nil {
			writeJSON(w, http.StatusOK, initEnvelope(failed))
			return
		}
		env := s.proxy.run(r.Context(), body, cfg)
		env.InitTime = initMillis(initTime)
		writeJSON(w, http.StatusOK, env)
		return
	}
	req := request(body)
	// The runtime enforces the action's time limit from when the run
	// reaches it, and __OW_DEADLINE goes with that limit: the request may
	// have waited in Knative's activator for this pod to start.
	req.Deadline = time.Time{}
	out, initTime, failed, err := s.runOnce(r.Context(), req)
	switch {
	case failed != nil:
		writeJSON(w, http.StatusOK, initEnvelope(exhausted(failed)))
		return
	case err != nil:
		if r.Context().Err() == nil {
			fmt.Fprintf(s.stderr, "kwhisk runtime: run: %v\n", err)
		}
		writeJSON(w, http.StatusInternalServerError, actionloop.ErrorResult(err.Error()))
		return
	}
	out = exhausted(out)
	writeJSON(w, http.StatusOK, wire.RunResponse{
		Response: &out.Response, Logs: out.Logs, Timeout: out.Timeout, Start: out.Start.UnixMilli(), End: out.End.UnixMilli(),
		InitTime: initMillis(initTime),
	})
}

// exhausted is out with OpenWhisk's message when the runtime ran out of
// memory (actionloop.OutOfMemory), as local mode reports it.
func exhausted(out *actionloop.Outcome) *actionloop.Outcome {
	if !actionloop.OutOfMemory(out.Response, out.Logs) {
		return out
	}
	o := *out
	o.Response = actionloop.DeveloperError(actionloop.MsgMemoryExhausted)
	return &o
}

// initMillis is a run response's initTime: nil on a warm run (0), else at
// least 1 ms, so millisecond resolution never makes a cold start warm.
func initMillis(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	ms := max(d.Milliseconds(), 1)
	return &ms
}

// runOnce runs req on an instance, moving to a new one when the instance
// turned unusable before the request reached it.
func (s *Server) runOnce(ctx context.Context, req *actionloop.Request) (*actionloop.Outcome, time.Duration, *actionloop.Outcome, error) {
	for range 3 {
		inst, initTime, failed, err := s.acquire(ctx)
		if err != nil || failed != nil {
			return nil, 0, failed, err
		}
		out, err := inst.Run(ctx, req)
		s.release(inst)
		if errors.Is(err, actionloop.ErrUnusable) {
			continue // never reached the action: safe to run elsewhere
		}
		return out, initTime, nil, err
	}
	return nil, 0, nil, errors.New("imageserver: no usable instance")
}

// initEnvelope answers a run with a failed init: it reports the init's
// duration, and starts and ends now.
func initEnvelope(out *actionloop.Outcome) wire.RunResponse {
	now := time.Now().UnixMilli()
	ms := max(out.End.Sub(out.Start).Milliseconds(), 1)
	logs := out.Logs
	if logs == nil {
		logs = []string{}
	}
	return wire.RunResponse{Response: &out.Response, Logs: logs, Timeout: out.Timeout, Start: now, End: now, InitTime: &ms}
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.Write(actionloop.ErrorResult("encode response: " + err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client is gone if this fails
}
