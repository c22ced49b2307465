package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// kindOf returns the platform's default kind of family, skipping without.
func kindOf(t *testing.T, p *local.Platform, family string) string {
	t.Helper()
	for _, rt := range p.Runtimes() {
		if rt.Family == family && rt.Default {
			return rt.Kind
		}
	}
	t.Skipf("no %s runtime on this host", family)
	return ""
}

func action(name, kind, code string) *platform.Action {
	return &platform.Action{
		Key: name + "@0.0.1", Path: whisk.EntityPath{Namespace: "guest", Name: name}, Version: "0.0.1", Kind: kind, Code: code,
		Limits: whisk.DefaultBounds.Defaults(),
	}
}

func run(t *testing.T, p *local.Platform, a *platform.Action, value string) *platform.Result {
	t.Helper()
	res, err := p.Run(context.Background(), a, &platform.RunRequest{Value: json.RawMessage(value), Namespace: "guest"})
	if err != nil {
		t.Fatalf("Run %s: %v", a.Path, err)
	}
	return res
}

func errorOf(t *testing.T, res *platform.Result) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(res.Response.Result, &body); err != nil {
		t.Fatalf("result %s: %v", res.Response.Result, err)
	}
	return body.Error
}

func TestScaleUpToTheActionCap(t *testing.T) {
	p := newPlatform(t, local.Options{MaxInstancesPerAction: 3})
	a := gateAction(t, nodeKind(t, p), "scaled", "0.0.1")
	var gates []gate
	var runs []<-chan outcome
	for range 3 {
		g := newGate(t)
		gates = append(gates, g)
		runs = append(runs, runAsync(p, a, g.params()))
	}
	for _, g := range gates {
		g.awaitStarted(t) // three activations run at once: three instances
	}
	extra := runAsync(p, a, `{}`) // waits for one of them
	for _, g := range gates {
		g.open(t)
	}
	for _, ch := range append(runs, extra) {
		if o := <-ch; o.err != nil || o.res.Response.StatusCode != whisk.StatusSuccess {
			t.Fatalf("Run: %v, %+v", o.err, o.res)
		}
	}
	if _, n := p.Counts(); n != 3 {
		t.Errorf("%d instances, want 3 (the cap)", n)
	}
}

func TestScaleToZeroLetsInFlightWorkFinish(t *testing.T) {
	p := newPlatform(t, local.Options{IdleTimeout: time.Minute})
	a := gateAction(t, nodeKind(t, p), "zero", "0.0.1")
	g := newGate(t)
	busy := runAsync(p, a, g.params())
	g.awaitStarted(t)
	p.ReapIdle(time.Now().Add(time.Hour)) // long past the idle timeout
	if _, n := p.Counts(); n != 1 {
		t.Fatalf("%d instances after reaping with an activation in flight, want 1", n)
	}
	g.open(t)
	if o := <-busy; o.err != nil || o.res.Response.StatusCode != whisk.StatusSuccess {
		t.Fatalf("in-flight activation: %v, %+v", o.err, o.res)
	}
	p.ReapIdle(time.Now().Add(time.Hour))
	if pools, n := p.Counts(); pools != 0 || n != 0 {
		t.Errorf("after the idle timeout: %d pools, %d instances; want zero", pools, n)
	}
}

// crashCode appends a line to the file named by params.count on every run
// and, with params.crash, kills its own process.
const crashCode = `
const fs = require('fs');
function main(params) {
  if (params.count) fs.appendFileSync(params.count, 'ran\n');
  if (params.crash) process.kill(process.pid, 'SIGKILL');
  return { ok: true };
}`

