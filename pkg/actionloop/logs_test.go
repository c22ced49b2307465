package actionloop

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAppendTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), "2024-01-02T03:04:05.000000006Z"},
		{time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)), "1999-12-31T22:59:59.999999999Z"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "10000-01-01T00:00:00.000000000Z"},
	}
	for _, tt := range tests {
		if got := string(appendTimestamp(nil, tt.in)); got != tt.want {
			t.Errorf("appendTimestamp(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := string(appendTimestamp(nil, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))); len(got) != timestampWidth {
		t.Errorf("timestamp %q has width %d, want %d", got, len(got), timestampWidth)
	}
}

var lineRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr): `)

// feed runs readStream over a pipe that gets the given writes, then closes.
func feed(t *testing.T, b *logBuffer, s stream, writes ...string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); b.readStream(s, r) }()
	for _, p := range writes {
		if _, err := w.WriteString(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	_ = r.Close() // read end, nothing to flush
}

func text(t *testing.T, lines []string) []string {
	t.Helper()
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		m := lineRE.FindString(l)
		if m == "" {
			t.Fatalf("log line %q does not match %s", l, lineRE)
		}
		out = append(out, l[len(m)-len("stdout: "):])
	}
	return out
}

// activations feeds a pipe reader: each element of writes is one
// activation's output, written in full, then settled and collected.
func activations(t *testing.T, limit int64, writes [][]string) [][]string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	b := newLogBuffer(limit)
	p := newPipeReader(b, limit, stdout, r)
	done := make(chan struct{})
	go func() { defer close(done); p.run() }()
	var got [][]string
	for _, act := range writes {
		for _, s := range act { // a write beyond the pipe's capacity waits for the reader
			if _, err := w.WriteString(s); err != nil {
				t.Fatal(err)
			}
		}
		p.settle()
		got = append(got, text(t, b.collect(false)))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	return got
}

func TestSettleCutsActivations(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than a pipe and a read
	tests := []struct {
		name   string
		limit  int64
		writes [][]string // per activation
		want   [][]string
	}{
		{
			name:   "activations split where their results came",
			limit:  -1,
			writes: [][]string{{"a\n\nb ✓ \u2028 привет\n"}, {"c\n"}, {}},
			want:   [][]string{{"stdout: a", "stdout: ", "stdout: b ✓ \u2028 привет"}, {"stdout: c"}, {}},
		},
		{
			name:   "text without newline ends with its activation",
			limit:  -1,
			writes: [][]string{{"part", "ial"}, {"last without newline"}},
			want:   [][]string{{"stdout: partial"}, {"stdout: last without newline"}},
		},
		{
			name:   "long lines",
			limit:  -1,
			writes: [][]string{{long[:100<<10], long[100<<10:] + "\n"}, {}},
			want:   [][]string{{"stdout: " + long}, {}},
		},
		{
			name:   "truncation",
			limit:  10,
			writes: [][]string{{"12345\n123456\n1\n"}, {"ok\n"}},
			want: [][]string{
				{"stdout: 12345", "stderr: Logs were truncated because the total bytes size exceeds the limit of 10 bytes."},
				{"stdout: ok"},
			},
		},
		{
			name:   "line over the limit is not kept",
			limit:  1000,
			writes: [][]string{{long + "\n"}, {"after\n"}},
			want: [][]string{
				{"stderr: Logs were truncated because the total bytes size exceeds the limit of 1000 bytes."},
				{"stdout: after"},
			},
		},
		{
			name:   "sentinels of an older launcher are cut out",
			limit:  -1,
			writes: [][]string{{"a\n" + Sentinel + "\n"}, {"b" + Sentinel + "\n"}},
			want:   [][]string{{"stdout: a"}, {"stdout: b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := activations(t, tt.limit, tt.writes)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("activations' logs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSettleRacesNoLine writes many activations' lines as fast as it can
// while the reader runs: every line must land in its own activation.
func TestSettleRacesNoLine(t *testing.T) {
	var writes [][]string
	var want [][]string
	for i := range 2000 {
		l := strings.Repeat("y", i%300)
		writes = append(writes, []string{l + "\n", "z\n"})
		want = append(want, []string{"stdout: " + l, "stdout: z"})
	}
	if diff := cmp.Diff(want, activations(t, -1, writes)); diff != "" {
		t.Errorf("activations' logs (-want +got):\n%s", diff)
	}
}

func TestReadStreamToEOF(t *testing.T) {
	b := newLogBuffer(-1)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	feed(t, b, stdout, "out\nno newline")
	if b.waitEOF(timer, time.Millisecond) {
		t.Fatal("waitEOF reported both streams ended with only stdout's")
	}
	feed(t, b, stderr, "err\n")
	if !b.waitEOF(timer, time.Second) {
		t.Fatal("waitEOF did not see both ends")
	}
	got := text(t, b.collect(true))
	want := []string{"stdout: out", "stdout: no newline", "stderr: err", "stderr: The action did not initialize or run as expected. Log data might be missing."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}
