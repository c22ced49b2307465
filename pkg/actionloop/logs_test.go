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

func TestReadStream(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	tests := []struct {
		name   string
		limit  int64
		writes []string
		want   [][]string // per collected activation, after the sentinels
	}{
		{
			name:   "activations split at sentinels",
			limit:  -1,
			writes: []string{"a\n\nb ✓ \u2028 привет\n", Sentinel + "\nc\n", Sentinel + "\n"},
			want:   [][]string{{"stdout: a", "stdout: ", "stdout: b ✓ \u2028 привет"}, {"stdout: c"}},
		},
		{
			name:   "sentinel after text without newline",
			limit:  -1,
			writes: []string{"partial", Sentinel + "\n", "last without newline"},
			want:   [][]string{{"stdout: partial"}, {"stdout: last without newline"}},
		},
		{
			name:   "long lines",
			limit:  -1,
			writes: []string{long[:100<<10], long[100<<10:] + "\n" + Sentinel + "\n"},
			want:   [][]string{{"stdout: " + long}, nil},
		},
		{
			name:   "truncation",
			limit:  10,
			writes: []string{"12345\n123456\n1\n" + Sentinel + "\n", "ok\n"},
			want: [][]string{
				{"stdout: 12345", "stderr: Logs were truncated because the total bytes size exceeds the limit of 10 bytes."},
				{"stdout: ok"},
			},
		},
		{
			name:   "line over the limit is not kept, its sentinel counts",
			limit:  1000,
			writes: []string{long + Sentinel + "\n", "after\n"},
			want: [][]string{
				{"stderr: Logs were truncated because the total bytes size exceeds the limit of 1000 bytes."},
				{"stdout: after"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLogBuffer(tt.limit)
			feed(t, b, stdout, tt.writes...)
			var got [][]string
			for range tt.want {
				got = append(got, text(t, b.collect(false)))
			}
			want := tt.want
			for i := range want {
				if want[i] == nil {
					want[i] = []string{}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("activations' logs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWaitForSentinels(t *testing.T) {
	b := newLogBuffer(-1)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	feed(t, b, stdout, "out\n"+Sentinel+"\nnext\n")
	if b.wait(false, timer, time.Millisecond) {
		t.Fatal("wait reported both sentinels with only stdout's seen")
	}
	feed(t, b, stderr, "err\n"+Sentinel+"\n")
	if !b.wait(false, timer, time.Second) {
		t.Fatal("wait did not see both sentinels")
	}
	got := text(t, b.collect(true))
	want := []string{"stdout: out", "stderr: err", "stderr: The action did not initialize or run as expected. Log data might be missing."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"stdout: next"}, text(t, b.collect(false))); diff != "" {
		t.Errorf("next activation's logs (-want +got):\n%s", diff)
	}
}
