package bench

import (
	"bufio"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/auth"
)

// BenchmarkInvokeCPU is issue 15's measurement: `kwhisk serve` (bin/kwhisk,
// or $KWHISK_BIN) as its own process in local mode, driven over keep-alive
// HTTP connections by this process, with the CPU the gateway and its
// runtime processes spent taken from their own accounting (utime + stime
// in /proc) and divided by the invokes served. Beside it, in the same run,
// the floor: a bare HTTP server of the same language running the same
// main. Per kind (nodejs:20, python:3.11) it prints:
//
//   - CPU per warm invoke of the gateway and of the runtime (every
//     descendant of the gateway, plus what it reaped), and the floor's
//     whole process, at 16 connections;
//   - p50 latency at one connection, through the gateway and the floor;
//   - invokes/s at 32 connections, both.
//
// KWHISK_BENCH_SECONDS sets the length of each loaded phase (default 5);
// KWHISK_BENCH_PROFILE=<dir> also takes a CPU profile of the gateway
// during the 16-connection phase (through --debug-addr) into that dir.
func BenchmarkInvokeCPU(b *testing.B) {
	bin := os.Getenv("KWHISK_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../../bin/kwhisk")
	}
	if _, err := os.Stat(bin); err != nil {
		b.Skipf("no kwhisk binary (%v): run make build, or set KWHISK_BIN", err)
	}
	secs := 5
	if s, err := strconv.Atoi(os.Getenv("KWHISK_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	phase := time.Duration(secs) * time.Second
	for i := 0; i < b.N; i++ {
		load0 := loadavg()
		gw := startServe(b, bin)
		var rows []cpuRow
		for _, k := range []struct{ kind, code string }{
			{"nodejs:20", noop},
			{"python:3.11", "def main(args):\n    return args\n"},
		} {
			name := strings.Split(k.kind, ":")[0]
			gw.createAction(b, name, k.kind, k.code)
			fl := startFloor(b, name, k.code)
			rows = append(rows, measureKind(b, gw, fl, k.kind, phase))
			fl.stop()
		}
		load1 := loadavg()

		w := os.Stdout
		fmt.Fprintf(w, "\nkwhisk invoke CPU benchmark (%s; load average %s → %s; %s per phase)\n", machine(), load0, load1, phase)
		fmt.Fprintf(w, "%-46s %12s %12s\n", "per warm invoke (blocking, result=true)", "kwhisk", "floor")
		for _, r := range rows {
			fmt.Fprintf(w, "%s (%d runtime processes)\n", r.kind, r.procs)
			fmt.Fprintf(w, "  %-44s %10.1fµs %12s\n", "gateway process CPU (16 conns)", r.gatewayCPU, "–")
			fmt.Fprintf(w, "  %-44s %10.1fµs %10.1fµs\n", "runtime CPU (floor: the whole bare server)", r.runtimeCPU, r.floorCPU)
			fmt.Fprintf(w, "  %-44s %10.0fµs %10.0fµs\n", "c=1 latency p50", r.p50, r.floorP50)
			fmt.Fprintf(w, "  %-44s %10.0fµs %12s\n", "c=1 latency p50 over the floor", r.p50-r.floorP50, "–")
			fmt.Fprintf(w, "  %-44s %12.0f %12.0f   (%.2f × the floor)\n", "c=32 invokes/s", r.rate, r.floorRate, r.rate/r.floorRate)
			short := strings.Split(r.kind, ":")[0]
			b.ReportMetric(r.gatewayCPU, short+"-gateway-µs/op")
			b.ReportMetric(r.runtimeCPU, short+"-runtime-µs/op")
			b.ReportMetric(r.p50-r.floorP50, short+"-p50-over-floor-µs")
			b.ReportMetric(r.rate, short+"-invokes/s")
		}
	}
}

type cpuRow struct {
	kind                   string
	procs                  int     // the gateway's runtime processes
	gatewayCPU, runtimeCPU float64 // µs per invoke
	floorCPU               float64
	p50, floorP50          float64 // µs
	rate, floorRate        float64 // per second
}

func measureKind(b *testing.B, gw *serveProc, fl *floorProc, kind string, phase time.Duration) cpuRow {
	name := strings.Split(kind, ":")[0]
	gwTarget := newTarget(gw.url+"/actions/"+name+"?blocking=true&result=true", gw.authz)
	flTarget := newTarget(fl.url, "")
	// Warm up both at the phases' top concurrency, the gateway until its
	// number of runtime processes stays put: a cold start inside a
	// measured phase would count its CPU as the warm invokes'.
	if _, _, err := flTarget.load(32, time.Second, false); err != nil {
		b.Fatalf("%s floor warm-up: %v", kind, err)
	}
	procs := -1
	for range 20 {
		if _, _, err := gwTarget.load(32, time.Second, false); err != nil {
			b.Fatalf("%s warm-up: %v", kind, err)
		}
		n := len(descendants(gw.cmd.Process.Pid))
		if n == procs {
			break
		}
		procs = n
	}
	r := cpuRow{kind: kind, procs: procs}

	var prof sync.WaitGroup
	if dir := os.Getenv("KWHISK_BENCH_PROFILE"); dir != "" {
		prof.Add(1)
		go func() {
			defer prof.Done()
			gw.profile(b, filepath.Join(dir, "gateway-"+name+".pprof"), phase)
		}()
	}
	g0, c0 := gw.cpu()
	n, _, err := gwTarget.load(16, phase, false)
	g1, c1 := gw.cpu()
	if err != nil {
		b.Fatalf("%s load: %v", kind, err)
	}
	prof.Wait()
	r.gatewayCPU = perOp(g1-g0, n)
	r.runtimeCPU = perOp(c1-c0, n)
	f0 := procCPU(fl.cmd.Process.Pid)
	n, _, err = flTarget.load(16, phase, false)
	if err != nil {
		b.Fatalf("%s floor load: %v", kind, err)
	}
	r.floorCPU = perOp(procCPU(fl.cmd.Process.Pid)-f0, n)

	// c=1: the two interleaved in blocks, so both see the same load.
	var lat, flat dist
	for range 10 {
		_, d, err := gwTarget.load(1, phase/10, true)
		if err != nil {
			b.Fatalf("%s c=1: %v", kind, err)
		}
		lat = append(lat, d...)
		_, d, err = flTarget.load(1, phase/10, true)
		if err != nil {
			b.Fatalf("%s floor c=1: %v", kind, err)
		}
		flat = append(flat, d...)
	}
	r.p50, r.floorP50 = us(lat.pct(0.5)), us(flat.pct(0.5))

	n, _, err = gwTarget.load(32, phase, false)
	if err != nil {
		b.Fatalf("%s c=32: %v", kind, err)
	}
	r.rate = float64(n) / phase.Seconds()
	n, _, err = flTarget.load(32, phase, false)
	if err != nil {
		b.Fatalf("%s floor c=32: %v", kind, err)
	}
	r.floorRate = float64(n) / phase.Seconds()
	return r
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat
// (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

func perOp(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return us(d) / float64(n)
}

// procStat reads utime + stime and cutime + cstime of pid, and its parent.
func procStat(pid int) (self, reaped time.Duration, ppid int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// The command name may hold spaces: fields count from its closing ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return 0, 0, 0, false
	}
	num := func(j int) int64 { v, _ := strconv.ParseInt(f[j], 10, 64); return v }
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
	self = time.Duration(num(11)+num(12)) * clockTick
	reaped = time.Duration(num(13)+num(14)) * clockTick
	return self, reaped, int(num(1)), true
}

func procCPU(pid int) time.Duration {
	self, _, _, _ := procStat(pid)
	return self
}

// descendants maps every live descendant of root to its CPU.
func descendants(root int) map[int]time.Duration {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	cpu := map[int]time.Duration{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if self, _, pp, ok := procStat(pid); ok {
			parent[pid], cpu[pid] = pp, self
		}
	}
	out := map[int]time.Duration{}
	for pid, self := range cpu {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out[pid] = self
				break
			}
		}
	}
	return out
}

