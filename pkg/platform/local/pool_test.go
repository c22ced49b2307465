package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// nodeKind returns the platform's Node.js kind, skipping without one.
func nodeKind(t *testing.T, p *local.Platform) string {
	t.Helper()
	for _, rt := range p.Runtimes() {
		if rt.Family == "nodejs" {
			return rt.Kind
		}
	}
	t.Skip("no node on PATH")
	return ""
}

func gateAction(t *testing.T, kind, name, version string) *platform.Action {
	t.Helper()
	code, err := os.ReadFile("testdata/gate.js")
	if err != nil {
		t.Fatal(err)
	}
	return &platform.Action{
		Key:     name + "@" + version,
		Path:    whisk.EntityPath{Namespace: "guest", Name: name},
		Version: version,
		Kind:    kind,
		Code:    string(code),
		Limits:  whisk.Limits{Timeout: 20000, Memory: 256, Logs: 10, Concurrency: 1},
	}
}

// gate is a pair of FIFOs: the action writes to started when it runs and
// waits to read release.
type gate struct{ started, release string }

func newGate(t *testing.T) gate {
	t.Helper()
	dir := t.TempDir()
	g := gate{filepath.Join(dir, "started"), filepath.Join(dir, "release")}
	for _, f := range []string{g.started, g.release} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func (g gate) params() string {
	b, _ := json.Marshal(map[string]string{"started": g.started, "release": g.release}) // strings always marshal
	return string(b)
}

// awaitStarted blocks until the action behind g runs.
func (g gate) awaitStarted(t *testing.T) {
	t.Helper()
	if _, err := os.ReadFile(g.started); err != nil {
		t.Fatal(err)
	}
}

func (g gate) open(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(g.release, []byte("go"), 0o600); err != nil {
		t.Fatal(err)
	}
}

type outcome struct {
	res *platform.Result
	err error
}

func runAsync(p *local.Platform, a *platform.Action, value string) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := p.Run(context.Background(), a, &platform.RunRequest{Value: json.RawMessage(value), Namespace: "guest"})
		ch <- outcome{res, err}
	}()
	return ch
}

