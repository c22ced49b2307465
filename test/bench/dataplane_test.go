package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// The data plane's targets (issue 3): p50 cold starts, a start from a
// stem cell, and a burst to an action with no instance.
var coldTargets = map[string]time.Duration{"nodejs": 80 * time.Millisecond, "python": 60 * time.Millisecond, "go": 10 * time.Millisecond}

const (
	stemTarget     = 5 * time.Millisecond
	burstSize      = 100
	burstMaxTarget = time.Second
)

// coldCode is a no-op action per family, for cold starts.
var coldCode = map[string]string{
	"nodejs":   "function main(params) { return params; }",
	"python":   "def main(args):\n    return args\n",
	"go":       "package main\n\nfunc Main(params map[string]any) map[string]any { return params }\n",
	"blackbox": "#!/bin/sh\necho \"$1\"\n",
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

func newLocal(b *testing.B, opts local.Options) *local.Platform {
	b.Helper()
	opts.WorkDir = filepath.Join(b.TempDir(), "local")
	opts.APIHost = "http://127.0.0.1:3233"
	p, err := local.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Close(); err != nil {
			b.Errorf("close: %v", err)
		}
	})
	return p
}

// benchAction is a fresh action version (its own pool) of kind.
func benchAction(name, kind, family string) *platform.Action {
	a := &platform.Action{
		Key: name + "@0.0.1", Path: whisk.EntityPath{Namespace: "guest", Name: name}, Version: "0.0.1", Kind: kind,
		Code: coldCode[family], Limits: whisk.DefaultBounds.Defaults(),
	}
	if family == "blackbox" {
		a.Code, a.Binary = zipExec([]byte(coldCode[family])), true
	}
	return a
}

// zipExec is a base64 zip holding exec.
func zipExec(exec []byte) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "exec", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(exec)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		panic(err) // writing to memory does not fail
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func runOnce(p *local.Platform, a *platform.Action, value string) (*platform.Result, time.Duration, error) {
	start := time.Now()
	res, err := p.Run(context.Background(), a, &platform.RunRequest{
		Value: json.RawMessage(value), Namespace: "guest", ActivationID: whisk.NewActivationID(),
	})
	d := time.Since(start)
	if err == nil && res.Response.StatusCode != whisk.StatusSuccess {
		err = fmt.Errorf("status %d: %s", res.Response.StatusCode, res.Response.Result)
	}
	return res, d, err
}

type startDist struct {
	kind      string
	e2e, init dist
}

// coldStartsByKind starts each kind's no-op action n times on versions
// that never ran, after one start that is not counted (it compiles go).
func coldStartsByKind(b *testing.B, p *local.Platform, n int) map[string]startDist {
	out := map[string]startDist{}
	for _, rt := range p.Runtimes() {
		if !rt.Default || coldCode[rt.Family] == "" {
			continue
		}
		d := startDist{kind: rt.Kind}
		for i := -1; i < n; i++ {
			a := benchAction(fmt.Sprintf("cold-%s-%d", rt.Family, i+1), rt.Kind, rt.Family)
			res, lat, err := runOnce(p, a, `{"n":1}`)
			if err != nil {
				b.Logf("%s: %v", rt.Kind, err)
				break
			}
			p.Remove(context.Background(), platform.ActionRef{Path: a.Path})
			if i >= 0 {
				d.e2e = append(d.e2e, lat)
				d.init = append(d.init, res.InitTime)
			}
		}
		if len(d.e2e) > 0 {
			out[rt.Family] = d
		}
	}
	return out
}

// stemStarts starts actions of the kinds with stem cells n times, each
// time once a cell is ready.
func stemStarts(b *testing.B, p *local.Platform, n int) map[string]startDist {
	out := map[string]startDist{}
	for _, rt := range p.Runtimes() {
		if !rt.Default || (rt.Family != "nodejs" && rt.Family != "python") {
			continue
		}
		d := startDist{kind: rt.Kind}
		for i := range n {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := p.WaitStems(ctx)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			a := benchAction(fmt.Sprintf("stem-%s-%d", rt.Family, i), rt.Kind, rt.Family)
			res, lat, err := runOnce(p, a, `{"n":1}`)
			if err != nil {
				b.Fatalf("%s: %v", rt.Kind, err)
			}
			d.e2e = append(d.e2e, lat)
			d.init = append(d.init, res.InitTime)
		}
		out[rt.Family] = d
	}
	return out
}

type burstResult struct {
	errors    int
	lat       dist
	instances int
	firstErr  error
}

// burst sends burstSize activations at once to a nodejs action with no
// instance.
func burst(b *testing.B, p *local.Platform, name string) burstResult {
	kind := defaultKind(p, "nodejs")
	if kind == "" {
		b.Skip("no node on PATH")
	}
	a := benchAction(name, kind, "nodejs")
	var (
		mu  sync.Mutex
		res burstResult
		wg  sync.WaitGroup
	)
	ready := make(chan struct{})
	for i := range burstSize {
		wg.Go(func() {
			<-ready
			_, lat, err := runOnce(p, a, fmt.Sprintf(`{"n":%d}`, i))
			mu.Lock()
			defer mu.Unlock()
			res.lat = append(res.lat, lat)
			if err != nil {
				res.errors++
				if res.firstErr == nil {
					res.firstErr = err
				}
			}
		})
	}
	close(ready)
	wg.Wait()
	res.instances = p.Stats().Instances
	return res
}

func defaultKind(p *local.Platform, family string) string {
	for _, rt := range p.Runtimes() {
		if rt.Family == family && rt.Default {
			return rt.Kind
		}
	}
	return ""
}