// descendantsCPU is the CPU of every live descendant of root, plus what
// root reaped (its children's that exited, and theirs).
func descendantsCPU(root int) time.Duration {
	var total time.Duration
	for _, c := range descendants(root) {
		total += c
	}
	_, reaped, _, _ := procStat(root)
	return total + reaped
}

// serveProc is `kwhisk serve` in local mode, as its own process.
type serveProc struct {
	cmd       *exec.Cmd
	url       string
	debugAddr string
	authz     string
	client    *http.Client
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServe(b *testing.B, bin string) *serveProc {
	b.Helper()
	addr, debug := freeAddr(b), freeAddr(b)
	args := []string{"serve", "--listen", addr, "--data-dir", b.TempDir(),
		"--invocations-per-minute", "1000000000", "--concurrent-invocations", "100000", "--stem-cells", "0"}
	if os.Getenv("KWHISK_BENCH_PROFILE") != "" {
		args = append(args, "--debug-addr", debug)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KWHISK_PLATFORM=local")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	g := auth.WellKnown[0]
	s := &serveProc{
		cmd: cmd, url: "http://" + addr + "/api/v1/namespaces/_", debugAddr: debug,
		authz:  "Basic " + base64.StdEncoding.EncodeToString([]byte(g.UUID+":"+g.Key)),
		client: &http.Client{Timeout: time.Minute},
	}
	waitUp(b, "http://"+addr+"/ping")
	return s
}

func waitUp(b *testing.B, url string) {
	b.Helper()
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	b.Fatalf("%s did not answer in 30 s", url)
}

// cpu is the gateway's own CPU and its runtimes' (descendants and reaped).
func (s *serveProc) cpu() (gateway, runtimes time.Duration) {
	pid := s.cmd.Process.Pid
	return procCPU(pid), descendantsCPU(pid)
}

func (s *serveProc) createAction(b *testing.B, name, kind, code string) {
	b.Helper()
	body, _ := json.Marshal(map[string]any{"exec": map[string]any{"kind": kind, "code": code}})
	req, _ := http.NewRequest("PUT", s.url+"/actions/"+name+"?overwrite=true", bytes.NewReader(body))
	req.Header.Set("Authorization", s.authz)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("create %s: %d %s", name, resp.StatusCode, out)
	}
}

func (s *serveProc) profile(b *testing.B, file string, d time.Duration) {
	resp, err := s.client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.debugAddr, int(d.Seconds())))
	if err != nil {
		b.Logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		b.Logf("profile: %v", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

// floorProc is a bare HTTP server of the action's language calling the
// same main per request: the least a runtime can cost.
type floorProc struct {
	cmd  *exec.Cmd
	url  string
	once sync.Once
}

const nodeFloor = `
const http = require('http');
const main = new Function('exports', 'module', process.env.FLOOR_CODE + '\nmodule.exports = main;');
const m = { exports: {} }; main(m.exports, m); const fn = m.exports;
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const out = JSON.stringify(fn(JSON.parse(Buffer.concat(chunks).toString())));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
    res.end(out);
  });
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`

const pythonFloor = `
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
ns = {}
exec(os.environ['FLOOR_CODE'], ns)
main = ns['main']
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        out = json.dumps(main(json.loads(body)), separators=(',', ':')).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
`

func startFloor(b *testing.B, kind, code string) *floorProc {
	b.Helper()
	var cmd *exec.Cmd
	switch kind {
	case "nodejs":
		cmd = exec.Command("node", "-e", nodeFloor)
	case "python":
		cmd = exec.Command("python3", "-c", pythonFloor)
	}
	cmd.Env = append(os.Environ(), "FLOOR_CODE="+code)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	port, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		b.Fatalf("%s floor: %v", kind, err)
	}
	f := &floorProc{cmd: cmd, url: "http://127.0.0.1:" + strings.TrimSpace(port) + "/"}
	b.Cleanup(f.stop)
	return f
}

func (f *floorProc) stop() {
	f.once.Do(func() {
		_ = f.cmd.Process.Kill()
		_ = f.cmd.Wait()
	})
}

// target is a URL the load generator POSTs the no-op's input to, each
// connection a keep-alive one of its own.
type target struct {
	url, authz string
	client     *http.Client
}

func newTarget(url, authz string) *target {
	return &target{url: url, authz: authz, client: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, DisableCompression: true},
	}}
}

var input = []byte(`{"n":1}`)

func (t *target) post() error {
	req, err := http.NewRequestWithContext(context.Background(), "POST", t.url, bytes.NewReader(input))
	if err != nil {
		return err
	}
	if t.authz != "" {
		req.Header.Set("Authorization", t.authz)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode != 200 || !bytes.Equal(bytes.TrimSpace(out), input)) {
		err = fmt.Errorf("%s: %d %.200s", t.url, resp.StatusCode, out)
	}
	return err
}

// load runs conns clients for d and returns the requests served (and
// their latencies when timed).
func (t *target) load(conns int, d time.Duration, timed bool) (int, dist, error) {
	var served atomic.Int64
	var mu sync.Mutex
	var lat dist
	var firstErr error
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine dist
			for time.Now().Before(stop) {
				start := time.Now()
				if err := t.post(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if timed {
					mine = append(mine, time.Since(start))
				}
				served.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return int(served.Load()), lat, firstErr
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
