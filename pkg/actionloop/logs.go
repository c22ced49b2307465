package actionloop

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type stream int

const (
	stdout stream = iota
	stderr
)

var streamTags = [2]string{" stdout: ", " stderr: "}

// timestampWidth is the width timestamps are left-justified to.
const timestampWidth = 30

// logBuffer holds the log lines of an instance's current activation. Two
// reader goroutines add to it; the running activation collects from it,
// once the readers have settled (pipeReader.settle): every line read by
// then is the activation's.
type logBuffer struct {
	mu    sync.Mutex
	limit int64 // text bytes kept per activation; negative: all
	eof   [2]bool
	cur   logBucket // lines of the activation in flight
	lines uint64    // lines read so far, to tell a slow stream from a stuck one
	wake  chan struct{}
}

type logBucket struct {
	lines     []string
	bytes     int64
	truncated bool
}

func newLogBuffer(limit int64) *logBuffer {
	return &logBuffer{limit: limit, wake: make(chan struct{}, 1)}
}

// add stores a line of text read at t, unless the activation's logs are
// already over the limit.
func (b *logBuffer) add(s stream, t time.Time, text []byte) {
	b.mu.Lock()
	b.lines++
	b.cur.keep(b.limit, s, t, text)
	b.mu.Unlock()
}

// keep stores a line of text read at t, unless the bucket is already over
// limit bytes (none when negative).
func (k *logBucket) keep(limit int64, s stream, t time.Time, text []byte) {
	switch {
	case k.truncated:
	case limit >= 0 && k.bytes+int64(len(text)) > limit:
		k.truncated = true
	default:
		k.bytes += int64(len(text))
		k.lines = append(k.lines, formatLine(t, s, text))
	}
}

// finish returns the bucket's lines in time order with OpenWhisk's notices
// appended: the truncation line past limit, the warning after a developer
// error.
func (k *logBucket) finish(limit int64, devErr bool) []string {
	lines := k.lines
	sortByTime(lines)
	if k.truncated {
		lines = append(lines, formatLine(time.Now(), stderr, []byte(LogsTruncatedMessage(limit))))
	}
	if devErr {
		lines = append(lines, formatLine(time.Now(), stderr, []byte(MsgLogsIncomplete)))
	}
	if lines == nil {
		lines = []string{}
	}
	return lines
}

// drop records a line too long to keep.
func (b *logBuffer) drop(s stream) {
	b.mu.Lock()
	b.lines++
	b.cur.truncated = true
	b.mu.Unlock()
}

func (b *logBuffer) closed(s stream) {
	b.mu.Lock()
	b.eof[s] = true
	b.mu.Unlock()
	b.notify()
}

func (b *logBuffer) notify() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// ended reports whether both streams reached end of file, and how many
// lines have been read.
func (b *logBuffer) ended() (bool, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof[stdout] && b.eof[stderr], b.lines
}

// waitEOF waits for both streams to end as long as lines keep coming,
// giving up once they are quiet for idle or after maxWait in all. t is a
// stopped timer it may use.
func (b *logBuffer) waitEOF(t *time.Timer, idle time.Duration) bool {
	ok, seen := b.ended()
	if ok {
		return true
	}
	giveUp := time.Now().Add(maxWait)
	t.Reset(idle)
	defer t.Stop()
	for {
		select {
		case <-b.wake:
			if ok, _ = b.ended(); ok {
				return true
			}
		case now := <-t.C:
			ok, n := b.ended()
			if ok || n == seen || now.After(giveUp) {
				return ok
			}
			seen = n
			t.Reset(idle)
		}
	}
}

// collect takes the current activation's lines with OpenWhisk's notices
// appended and moves on to the next activation.
func (b *logBuffer) collect(devErr bool) []string {
	b.mu.Lock()
	k := b.cur
	b.cur = logBucket{}
	b.mu.Unlock()
	return k.finish(b.limit, devErr)
}