func TestCrashIsADeveloperErrorAtOnceAndNeverRetried(t *testing.T) {
	p := newPlatform(t, local.Options{MaxInstancesPerAction: 1})
	a := action("crash", nodeKind(t, p), crashCode)
	count := filepath.Join(t.TempDir(), "count")
	params := func(crash bool) string {
		b, _ := json.Marshal(map[string]any{"count": count, "crash": crash}) // always marshals
		return string(b)
	}
	if res := run(t, p, a, params(false)); res.Response.StatusCode != whisk.StatusSuccess {
		t.Fatalf("warm-up: %+v", res)
	}
	start := time.Now()
	res := run(t, p, a, params(true))
	took := time.Since(start)
	if got, want := errorOf(t, res), actionloop.MsgRunExited; res.Response.StatusCode != whisk.StatusDeveloperError || got != want {
		t.Errorf("crashed activation: status %d, error %q; want a developer error %q", res.Response.StatusCode, got, want)
	}
	// At once: not when the run's time limit passes. (Half the limit, not
	// a fixed few milliseconds, so that a loaded machine does not fail it.)
	if limit := time.Duration(a.Limits.Timeout) * time.Millisecond; took >= limit/2 {
		t.Errorf("the crashed activation's error took %v, want it well before the %v time limit", took, limit)
	}
	if res := run(t, p, a, params(false)); res.Response.StatusCode != whisk.StatusSuccess || !res.Cold {
		t.Errorf("after the crash: %+v, want success on a new instance", res)
	}
	b, err := os.ReadFile(count)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "ran\n"); got != 3 {
		t.Errorf("the action's code ran %d times for 3 activations: the crashed one was retried", got)
	}
	if _, n := p.Counts(); n != 1 {
		t.Errorf("%d instances, want the crashed one replaced by one", n)
	}
}

func TestCrashReplacesTheInstanceForQueuedWork(t *testing.T) {
	p := newPlatform(t, local.Options{MaxInstancesPerAction: 1})
	code := `const fs = require('fs');
function main(params) {
  if (params.started) { fs.writeFileSync(params.started, 'started'); fs.readFileSync(params.release); process.exit(9); }
  return { ok: true };
}`
	a := action("crashq", nodeKind(t, p), code)
	g := newGate(t)
	crashing := runAsync(p, a, g.params())
	g.awaitStarted(t)
	queued := runAsync(p, a, `{}`)
	g.open(t)
	if o := <-crashing; o.err != nil || o.res.Response.StatusCode != whisk.StatusDeveloperError {
		t.Fatalf("crashing activation: %v, %+v; want a developer error", o.err, o.res)
	}
	if o := <-queued; o.err != nil || o.res.Response.StatusCode != whisk.StatusSuccess || !o.res.Cold {
		t.Fatalf("queued activation: %v, %+v; want success on a new instance", o.err, o.res)
	}
}

func TestBurstToAZeroScaledAction(t *testing.T) {
	p := newPlatform(t, local.Options{MaxInstancesPerAction: 4})
	a := action("burst", nodeKind(t, p), "function main(p) { return { n: p.n }; }")
	const n = 100
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := p.Run(context.Background(), a, &platform.RunRequest{Value: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Namespace: "guest"})
			switch {
			case err != nil:
				errs[i] = err
			case string(res.Response.Result) != fmt.Sprintf(`{"n":%d}`, i):
				errs[i] = fmt.Errorf("result %s", res.Response.Result)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("activation %d: %v", i, err)
		}
	}
	if _, got := p.Counts(); got < 1 || got > 4 {
		t.Errorf("%d instances after the burst, want 1 to 4", got)
	}
}

func TestConcurrentActivationsShareAnInstance(t *testing.T) {
	p := newPlatform(t, local.Options{})
	code, err := os.ReadFile("testdata/agate.js")
	if err != nil {
		t.Fatal(err)
	}
	a := action("shared", nodeKind(t, p), string(code))
	a.Limits.Concurrency = 3
	gates := []gate{newGate(t), newGate(t), newGate(t)}
	var runs []<-chan outcome
	for _, g := range gates {
		runs = append(runs, runAsync(p, a, g.params()))
	}
	for _, g := range gates {
		g.awaitStarted(t) // all three in flight
	}
	if _, n := p.Counts(); n != 1 {
		t.Errorf("%d instances for 3 activations at concurrency 3, want 1", n)
	}
	for _, g := range gates {
		g.open(t)
	}
	for _, ch := range runs {
		if o := <-ch; o.err != nil || o.res.Response.StatusCode != whisk.StatusSuccess {
			t.Fatalf("Run: %v, %+v", o.err, o.res)
		}
	}
}

