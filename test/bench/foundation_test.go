package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/controlplane"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/whisk"
	nodelauncher "github.com/kwhisk/kwhisk/runtimes/nodejs/launcher"
)

const noop = "function main(params) { return params }"

// gateway is an in-process kwhisk in local mode behind a real HTTP
// listener on loopback.
type gateway struct {
	url    string
	authz  string
	client *http.Client
	st     *sqlite.Store
}

func startGateway(b *testing.B) *gateway {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kwhisk.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := auth.Bootstrap(ctx, st); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	plat, err := local.New(local.Options{WorkDir: filepath.Join(dir, "local"), APIHost: "http://" + ln.Addr().String()})
	if err != nil {
		b.Fatal(err)
	}
	unlimited := 1 << 30 // the benchmark invokes far more than OpenWhisk's 60 a minute
	ctrl := controlplane.New(st, plat, controlplane.Options{
		Tokens: events.NewTokens([]byte("bench-secret-0123456789")), APIHost: "http://" + ln.Addr().String(),
		Throttles: whisk.Throttles{InvocationsPerMinute: &unlimited, ConcurrentInvocations: &unlimited, FiresPerMinute: &unlimited},
	})
	srv := &http.Server{Handler: ctrl.API}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() {
		_ = srv.Close()
		_ = ctrl.Activations.Drain(ctx)
		_ = plat.Close()
		_ = st.Close()
	})
	g := auth.WellKnown[0]
	return &gateway{
		url:    "http://" + ln.Addr().String() + "/api/v1/namespaces/_",
		authz:  "Basic " + base64.StdEncoding.EncodeToString([]byte(g.UUID+":"+g.Key)),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}},
		st:     st,
	}
}

