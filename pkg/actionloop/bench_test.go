package actionloop_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
)

func requireInterpreter(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err != nil {
		tb.Skipf("%s not on PATH", name)
	}
}

// BenchmarkWarmRun measures one warm activation of a no-op Node.js action
// through Instance.Run: request line, result line, sentinels, logs.
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
