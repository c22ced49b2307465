package actionloop

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// feedTagged is feed for a tagLogs.
func feedTagged(t *testing.T, b *tagLogs, s stream, writes ...string) {
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

func TestTagLogs(t *testing.T) {
	tag := func(id string) string { return "\x1f" + id + "\x1f" }
	long := strings.Repeat("z", 200<<10)
	b := newTagLogs(1000)
	// The init's lines are untagged; once ready, untagged lines are strays.
	feedTagged(t, b, stderr, "loading\n")
	if diff := cmp.Diff([]string{"stderr: loading", "stderr: " + MsgLogsIncomplete}, text(t, b.collect(0, true))); diff != "" {
		t.Errorf("init logs (-want +got):\n%s", diff)
	}
	b.ready()
	b.open(1)
	b.open(2)
	feedTagged(t, b, stdout,
		tag("1")+"one ✓\n"+tag("2")+"two\n"+"stray\n"+tag("3")+"not running\n",
		tag("2")+long+"\n",
		tag("1")+Sentinel+"\n"+tag("2")+"after\n"+tag("2")+Sentinel+"\n")
	if !b.wait(1, false, time.Second) || !b.wait(2, false, time.Second) {
		t.Fatal("wait did not see the sentinels")
	}
	if diff := cmp.Diff([]string{"stdout: one ✓"}, text(t, b.collect(1, false))); diff != "" {
		t.Errorf("activation 1 (-want +got):\n%s", diff)
	}
	// Past the limit nothing more is kept, as OpenWhisk stops there.
	want := []string{"stdout: two", "stderr: " + LogsTruncatedMessage(1000)}
	if diff := cmp.Diff(want, text(t, b.collect(2, false))); diff != "" {
		t.Errorf("activation 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{}, text(t, b.collect(0, false))); diff != "" {
		t.Errorf("after ready, untagged lines were kept (-want +got):\n%s", diff)
	}
}

func TestParseTag(t *testing.T) {
	tests := []struct {
		in     string
		id     uint64
		n      int
		wantOK bool
	}{
		{"\x1f12\x1ftext", 12, 4, true},
		{"\x1f12\x1f", 12, 4, true},
		{"\x1f\x1ftext", 0, 0, false},
		{"\x1fab\x1ftext", 0, 0, false},
		{"12\x1ftext", 0, 0, false},
		{"\x1f" + strings.Repeat("9", 30) + "\x1f", 0, 0, false},
	}
	for _, tt := range tests {
		id, n, ok := parseTag([]byte(tt.in))
		if ok != tt.wantOK || (ok && (id != tt.id || n != tt.n)) {
			t.Errorf("parseTag(%q) = %d, %d, %v; want %d, %d, %v", tt.in, id, n, ok, tt.id, tt.n, tt.wantOK)
		}
	}
}