func (g *gateway) do(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, g.url+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", g.authz)
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func (g *gateway) createAction(b *testing.B, name, kind, code string) {
	b.Helper()
	body, _ := json.Marshal(map[string]any{"exec": map[string]any{"kind": kind, "code": code}})
	if status, out, err := g.do("PUT", "/actions/"+name+"?overwrite=true", string(body)); err != nil || status != 200 {
		b.Fatalf("create %s: %d %s %v", name, status, out, err)
	}
}

func (g *gateway) invoke(name string) (time.Duration, []byte, error) {
	start := time.Now()
	status, out, err := g.do("POST", "/actions/"+name+"?blocking=true", `{"n":1}`)
	d := time.Since(start)
	if err == nil && status != 200 {
		err = fmt.Errorf("invoke %s: %d %s", name, status, out)
	}
	return d, out, err
}

type dist []time.Duration

func (d dist) pct(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append(dist(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// BenchmarkFoundation measures, in one run: warm blocking-invoke latency
// through kwhisk against the same runtime process driven directly, no-op
// throughput at 32 concurrent clients with records persisted, and cold
// starts of nodejs and python actions through the API.
func BenchmarkFoundation(b *testing.B) {
	for i := 0; i < b.N; i++ {
		g := startGateway(b)
		warm := warmLatency(b, g)
		direct := directLatency(b)
		rate, persisted := throughput(b, g)
		cold := coldStarts(b, g)

		w := os.Stdout
		fmt.Fprintf(w, "\nkwhisk foundation benchmark (%s)\n", machine())
		fmt.Fprintf(w, "%-44s %10s %10s\n", "warm blocking invoke (nodejs no-op)", "p50", "p99")
		fmt.Fprintf(w, "%-44s %8.0fµs %8.0fµs\n", "  through kwhisk (HTTP, auth, record)", us(warm.pct(0.5)), us(warm.pct(0.99)))
		fmt.Fprintf(w, "%-44s %8.0fµs %8.0fµs\n", "  runtime process driven directly", us(direct.pct(0.5)), us(direct.pct(0.99)))
		fmt.Fprintf(w, "%-44s %8.0fµs %8.0fµs   (ratio %.2fx at p50)\n", "  kwhisk overhead", us(warm.pct(0.5)-direct.pct(0.5)), us(warm.pct(0.99)-direct.pct(0.99)),
			float64(warm.pct(0.5))/float64(direct.pct(0.5)))
		fmt.Fprintf(w, "%-44s %10.0f invokes/s (%d records persisted)\n", "32 concurrent clients, blocking no-op", rate, persisted)
		for _, kind := range []string{"nodejs", "python"} {
			if c, ok := cold[kind]; ok {
				fmt.Fprintf(w, "%-44s %8.1fms p50 over %d (initTime p50 %.1fms)\n", "cold start "+kind+" (invoke of a new action)", float64(c.e2e.pct(0.5).Microseconds())/1e3, len(c.e2e), float64(c.init.pct(0.5).Microseconds())/1e3)
			}
		}
		b.ReportMetric(us(warm.pct(0.5)-direct.pct(0.5)), "overhead-p50-µs")
		b.ReportMetric(us(warm.pct(0.99)-direct.pct(0.99)), "overhead-p99-µs")
		b.ReportMetric(rate, "invokes/s")
	}
}

func warmLatency(b *testing.B, g *gateway) dist {
	g.createAction(b, "noop", "nodejs:default", noop)
	for i := 0; i < 200; i++ { // warm the process and the connection
		if _, _, err := g.invoke("noop"); err != nil {
			b.Fatal(err)
		}
	}
	var d dist
	for i := 0; i < 3000; i++ {
		lat, _, err := g.invoke("noop")
		if err != nil {
			b.Fatal(err)
		}
		d = append(d, lat)
	}
	return d
}

func directLatency(b *testing.B) dist {
	node, err := exec.LookPath("node")
	if err != nil {
		b.Skip("no node on PATH")
	}
	dir := b.TempDir()
	script := filepath.Join(dir, nodelauncher.ScriptName)
	if err := os.WriteFile(script, nodelauncher.Script, 0o600); err != nil {
		b.Fatal(err)
	}
	l := &actionloop.Launcher{Command: nodelauncher.Command(node, script), Source: nodelauncher.CodeFile, Env: []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}}
	inst, out, err := actionloop.Start(context.Background(), l, &actionloop.Config{Dir: filepath.Join(dir, "code"), Code: noop, Timeout: time.Minute, LogLimit: 10 << 20})
	if err != nil || inst == nil {
		b.Fatalf("start: %v %+v", err, out)
	}
	defer inst.Stop()
	req := &actionloop.Request{Value: json.RawMessage(`{"n":1}`), Namespace: "guest", ActionName: "/guest/noop", ActionVersion: "0.0.1"}
	var d dist
	for i := 0; i < 3200; i++ {
		req.ActivationID = whisk.NewActivationID()
		start := time.Now()
		if _, err := inst.Run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		if i >= 200 {
			d = append(d, time.Since(start))
		}
	}
	return d
}

func throughput(b *testing.B, g *gateway) (float64, int) {
	const clients, total = 32, 20000
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= total {
				if _, _, err := g.invoke("noop"); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := g.st.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	if failed.Load() > 0 {
		b.Fatalf("%d of %d invokes failed", failed.Load(), total)
	}
	_, out, err := g.do("GET", "/activations?count=true", "")
	if err != nil {
		b.Fatal(err)
	}
	var count map[string]int
	_ = json.Unmarshal(out, &count)
	return float64(total) / elapsed.Seconds(), count["activations"]
}

type coldDist struct{ e2e, init dist }

func coldStarts(b *testing.B, g *gateway) map[string]coldDist {
	out := map[string]coldDist{}
	codes := map[string]string{"nodejs": noop, "python": "def main(args):\n    return args\n"}
	for _, kind := range []string{"nodejs", "python"} {
		var c coldDist
		for i := 0; i < 15; i++ {
			name := fmt.Sprintf("cold-%s-%d", kind, i)
			g.createAction(b, name, kind+":default", codes[kind])
			lat, body, err := g.invoke(name)
			if err != nil {
				b.Logf("%s: %v", kind, err)
				break
			}
			var rec whisk.Activation
			_ = json.Unmarshal(body, &rec)
			var ms int64
			_ = json.Unmarshal(rec.Annotations.Get("initTime"), &ms)
			c.e2e = append(c.e2e, lat)
			c.init = append(c.init, time.Duration(ms)*time.Millisecond)
		}
		if len(c.e2e) > 0 {
			out[kind] = c
		}
	}
	return out
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if bytes.HasPrefix(line, []byte("model name")) {
				if _, v, ok := bytes.Cut(line, []byte(":")); ok {
					cpu = string(bytes.TrimSpace(v))
				}
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs", cpu, numCPU())
}