func TestStemCells(t *testing.T) {
	p := newPlatform(t, local.Options{StemCells: 1})
	cold := newPlatform(t, local.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.WaitStems(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		family, code string
	}{
		{"nodejs", "console.log('loading');\nfunction greet(p) { return { greeting: 'hi ' + p.name + ' ' + process.env.SECRET }; }"},
		{"python", "print('loading')\nimport os\ndef greet(p):\n    return {'greeting': 'hi ' + p['name'] + ' ' + os.environ['SECRET']}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			kind := kindOf(t, p, tt.family)
			if err := p.WaitStems(ctx); err != nil {
				t.Fatal(err)
			}
			a := action("stem-"+tt.family, kind, tt.code)
			a.Main, a.Env = "greet", map[string]string{"SECRET": "s3"}
			res := run(t, p, a, `{"name":"ünï"}`)
			if diff := cmp.Diff(`{"greeting":"hi ünï s3"}`, string(res.Response.Result)); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if !res.Cold || len(res.Logs) == 0 || !strings.HasSuffix(res.Logs[0], " stdout: loading") {
				t.Errorf("cold %v, logs %q; want a cold start whose logs begin with the init's", res.Cold, res.Logs)
			}
			c := run(t, cold, a, `{"name":"x"}`)
			// A stem cell only loads the code, so its init is the shorter.
			// One stalled start on a loaded machine can invert a single
			// pair: compare the best of up to three of each.
			stemInit, coldInit := res.InitTime, c.InitTime
			for try := 1; stemInit >= coldInit && try < 3; try++ {
				if err := p.WaitStems(ctx); err != nil {
					t.Fatal(err)
				}
				b := action(fmt.Sprintf("stem-%s-%d", tt.family, try), kind, tt.code)
				b.Main, b.Env = a.Main, a.Env
				stemInit = min(stemInit, run(t, p, b, `{"name":"x"}`).InitTime)
				coldInit = min(coldInit, run(t, cold, b, `{"name":"x"}`).InitTime)
			}
			if stemInit >= coldInit {
				t.Errorf("init from a stem cell took %v, from nothing %v (best of three)", stemInit, coldInit)
			}
			t.Logf("init: %v from a stem cell, %v cold (best)", stemInit, coldInit)

			// A failing init reads the same from a stem cell as from a cold start.
			if err := p.WaitStems(ctx); err != nil {
				t.Fatal(err)
			}
			bad := action("stem-bad-"+tt.family, kind, "this is not code (")
			fromStem, fromCold := run(t, p, bad, `{}`), run(t, cold, bad, `{}`)
			dirs := regexp.MustCompile(`\S*/instances/\d+/`) // each instance has its own directory
			stemErr, coldErr := dirs.ReplaceAllString(errorOf(t, fromStem), "<dir>/"), dirs.ReplaceAllString(errorOf(t, fromCold), "<dir>/")
			if fromStem.Response.StatusCode != whisk.StatusDeveloperError || stemErr != coldErr {
				t.Errorf("bad code from a stem cell: %s, cold: %s", fromStem.Response.Result, fromCold.Response.Result)
			}
		})
	}
}

func TestStemCellsSkipOtherLimits(t *testing.T) {
	p := newPlatform(t, local.Options{StemCells: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.WaitStems(ctx); err != nil {
		t.Fatal(err)
	}
	a := action("bigger", kindOf(t, p, "nodejs"), "function main() { return {}; }")
	a.Limits.Memory = 512
	before := p.Stats().Stems
	run(t, p, a, `{}`)
	if after := p.Stats().Stems; after != before {
		t.Errorf("an action with 512 MB took a stem cell made for %d MB", whisk.DefaultBounds.DefaultMemory)
	}
}

func TestMemoryLimit(t *testing.T) {
	p := newPlatform(t, local.Options{})
	if p.MemoryLimits() == "off" {
		t.Skip("no memory limits on this host")
	}
	tests := []struct {
		family, code string
	}{
		{"nodejs", "function main() { const a = []; for (;;) a.push(new Array(1e6).fill(1.5)); }"},
		{"python", "def main(p):\n    a = []\n    while True:\n        a.append(bytearray(16 << 20))\n"},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			a := action("hog-"+tt.family, kindOf(t, p, tt.family), tt.code)
			a.Limits.Memory = 128
			res := run(t, p, a, `{}`)
			if res.Response.StatusCode != whisk.StatusDeveloperError || errorOf(t, res) != local.MsgMemoryExhausted {
				t.Errorf("status %d, result %s; want %q", res.Response.StatusCode, res.Response.Result, local.MsgMemoryExhausted)
			}
			ok := action("fine-"+tt.family, a.Kind, map[string]string{
				"nodejs": "function main() { return { n: new Array(1e6).fill(1).length }; }",
				"python": "def main(p):\n    return {'n': len(bytearray(32 << 20))}\n",
			}[tt.family])
			ok.Limits.Memory = 128
			if res := run(t, p, ok, `{}`); res.Response.StatusCode != whisk.StatusSuccess {
				t.Errorf("an action within 128 MB: %s", res.Response.Result)
			}
		})
	}
}
