package actionloop_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	golauncher "github.com/kwhisk/kwhisk/runtimes/go/launcher"
	nativelauncher "github.com/kwhisk/kwhisk/runtimes/native/launcher"
)

func requireInterpreter(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err != nil {
		tb.Skipf("%s not on PATH", name)
	}
}

// BenchmarkWarmRun measures one warm activation of a no-op Node.js action
// through Instance.Run: request line, result line, logs.
func BenchmarkWarmRun(b *testing.B) {
	requireInterpreter(b, "node")
	benchmarkWarmRun(b, "nodejs", "testdata/noop.js")
}

// BenchmarkWarmRunPython is BenchmarkWarmRun for Python.
func BenchmarkWarmRunPython(b *testing.B) {
	requireInterpreter(b, "python3")
	benchmarkWarmRun(b, "python", "testdata/noop.py")
}

func benchmarkWarmRun(b *testing.B, family, code string) {
	ctx := context.Background()
	work := b.TempDir()
	inst, failed, err := actionloop.Start(ctx, launcher(family, work), &actionloop.Config{
		Dir: filepath.Join(work, "noop"), Code: mustRead(code), Timeout: time.Minute, LogLimit: 10 << 20,
	})
	if err != nil || failed != nil {
		b.Fatal(err, failed)
	}
	b.Cleanup(func() { _ = inst.Stop() })
	req := &actionloop.Request{
		Value: json.RawMessage(`{"name":"bench"}`), Namespace: "guest", ActionName: "/guest/noop",
		ActionVersion: "0.0.1", ActivationID: "0123456789abcdef0123456789abcdef", TransactionID: "tid",
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := inst.Run(ctx, req)
		if err != nil || out.Response.StatusCode != 0 {
			b.Fatal(err, out)
		}
	}
}

// BenchmarkRawRoundTrip is the floor under BenchmarkWarmRun: the same
// launcher and request driven by the least possible Go code (write a line,
// read a line, no deadlines, no logs). The difference between the two is
// what actionloop adds.
func BenchmarkRawRoundTrip(b *testing.B) {
	requireInterpreter(b, "node")
	benchmarkRaw(b, "nodejs", "testdata/noop.js")
}

// BenchmarkRawRoundTripPython is BenchmarkRawRoundTrip for Python.
func BenchmarkRawRoundTripPython(b *testing.B) {
	requireInterpreter(b, "python3")
	benchmarkRaw(b, "python", "testdata/noop.py")
}