// sleepy waits 10 ms without using the CPU, like an action calling a
// service; it shows what per-instance concurrency buys.
const sleepy = "function main(p) { return new Promise((resolve) => setTimeout(() => resolve(p), 10)); }"

// throughputAt runs clients loops of invokes of sleepy at the given
// per-instance concurrency for d, on at most two instances.
func throughputAt(b *testing.B, concurrency int, d time.Duration) (rate float64, instances int) {
	p := newLocal(b, local.Options{MaxInstancesPerAction: 2})
	kind := defaultKind(p, "nodejs")
	if kind == "" {
		b.Skip("no node on PATH")
	}
	a := benchAction(fmt.Sprintf("sleepy-%d", concurrency), kind, "nodejs")
	a.Code, a.Limits.Concurrency = sleepy, concurrency
	const clients = 32
	var done, failed atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Now().Before(stop) {
				if _, _, err := runOnce(p, a, `{}`); err != nil {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d invokes failed at concurrency %d", failed.Load(), concurrency)
	}
	return float64(done.Load()) / time.Since(start).Seconds(), p.Stats().Instances
}

func verdict(got, target time.Duration) string {
	if got <= target {
		return "ok"
	}
	return "MISSED"
}

// BenchmarkDataPlane measures local mode's data plane, through the
// platform (no HTTP, no store): cold starts per kind, starts from a stem
// cell, a burst to an action with no instance, and throughput with
// per-instance concurrency.
func BenchmarkDataPlane(b *testing.B) {
	const n = 10
	for i := 0; i < b.N; i++ {
		cold := coldStartsByKind(b, newLocal(b, local.Options{}), n)
		stems := stemStarts(b, newLocal(b, local.Options{StemCells: 1}), n)
		bare := burst(b, newLocal(b, local.Options{}), "burst")
		warmed := newLocal(b, local.Options{StemCells: 1})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := warmed.WaitStems(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		withStem := burst(b, warmed, "burst-stem")
		serialRate, serialInst := throughputAt(b, 1, 2*time.Second)
		concRate, concInst := throughputAt(b, 16, 2*time.Second)

		w := os.Stdout
		fmt.Fprintf(w, "\nkwhisk data plane benchmark (%s)\n", machine())
		fmt.Fprintf(w, "\ncold start, no stem cell (%d each; end to end = init + first run, through local.Platform.Run)\n", n)
		fmt.Fprintf(w, "  %-14s %12s %12s %12s %12s %10s %s\n", "kind", "e2e p50 ms", "e2e max ms", "init p50 ms", "init max ms", "target", "")
		for _, fam := range []string{"nodejs", "python", "go", "blackbox"} {
			d, ok := cold[fam]
			if !ok {
				fmt.Fprintf(w, "  %-14s (not offered on this host)\n", fam)
				continue
			}
			target, v := "-", ""
			if t, ok := coldTargets[fam]; ok {
				target, v = fmt.Sprintf("≤%v", t), verdict(d.e2e.pct(0.5), t)
			}
			fmt.Fprintf(w, "  %-14s %12.1f %12.1f %12.1f %12.1f %10s %s\n", d.kind, ms(d.e2e.pct(0.5)), ms(d.e2e.pct(1)), ms(d.init.pct(0.5)), ms(d.init.pct(1)), target, v)
			b.ReportMetric(ms(d.e2e.pct(0.5)), fam+"-cold-p50-ms")
		}
		fmt.Fprintf(w, "\nstart from a stem cell (%d each; init = writing and loading the code)\n", n)
		for _, fam := range []string{"nodejs", "python"} {
			d, ok := stems[fam]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "  %-14s e2e p50 %6.1f ms, max %6.1f ms; init p50 %5.2f ms, max %5.2f ms (target init ≤%v: %s)\n", d.kind,
				ms(d.e2e.pct(0.5)), ms(d.e2e.pct(1)), ms(d.init.pct(0.5)), ms(d.init.pct(1)), stemTarget, verdict(d.init.pct(0.5), stemTarget))
			b.ReportMetric(ms(d.init.pct(0.5)), fam+"-stem-init-p50-ms")
		}
		fmt.Fprintf(w, "\nburst of %d concurrent activations to a nodejs action with no instance (cap %d per action)\n", burstSize, local.DefaultMaxInstancesPerAction)
		for _, r := range []struct {
			name string
			res  burstResult
		}{{"no stem cell", bare}, {"1 stem cell", withStem}} {
			fmt.Fprintf(w, "  %-14s errors %d, p50 %6.1f ms, max %7.1f ms, %d instances (target 0 errors, max ≤%v: %s)\n", r.name,
				r.res.errors, ms(r.res.lat.pct(0.5)), ms(r.res.lat.pct(1)), r.res.instances, burstMaxTarget,
				verdict(r.res.lat.pct(1)+time.Duration(r.res.errors)*time.Hour, burstMaxTarget))
			if r.res.firstErr != nil {
				fmt.Fprintf(w, "    first error: %v\n", r.res.firstErr)
			}
		}
		b.ReportMetric(float64(bare.errors+withStem.errors), "burst-errors")
		b.ReportMetric(ms(bare.lat.pct(1)), "burst-max-ms")
		fmt.Fprintf(w, "\nthroughput of a 10 ms I/O-bound nodejs action, 32 clients, at most 2 instances\n")
		fmt.Fprintf(w, "  concurrency 1:  %7.0f activations/s on %d instances\n", serialRate, serialInst)
		fmt.Fprintf(w, "  concurrency 16: %7.0f activations/s on %d instances\n", concRate, concInst)
		b.ReportMetric(concRate, "conc16-activations/s")
		fmt.Fprintln(w, strings.Repeat("-", 40))
	}
}
