package actionloop

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// The concurrent protocol. An instance whose Capacity is above 1 runs its
// launcher with __OW_ALLOW_CONCURRENT=true and tags everything with a
// number it picks per activation: each stdin line is "<n> <request>", each
// fd-3 line "<n> <result>", and each line of output the activation writes
// starts with tagMark <n> tagMark; its sentinel lines too. Untagged output
// is kept until the launcher is ready (it belongs to the init) and dropped
// afterwards.
const tagMark = '\x1f'

// tagLen bounds the tag of a line: two marks and a uint64.
const tagLen = 22

// parseTag reads the activation tag at the start of b.
func parseTag(b []byte) (id uint64, n int, ok bool) {
	if len(b) < 3 || b[0] != tagMark {
		return 0, 0, false
	}
	end := bytes.IndexByte(b[1:min(len(b), tagLen)], tagMark)
	if end < 1 {
		return 0, 0, false
	}
	id, err := strconv.ParseUint(string(b[1:1+end]), 10, 64)
	return id, end + 2, err == nil
}

// tagLogs holds the logs of a concurrent instance's activations.
type tagLogs struct {
	mu      sync.Mutex
	limit   int64
	acts    map[uint64]*tagged
	initial *logBucket // untagged lines until the launcher is ready; nil after
	eof     [2]bool
	lines   uint64        // lines read so far, to tell a slow stream from a stuck one
	wake    chan struct{} // closed and replaced on every sentinel and end of file
}

type tagged struct {
	logBucket
	sent [2]bool
}

func newTagLogs(limit int64) *tagLogs {
	return &tagLogs{limit: limit, acts: map[uint64]*tagged{}, initial: &logBucket{}, wake: make(chan struct{})}
}

func (b *tagLogs) line(s stream, t time.Time, text, head []byte, dropped bool) {
	tag := text
	if dropped {
		tag = head
	}
	id, n, ok := parseTag(tag)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines++
	if !ok {
		switch {
		case b.initial == nil:
		case dropped:
			b.initial.truncated = true
		default:
			b.initial.keep(b.limit, s, t, text)
		}
		return
	}
	a := b.acts[id]
	if a == nil {
		return // not running: a stray line after its end
	}
	if dropped {
		a.truncated = true
		if bytes.HasSuffix(text, sentinelBytes) {
			a.sent[s] = true
			b.broadcast()
		}
		return
	}
	text = text[n:]
	if bytes.HasSuffix(text, sentinelBytes) {
		if text = text[:len(text)-len(Sentinel)]; len(text) > 0 {
			a.keep(b.limit, s, t, text)
		}
		a.sent[s] = true
		b.broadcast()
		return
	}
	a.keep(b.limit, s, t, text)
}

func (b *tagLogs) closed(s stream) {
	b.mu.Lock()
	b.eof[s] = true
	b.broadcast()
	b.mu.Unlock()
}

func (b *tagLogs) broadcast() {
	close(b.wake)
	b.wake = make(chan struct{})
}

func (b *tagLogs) streamLimit() int64 {
	if b.limit < 0 {
		return b.limit
	}
	return b.limit + tagLen
}

// readStream is readStream for a tagged stream: the drop limit leaves room
// for the tag.
func (b *tagLogs) readStream(s stream, f *os.File) {
	limit := b.limit
	if limit >= 0 {
		limit += tagLen
	}
	readStream(b, limit, s, f)
}

// ready ends the init: untagged lines are dropped from now on.
func (b *tagLogs) ready() {
	b.mu.Lock()
	b.initial = nil
	b.mu.Unlock()
}

// open starts collecting the lines tagged id.
func (b *tagLogs) open(id uint64) {
	b.mu.Lock()
	b.acts[id] = &tagged{}
	b.mu.Unlock()
}

// ended reports whether both streams passed id's sentinel (or, with
// eofOnly, reached end of file), how many lines have been read and what to
// wait on for a change.
func (b *tagLogs) ended(id uint64, eofOnly bool) (bool, uint64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.acts[id]
	for s := range b.eof {
		if !b.eof[s] && (eofOnly || a == nil || !a.sent[s]) {
			return false, b.lines, b.wake
		}
	}
	return true, b.lines, b.wake
}

// wait is logBuffer.wait for the lines tagged id.
func (b *tagLogs) wait(id uint64, eofOnly bool, idle time.Duration) bool {
	ok, seen, wake := b.ended(id, eofOnly)
	if ok {
		return true
	}
	giveUp := time.Now().Add(maxWait)
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case <-wake:
			if ok, _, wake = b.ended(id, eofOnly); ok {
				return true
			}
		case now := <-t.C:
			var n uint64
			ok, n, wake = b.ended(id, eofOnly)
			if ok || n == seen || now.After(giveUp) {
				return ok
			}
			seen = n
			t.Reset(idle)
		}
	}
}

// collect takes id's lines with OpenWhisk's notices appended and stops
// collecting them. id 0 takes the untagged lines of the init.
func (b *tagLogs) collect(id uint64, devErr bool) []string {
	b.mu.Lock()
	var k logBucket
	if id == 0 {
		if b.initial != nil {
			k = *b.initial
			b.initial = &logBucket{}
		}
	} else if a := b.acts[id]; a != nil {
		k = a.logBucket
		delete(b.acts, id)
	}
	b.mu.Unlock()
	return k.finish(b.limit, devErr)
}

// waitEOF waits for both streams to end, for as long as lines keep coming.
func (b *tagLogs) waitEOF(idle time.Duration) bool { return b.wait(0, true, idle) }