func benchmarkRaw(b *testing.B, family, code string) {
	work := b.TempDir()
	l := launcher(family, work)
	dir := filepath.Join(work, "noop")
	if err := os.Mkdir(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, l.Source), []byte(mustRead(code)), 0o600); err != nil {
		b.Fatal(err)
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(l.Command[0], l.Command[1:]...)
	cmd.Env = append(l.Env, "__OW_CODE="+dir)
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{resW}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	resW.Close()
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := bufio.NewReader(resR)
	if _, err := r.ReadSlice('\n'); err != nil {
		b.Fatal(err)
	}
	line := []byte(`{"value":{"name":"bench"},"namespace":"guest","action_name":"/guest/noop","action_version":"0.0.1","activation_id":"0123456789abcdef0123456789abcdef","transaction_id":"tid","deadline":"1"}` + "\n")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := stdin.Write(line); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdStart measures Start of a Node.js action: code written,
// launcher spawned, code loaded, ack read.
func BenchmarkColdStart(b *testing.B) {
	requireInterpreter(b, "node")
	benchmarkColdStart(b, "nodejs", "testdata/noop.js")
}

// BenchmarkColdStartPython is BenchmarkColdStart for Python.
func BenchmarkColdStartPython(b *testing.B) {
	requireInterpreter(b, "python3")
	benchmarkColdStart(b, "python", "testdata/noop.py")
}

func benchmarkColdStart(b *testing.B, family, code string) {
	ctx := context.Background()
	work := b.TempDir()
	l := launcher(family, work)
	src := mustRead(code)
	n := 0
	for b.Loop() {
		n++
		inst, failed, err := actionloop.Start(ctx, l, &actionloop.Config{
			Dir: filepath.Join(work, strconv.Itoa(n)), Code: src, Timeout: time.Minute, LogLimit: 10 << 20,
		})
		if err != nil || failed != nil {
			b.Fatal(err, failed)
		}
		b.StopTimer()
		if err := inst.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkColdActivation measures a cold activation of a no-op action of
// each kind: Start (code in place, launcher up, code loaded) and the first
// Run. Go's binaries come from the compiler's cache, as they do for every
// instance after the first: "prebuilt" is a zip with an exec, "compiled"
// source built once before the timed runs. It reports the median.
func BenchmarkColdActivation(b *testing.B) {
	kinds := []struct {
		name, need string
		setup      func(b *testing.B, work string) (*actionloop.Launcher, *actionloop.Config)
	}{
		{"nodejs", "node", func(b *testing.B, work string) (*actionloop.Launcher, *actionloop.Config) {
			return launcher("nodejs", work), &actionloop.Config{Code: mustRead("testdata/noop.js")}
		}},
		{"python", "python3", func(b *testing.B, work string) (*actionloop.Launcher, *actionloop.Config) {
			return launcher("python", work), &actionloop.Config{Code: mustRead("testdata/noop.py")}
		}},
		{"go-prebuilt", "go", func(b *testing.B, work string) (*actionloop.Launcher, *actionloop.Config) {
			return goLauncher(b, work), &actionloop.Config{Code: prebuiltZip(b, "testdata/go/noop.go"), Binary: true}
		}},
		{"go-compiled", "go", func(b *testing.B, work string) (*actionloop.Launcher, *actionloop.Config) {
			return goLauncher(b, work), &actionloop.Config{Code: mustRead("testdata/go/noop.go")}
		}},
		{"native", "sh", func(b *testing.B, work string) (*actionloop.Launcher, *actionloop.Config) {
			return nativelauncher.Launcher(nil), &actionloop.Config{Code: mustRead("testdata/noop.sh")}
		}},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			requireInterpreter(b, k.need)
			ctx := context.Background()
			work := b.TempDir()
			l, base := k.setup(b, work)
			base.Timeout, base.LogLimit = time.Minute, 10<<20
			req := &actionloop.Request{Value: json.RawMessage(`{"name":"bench"}`), ActivationID: "0123456789abcdef0123456789abcdef"}
			n := 0
			cold := func() time.Duration {
				n++
				c := *base
				c.Dir = filepath.Join(work, strconv.Itoa(n))
				start := time.Now()
				inst, failed, err := actionloop.Start(ctx, l, &c)
				if err != nil || failed != nil {
					b.Fatal(err, failed)
				}
				out, err := inst.Run(ctx, req)
				took := time.Since(start)
				if err != nil || out.Response.StatusCode != 0 {
					b.Fatal(err, out)
				}
				if err := inst.Stop(); err != nil {
					b.Fatal(err)
				}
				return took
			}
			cold() // fills the caches: the go compiler's, the OS's
			var times []time.Duration
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				times = append(times, cold())
				b.StartTimer()
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(times[len(times)*9/10].Microseconds())/1000, "ms-p90")
		})
	}
}

func goLauncher(b *testing.B, work string) *actionloop.Launcher {
	goExe, version := goToolchain(b)
	c := golauncher.NewCompiler(golauncher.Options{
		Go: goExe, Version: version, CacheDir: filepath.Join(work, "go"), Env: os.Environ(),
	})
	return c.Launcher([]string{"PATH=/usr/bin:/bin"})
}

func goToolchain(tb testing.TB) (string, string) {
	tb.Helper()
	goExe, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("no go toolchain")
	}
	out, err := exec.Command(goExe, "env", "GOVERSION").Output()
	if err != nil {
		tb.Fatal(err)
	}
	return goExe, strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
}

// prebuiltZip compiles src with the launcher and returns a base64 zip
// holding the exec.
func prebuiltZip(tb testing.TB, src string) string {
	tb.Helper()
	goExe, version := goToolchain(tb)
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(mustRead(src)), 0o600); err != nil {
		tb.Fatal(err)
	}
	o := golauncher.Options{Go: goExe, Version: version, Env: os.Environ()}
	if err := golauncher.Compile(context.Background(), o, dir, "main"); err != nil {
		tb.Fatal(err)
	}
	exe, err := os.ReadFile(filepath.Join(dir, "exec"))
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "exec", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(exe)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
