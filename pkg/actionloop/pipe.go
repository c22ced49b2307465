package actionloop

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// pipeReader cuts one of a launcher's output streams into lines for a
// sink. Its mutex is held from the moment a read takes bytes out of the
// pipe until they are cut into lines, so settle, holding it too, sees
// every byte either still in the pipe or already handed to the sink:
// that is how the line protocol knows an activation's output is complete
// without end-of-activation sentinels (everything a launcher writes before
// its result is in the pipe when the result arrives).
type pipeReader struct {
	sink  lineSink
	s     stream
	limit int64 // a line longer than this (when not negative) is dropped
	f     *os.File
	rc    syscall.RawConn

	mu  sync.Mutex
	buf []byte
	eof bool

	// The line being cut.
	part    []byte // its bytes so far, or only its tail once dropped
	head    []byte // its first headLen bytes, once dropped
	n       int64  // its length so far
	dropped bool
	t       time.Time // when its first bytes were read
}

// pipeReadSize is how much one read takes out of a pipe: a Linux pipe's
// default capacity.
const pipeReadSize = 64 << 10

func newPipeReader(sink lineSink, limit int64, s stream, f *os.File) *pipeReader {
	p := &pipeReader{sink: sink, s: s, limit: limit, f: f, buf: make([]byte, pipeReadSize)}
	if rc, err := f.SyscallConn(); err == nil {
		p.rc = rc
	}
	return p
}

// run reads until end of file, then closes the file.
func (p *pipeReader) run() {
	defer p.f.Close()
	if p.rc == nil {
		p.mu.Lock()
		p.end()
		p.mu.Unlock()
		return
	}
	for {
		var ended bool
		err := p.rc.Read(func(fd uintptr) bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			again, end := p.readLocked(fd)
			ended = end
			return !again
		})
		if err != nil || ended {
			p.mu.Lock()
			p.end()
			p.mu.Unlock()
			return
		}
	}
}

// readLocked reads once from the pipe and cuts what it got: again means
// the pipe was empty, end that it reached end of file.
func (p *pipeReader) readLocked(fd uintptr) (again, end bool) {
	if p.eof {
		return false, true
	}
	n, err := syscall.Read(int(fd), p.buf)
	switch {
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
		return true, false
	case n > 0:
		p.cut(p.buf[:n], time.Now())
		if cap(p.part) > 1<<20 && p.n == 0 {
			p.part = nil
		}
		return false, false
	}
	p.end()
	return false, true
}

// settle takes what is in the pipe now, without waiting for more, and
// ends a line left without its newline: after it, the sink holds every
// byte written to the pipe before settle was called.
func (p *pipeReader) settle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.eof {
		return
	}
	if p.rc != nil {
		// A launcher that keeps writing cannot hold settle: a few reads
		// take what was there when it began.
		_ = p.rc.Control(func(fd uintptr) {
			for range 16 {
				if again, end := p.readLocked(fd); again || end {
					return
				}
			}
		})
	}
	if !p.eof && p.n > 0 {
		p.emit()
	}
}

// cut adds b, read at t, to the lines being cut.
func (p *pipeReader) cut(b []byte, t time.Time) {
	for len(b) > 0 {
		if p.n == 0 {
			p.t = t
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.add(b)
			return
		}
		p.add(b[:i])
		p.emit()
		b = b[i+1:]
	}
}

// add appends to the current line; past the limit it keeps only the
// line's head and the tail that may hold a sentinel.
func (p *pipeReader) add(b []byte) {
	p.n += int64(len(b))
	p.part = append(p.part, b...)
	if p.limit >= 0 && p.n > p.limit+int64(len(Sentinel)) && len(p.part) > len(Sentinel) {
		if !p.dropped {
			p.head = append(p.head[:0], p.part[:min(len(p.part), headLen)]...)
		}
		p.dropped = true
		copy(p.part, p.part[len(p.part)-len(Sentinel):])
		p.part = p.part[:len(Sentinel)]
	}
}

// emit hands the current line to the sink, even an empty one.
func (p *pipeReader) emit() {
	p.sink.line(p.s, p.t, p.part, p.head, p.dropped)
	p.part, p.n, p.dropped = p.part[:0], 0, false
}

// end hands over a last line without its newline and the end of file.
func (p *pipeReader) end() {
	if p.eof {
		return
	}
	if p.n > 0 {
		p.emit()
	}
	p.eof = true
	p.sink.closed(p.s)
}

// readStream cuts f into lines for sink until end of file; a line longer
// than limit (when not negative) is dropped, keeping only its head and
// tail.
func readStream(sink lineSink, limit int64, s stream, f *os.File) {
	newPipeReader(sink, limit, s, f).run()
}