func mustRun(t *testing.T, p *local.Platform, a *platform.Action, value string) *platform.Result {
	t.Helper()
	res, err := p.Run(context.Background(), a, &platform.RunRequest{Value: json.RawMessage(value), Namespace: "guest"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Response.StatusCode != whisk.StatusSuccess {
		t.Fatalf("Run: status %d, result %s", res.Response.StatusCode, res.Response.Result)
	}
	return res
}

func TestPerActionCapWaitsForAnInstance(t *testing.T) {
	p := newPlatform(t, local.Options{MaxInstancesPerAction: 1})
	a := gateAction(t, nodeKind(t, p), "capped", "0.0.1")
	g := newGate(t)
	first := runAsync(p, a, g.params())
	g.awaitStarted(t)
	second := runAsync(p, a, `{}`)
	g.open(t)
	for _, ch := range []<-chan outcome{first, second} {
		if o := <-ch; o.err != nil || o.res.Response.StatusCode != 0 {
			t.Fatalf("Run: %v, %+v", o.err, o.res)
		}
	}
	if _, n := p.Counts(); n != 1 {
		t.Errorf("%d instances, want 1 under a cap of 1", n)
	}
}

// An activation waits for an instance at most its action's time limit:
// here y waits for the host's only instance, busy with x.
func TestWaitEndsAtTheTimeLimit(t *testing.T) {
	p := newPlatform(t, local.Options{MaxInstances: 1})
	kind := nodeKind(t, p)
	x, y := gateAction(t, kind, "busy", "0.0.1"), gateAction(t, kind, "waiting", "0.0.1")
	y.Limits.Timeout = 200
	g := newGate(t)
	first := runAsync(p, x, g.params())
	g.awaitStarted(t)

	second := runAsync(p, y, `{}`)
	select {
	case o := <-second:
		if !whisk.IsKind(o.err, whisk.KindUnavailable) {
			t.Errorf("Run past its time limit of waiting = %v, %+v; want an unavailable error", o.err, o.res)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run waits for an instance past its action's time limit")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Run(ctx, x, &platform.RunRequest{Value: json.RawMessage(`{}`)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a canceled context = %v, want context.Canceled", err)
	}
	g.open(t)
	if o := <-first; o.err != nil {
		t.Fatal(o.err)
	}
}

// The time limit and __OW_DEADLINE start when the run reaches the
// launcher, not when the activation began to wait for an instance.
func TestDeadlineStartsWithTheRun(t *testing.T) {
	p := newPlatform(t, local.Options{MaxInstancesPerAction: 1})
	a := gateAction(t, nodeKind(t, p), "deadline", "0.0.1")
	a.Code = `const fs = require('fs');
function main(params) {
  if (params.started) fs.writeFileSync(params.started, 'started');
  if (params.release) fs.readFileSync(params.release);
  return { deadline: process.env.__OW_DEADLINE };
}`
	limit := time.Duration(a.Limits.Timeout) * time.Millisecond
	g := newGate(t)
	first := runAsync(p, a, g.params())
	g.awaitStarted(t)
	queued := make(chan outcome, 1)
	go func() {
		res, err := p.Run(context.Background(), a, &platform.RunRequest{
			Value: json.RawMessage(`{}`), Namespace: "guest",
		})
		queued <- outcome{res, err}
	}()
	time.Sleep(300 * time.Millisecond) // queued behind the first
	g.open(t)
	if o := <-first; o.err != nil {
		t.Fatal(o.err)
	}
	o := <-queued
	if o.err != nil || o.res.Response.StatusCode != whisk.StatusSuccess {
		t.Fatalf("queued Run: %v, %+v", o.err, o.res)
	}
	var out struct {
		Deadline string `json:"deadline"`
	}
	if err := json.Unmarshal(o.res.Response.Result, &out); err != nil {
		t.Fatalf("result %s: %v", o.res.Response.Result, err)
	}
	want := o.res.Start.Add(limit).UnixMilli()
	if got, err := strconv.ParseInt(out.Deadline, 10, 64); err != nil || got < want {
		t.Errorf("__OW_DEADLINE = %q, want the run's start + the limit (%d) or later", out.Deadline, want)
	}
}

func TestHostCapEvictsIdleInstances(t *testing.T) {
	p := newPlatform(t, local.Options{MaxInstances: 1})
	kind := nodeKind(t, p)
	x, y := gateAction(t, kind, "x", "0.0.1"), gateAction(t, kind, "y", "0.0.1")
	mustRun(t, p, x, `{}`)
	if res := mustRun(t, p, y, `{}`); !res.Cold {
		t.Error("y ran warm")
	}
	if res := mustRun(t, p, x, `{}`); !res.Cold {
		t.Error("x ran warm although y's start should have evicted it")
	}
	if _, n := p.Counts(); n != 1 {
		t.Errorf("%d instances, want 1", n)
	}
}

func TestIdleInstancesAreReaped(t *testing.T) {
	p := newPlatform(t, local.Options{IdleTimeout: time.Hour})
	a := gateAction(t, nodeKind(t, p), "idle", "0.0.1")
	mustRun(t, p, a, `{}`)
	p.ReapIdle(time.Now())
	if pools, n := p.Counts(); pools != 1 || n != 1 {
		t.Fatalf("before the idle timeout: %d pools, %d instances; want 1, 1", pools, n)
	}
	p.ReapIdle(time.Now().Add(2 * time.Hour))
	if pools, n := p.Counts(); pools != 0 || n != 0 {
		t.Fatalf("after the idle timeout: %d pools, %d instances; want none", pools, n)
	}
	if res := mustRun(t, p, a, `{}`); !res.Cold {
		t.Error("run after reaping was warm")
	}
}

func TestNewVersionRetiresOldOnes(t *testing.T) {
	p := newPlatform(t, local.Options{})
	kind := nodeKind(t, p)
	mustRun(t, p, gateAction(t, kind, "versioned", "0.0.1"), `{}`)
	mustRun(t, p, gateAction(t, kind, "versioned", "0.0.2"), `{}`)
	if pools, n := p.Counts(); pools != 1 || n != 1 {
		t.Errorf("%d pools, %d instances; want only the new version's", pools, n)
	}
}

func TestRemoveWaitsForRunningActivations(t *testing.T) {
	p := newPlatform(t, local.Options{})
	a := gateAction(t, nodeKind(t, p), "removed", "0.0.1")
	g := newGate(t)
	run := runAsync(p, a, g.params())
	g.awaitStarted(t)
	removed := make(chan struct{})
	go func() { p.Remove(context.Background(), platform.ActionRef{Path: a.Path}); close(removed) }()
	select {
	case <-removed:
		t.Fatal("Remove returned while an activation ran")
	default:
	}
	g.open(t)
	if o := <-run; o.err != nil || o.res.Response.StatusCode != 0 {
		t.Fatalf("Run: %v, %+v", o.err, o.res)
	}
	<-removed
	if pools, n := p.Counts(); pools != 0 || n != 0 {
		t.Errorf("after Remove: %d pools, %d instances; want none", pools, n)
	}
}

func TestCloseStopsRunningActivations(t *testing.T) {
	its, err := interpreters()
	if err != nil {
		t.Fatal(err)
	}
	p, err := local.New(local.Options{WorkDir: t.TempDir(), Interpreters: its})
	if err != nil {
		t.Fatal(err)
	}
	a := gateAction(t, nodeKind(t, p), "closed", "0.0.1")
	g := newGate(t)
	run := runAsync(p, a, g.params())
	g.awaitStarted(t)
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if o := <-run; o.err == nil {
		t.Errorf("Run interrupted by Close = %+v, want an error", o.res)
	}
	if _, err := p.Run(context.Background(), a, &platform.RunRequest{}); err == nil {
		t.Error("Run after Close succeeded")
	}
}

func TestMissingKinds(t *testing.T) {
	node := local.Interpreter{Family: "nodejs", Path: "/opt/node/bin/node", Version: "20.1.0"}
	p, err := local.New(local.Options{WorkDir: t.TempDir(), Interpreters: []local.Interpreter{node}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() }) // nothing ran
	want := []platform.Runtime{{Family: "nodejs", Kind: "nodejs:20", Default: true}}
	if diff := cmp.Diff(want, p.Runtimes()); diff != "" {
		t.Errorf("Runtimes (-want +got):\n%s", diff)
	}
	for kind, want := range map[string]string{
		"nodejs:20":   "",
		"go:1.20":     "",
		"python:3.11": "The runtime 'python:3.11' needs Python, but this host has no 'python3' on its PATH.",
		"nodejs:18": "The runtime 'nodejs:18' is not available on this host: it has Node.js 20.1.0 " +
			"(/opt/node/bin/node), which runs 'nodejs:20'.",
	} {
		if got := p.Missing(kind); got != want {
			t.Errorf("Missing(%q) = %q, want %q", kind, got, want)
		}
	}
	res, err := p.Run(context.Background(), &platform.Action{Kind: "python:3.11"}, &platform.RunRequest{})
	if err != nil || res.Response.StatusCode != whisk.StatusDeveloperError || !strings.Contains(string(res.Response.Result), "python3") {
		t.Errorf("Run of a missing kind = %v, %+v; want a developer error naming python3", err, res)
	}
}

// BenchmarkWarmRun is actionloop's BenchmarkWarmRun through the pool.
func BenchmarkWarmRun(b *testing.B) {
	its, err := interpreters()
	if err != nil {
		b.Fatal(err)
	}
	p, err := local.New(local.Options{WorkDir: b.TempDir(), Interpreters: its})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() }) // the benchmark checks runs, not shutdown
	var kind string
	for _, rt := range p.Runtimes() {
		if rt.Family == "nodejs" {
			kind = rt.Kind
		}
	}
	if kind == "" {
		b.Skip("no node on PATH")
	}
	a := &platform.Action{
		Key: "noop", Path: whisk.EntityPath{Namespace: "guest", Name: "noop"}, Version: "0.0.1", Kind: kind,
		Code: "function main() { return {}; }", Limits: whisk.Limits{Timeout: 60000, Logs: 10},
	}
	req := &platform.RunRequest{Value: json.RawMessage(`{"name":"bench"}`), Namespace: "guest", ActivationID: whisk.NewActivationID()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := p.Run(ctx, a, req); err != nil || res.Response.StatusCode != 0 {
			b.Fatal(err, res)
		}
	}
}