// sortByTime orders lines by their timestamps: the two streams' readers
// stamp lines before they take the lock, so neighbours may be swapped.
func sortByTime(lines []string) {
	for i := 1; i < len(lines); i++ {
		if lines[i][:timestampWidth] < lines[i-1][:timestampWidth] {
			slices.SortStableFunc(lines, func(a, b string) int { return strings.Compare(a[:timestampWidth], b[:timestampWidth]) })
			return
		}
	}
}

// formatLine renders "<timestamp> <stream>: <text>".
func formatLine(t time.Time, s stream, text []byte) string {
	var sb strings.Builder
	sb.Grow(timestampWidth + len(streamTags[s]) + len(text))
	var ts [40]byte
	sb.Write(appendTimestamp(ts[:0], t))
	sb.WriteString(streamTags[s])
	sb.Write(text)
	return sb.String()
}

// StderrLine is text as a log line the action wrote on stderr at t, e.g.
// for a failure of the runtime around the action that its record should
// show.
func StderrLine(t time.Time, text string) string {
	return formatLine(t, stderr, []byte(text))
}

// ContainerOutput is what an OpenWhisk action container writes for one
// activation with these log lines: each line's text on the stream it came
// from, then the sentinel line on each stream, as OpenWhisk's invoker
// reads a container's output.
func ContainerOutput(lines []string) (stdoutText, stderrText []byte) {
	var out, errs bytes.Buffer
	for _, l := range lines {
		if len(l) < timestampWidth {
			continue
		}
		switch rest := l[timestampWidth:]; {
		case strings.HasPrefix(rest, streamTags[stdout]):
			out.WriteString(rest[len(streamTags[stdout]):] + "\n")
		case strings.HasPrefix(rest, streamTags[stderr]):
			errs.WriteString(rest[len(streamTags[stderr]):] + "\n")
		}
	}
	out.WriteString(Sentinel + "\n")
	errs.WriteString(Sentinel + "\n")
	return out.Bytes(), errs.Bytes()
}

// appendTimestamp appends t as RFC 3339 UTC with nine fractional digits,
// left-justified to timestampWidth.
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		n := len(b)
		b = t.AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
		for len(b)-n < timestampWidth {
			b = append(b, ' ')
		}
		return b
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

func appendDigits(b []byte, v, width int) []byte {
	n := len(b)
	for range width {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= n; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

var sentinelBytes = []byte(Sentinel)

// headLen is how much of a dropped line's start is kept: enough for the
// activation tag of the concurrent protocol.
const headLen = 32

// lineSink takes the lines a stream reader cuts.
type lineSink interface {
	// line stores one line read at t, without its newline. A dropped
	// line was longer than the log limit: text then holds only its last
	// bytes and head its first headLen bytes.
	line(s stream, t time.Time, text, head []byte, dropped bool)
	// closed records the stream's end of file.
	closed(s stream)
}

// readStream turns one of the launcher's output streams into log lines
// until end of file. Lines may be of any length; a line longer than the log
// limit is dropped without being held in memory.
func (b *logBuffer) readStream(s stream, f *os.File) { readStream(b, b.limit, s, f) }

func (b *logBuffer) streamLimit() int64 { return b.limit }

// line keeps a line for the activation in flight. A launcher of the line
// protocol writes no sentinels; one that still does (a Go action binary
// cached by an older kwhisk) has them cut out, as they only ever came
// before its result.
func (b *logBuffer) line(s stream, t time.Time, text, _ []byte, dropped bool) {
	sentinel := bytes.HasSuffix(text, sentinelBytes)
	if sentinel {
		text = text[:len(text)-len(Sentinel)]
	}
	switch {
	case dropped:
		b.drop(s)
	case !sentinel || len(text) > 0:
		b.add(s, t, text)
	}
}

func (b *logBuffer) drainAll(t *time.Timer) { b.waitEOF(t, drainWait) }

func (b *logBuffer) initLogs() []string { return b.collect(true) }