func (b *tagLogs) drainAll(*time.Timer) { b.waitEOF(drainWait) }

// initLogs takes the untagged lines of the init.
func (b *tagLogs) initLogs() []string { return b.collect(0, true) }

// concurrentRunner runs several activations at once on a launcher that
// speaks the tagged protocol.
type concurrentRunner struct {
	*process
	logs *tagLogs
	mux  *mux
}

// loaded ends the init's logs and starts routing results.
func (c *concurrentRunner) loaded() {
	c.logs.ready()
	c.readers.Add(1)
	go func() { defer c.readers.Done(); c.readResults() }()
}

// mux routes the results of a concurrent instance to the runs waiting for
// them.
type mux struct {
	slots chan struct{} // one per activation in flight
	write sync.Mutex    // one request line at a time on stdin

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan muxResult
	dead    bool // the result pipe ended
}

// muxResult is a result line without its tag; a nil line is the end of
// the result pipe.
type muxResult struct {
	line []byte
	n    int
}

func newMux(capacity int) *mux {
	return &mux{slots: make(chan struct{}, capacity), waiting: map[uint64]chan muxResult{}}
}

// register picks the next activation number and the channel its result
// arrives on.
func (m *mux) register() (uint64, chan muxResult) {
	ch := make(chan muxResult, 1)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	if m.dead {
		ch <- muxResult{}
	} else {
		m.waiting[m.next] = ch
	}
	return m.next, ch
}

func (m *mux) unregister(id uint64) {
	m.mu.Lock()
	delete(m.waiting, id)
	m.mu.Unlock()
}

func (m *mux) deliver(id uint64, r muxResult) {
	m.mu.Lock()
	ch := m.waiting[id]
	delete(m.waiting, id)
	m.mu.Unlock()
	if ch != nil {
		ch <- r // buffered, and delivered once
	}
}

// fail ends every waiting run: the result pipe is gone.
func (m *mux) fail() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dead = true
	for id, ch := range m.waiting {
		ch <- muxResult{}
		delete(m.waiting, id)
	}
}

// readResults hands the tagged result lines to their runs until the result
// pipe ends.
func (c *concurrentRunner) readResults() {
	for {
		line, n, err := c.readResult(time.Time{})
		if err != nil {
			c.mux.fail()
			return
		}
		sp := bytes.IndexByte(line[:min(len(line), tagLen)], ' ')
		if sp < 1 {
			continue // not a tagged result: nobody can claim it
		}
		id, err := strconv.ParseUint(string(line[:sp]), 10, 64)
		if err != nil {
			continue
		}
		c.mux.deliver(id, muxResult{line: bytes.Clone(line[sp+1:]), n: n - sp - 1})
	}
}

// run is Run on an instance that takes several activations at once. A run
// past its limit kills the instance, and with it the others in flight,
// which then fail as if the action had exited.
func (c *concurrentRunner) run(ctx context.Context, r *Request) (*Outcome, error) {
	select {
	case c.mux.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.mux.slots }()
	switch {
	case c.stopping.Load():
		return nil, ErrStopped
	case !c.ok.Load():
		return nil, ErrUnusable
	}
	start := time.Now()
	var limit time.Time
	if c.timeout > 0 {
		limit = start.Add(c.timeout)
	}
	deadline := r.Deadline
	if deadline.IsZero() {
		deadline = limit
	}
	id, ch := c.mux.register()
	defer c.mux.unregister(id)
	c.logs.open(id)
	req := strconv.AppendUint(make([]byte, 0, 256+len(r.Value)), id, 10)
	req = appendRequest(append(req, ' '), r, deadline)

	c.mux.write.Lock()
	err := c.stdin.SetWriteDeadline(limit)
	if err == nil {
		_, err = c.stdin.Write(req)
	}
	c.mux.write.Unlock()
	var expired <-chan time.Time
	if !limit.IsZero() {
		t := time.NewTimer(time.Until(limit))
		defer t.Stop()
		expired = t.C
	}

	var res muxResult
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return c.failure(id, start, DeveloperError(RunTimeoutMessage(c.timeout)), true)
	case err != nil:
		res = muxResult{} // the launcher is gone: read it as the end of the results
	default:
		select {
		case res = <-ch:
		case <-expired:
			return c.failure(id, start, DeveloperError(RunTimeoutMessage(c.timeout)), true)
		case <-ctx.Done():
			c.ok.Store(false)
			c.kill()
			_ = c.logs.collect(id, true) // nobody reads them
			return nil, ctx.Err()
		}
	}
	if res.line == nil {
		if c.stopping.Load() {
			_ = c.logs.collect(id, true) // nobody reads them
			return nil, ErrStopped
		}
		return c.failure(id, start, DeveloperError(MsgRunExited), false)
	}
	resp := ResponseOf(res.line, res.n)
	devErr := resp.StatusCode == whisk.StatusDeveloperError
	if !c.logs.wait(id, false, sentinelWait) || devErr {
		c.ok.Store(false)
	}
	return &Outcome{Start: start, End: time.Now(), Response: resp, Logs: c.logs.collect(id, devErr)}, nil
}

// concurrentFailure kills the instance and reports resp with id's logs.
func (c *concurrentRunner) failure(id uint64, start time.Time, resp whisk.Response, timedOut bool) (*Outcome, error) {
	c.ok.Store(false)
	c.kill()
	c.logs.waitEOF(drainWait)
	return &Outcome{Start: start, End: time.Now(), Response: resp, Logs: c.logs.collect(id, true), Timeout: timedOut}, nil
}
