package kubetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// fakeRuntime is a stand-in for a runtime image in the tests of the
// gateway's plumbing (Services, revisions, code fetch, logs): it speaks
// the Knative mode of docs/runtime-protocol.md without running code. At
// boot it reads KWHISK_ACTION, fetches code that is not inline from
// KWHISK_CODE_URL with KWHISK_CODE_TOKEN and checks its digest; each run
// answers with what it was started with and the run's input, one log
// line, and initTime on its first run.
type fakeRuntime struct {
	action struct {
		Name    string            `json:"name"`
		Version string            `json:"version"`
		Kind    string            `json:"kind"`
		Code    *string           `json:"code"`
		Digest  string            `json:"digest"`
		Env     map[string]string `json:"env"`
	}
	code     string
	fetched  bool
	initTime time.Duration
	initErr  string

	mu    sync.Mutex
	first bool
	srv   *http.Server
}

func startFake(env map[string]string) (*instance, error) {
	start := time.Now()
	f := &fakeRuntime{first: true}
	if err := json.Unmarshal([]byte(env["KWHISK_ACTION"]), &f.action); err != nil {
		return nil, fmt.Errorf("KWHISK_ACTION: %w", err)
	}
	if f.action.Code != nil {
		f.code = *f.action.Code
	} else {
		f.code, f.initErr = fetchCode(env["KWHISK_CODE_URL"], env["KWHISK_CODE_TOKEN"])
		f.fetched = true
	}
	if sum := sha256.Sum256([]byte(f.code)); f.initErr == "" && "sha256:"+hex.EncodeToString(sum[:]) != f.action.Digest {
		f.initErr = "code digest mismatch"
	}
	f.initTime = time.Since(start)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	u := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	return &instance{url: u, proxy: httputil.NewSingleHostReverseProxy(u), exited: make(chan struct{}), fake: f}, nil
}

func fetchCode(u, token string) (string, string) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Sprintf("code fetch answered %s: %s", resp.Status, b)
	}
	return string(b), ""
}

func (f *fakeRuntime) close() { _ = f.srv.Close() }

func (f *fakeRuntime) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ready":
		return
	case "/run":
	default:
		http.NotFound(w, r)
		return
	}
	var in struct {
		Value        json.RawMessage `json:"value"`
		ActivationID string          `json:"activation_id"`
		Version      string          `json:"action_version"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start := time.Now()
	f.mu.Lock()
	first := f.first
	f.first = false
	f.mu.Unlock()

	out := map[string]any{
		"statusCode": 0,
		"result": map[string]any{
			"action": f.action.Name, "version": f.action.Version, "runVersion": in.Version, "kind": f.action.Kind,
			"codeBytes": len(f.code), "fetched": f.fetched, "value": in.Value, "env": f.action.Env,
		},
	}
	if f.initErr != "" {
		out = map[string]any{"statusCode": 2, "result": map[string]string{"error": f.initErr}}
	}
	resp := map[string]any{
		"response": out,
		"logs":     []string{time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z") + " stdout: fake run " + in.ActivationID},
		"timeout":  false,
		"start":    start.UnixMilli(),
		"end":      time.Now().UnixMilli(),
	}
	if first {
		resp["initTime"] = max(f.initTime.Milliseconds(), 1)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
