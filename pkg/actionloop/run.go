package actionloop

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Run sends one activation to the launcher and waits for its result, at
// most the instance's time limit from now. User-code failures come back as
// an Outcome with a developer-error response, after which the instance is
// unusable. The error is ctx's when ctx ended first (the activation may
// have run; the instance is then unusable), ErrStopped when Stop ended the
// instance, or ErrUnusable once the instance has reported itself unusable.
// (A process that died since the last run is not detected up front: the
// run fails as the activation would, with a developer error.)
//
// Up to Capacity runs may be in flight at once, each with its own logs;
// more wait for a slot, until ctx ends.
func (i *Instance) Run(ctx context.Context, r *Request) (*Outcome, error) { return i.r.run(ctx, r) }

// lineRunner runs one activation at a time over the line protocol.
type lineRunner struct {
	*process
	logs  *logBuffer
	runMu sync.Mutex // serializes run; guards req and the process's line and timer
	req   []byte     // request line buffer
	// writeDeadline: the stdin pipe has a write deadline set.
	writeDeadline bool
}

func (l *lineRunner) loaded() {}

func (l *lineRunner) run(ctx context.Context, r *Request) (*Outcome, error) {
	l.runMu.Lock()
	defer l.runMu.Unlock()
	if !l.ok.Load() {
		return nil, ErrUnusable
	}
	start := time.Now()
	var limit time.Time
	if l.timeout > 0 {
		limit = start.Add(l.timeout)
	}
	deadline := r.Deadline
	if deadline.IsZero() {
		deadline = limit
	}
	l.req = appendRequest(l.req[:0], r, deadline)

	stop := l.interruptOn(ctx)
	line, n, err := l.exchange(limit)
	if !stop() {
		l.writeDeadline = true // the interruption's, in the past: the next run clears it
	}
	if cap(l.req) > 256<<10 {
		l.req = nil // do not keep a large payload's buffer around
	}

	var resp whisk.Response
	timedOut := false
	switch {
	case err == nil:
		resp = ResponseOf(line, n)
		if cap(l.line) > 256<<10 {
			l.line = nil
		}
		devErr := resp.StatusCode == whisk.StatusDeveloperError
		// Everything the activation wrote before its result is in the
		// pipes or already read: settling takes it, without a wait.
		l.pipes[stdout].settle()
		l.pipes[stderr].settle()
		if devErr {
			l.ok.Store(false)
		}
		return &Outcome{Start: start, End: time.Now(), Response: resp, Logs: l.logs.collect(devErr)}, nil
	case l.stopping.Load():
		return nil, ErrStopped
	case ctx.Err() != nil:
		l.ok.Store(false)
		l.kill()
		return nil, ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		resp, timedOut = DeveloperError(RunTimeoutMessage(l.timeout)), true
	default:
		resp = DeveloperError(MsgRunExited)
	}
	l.ok.Store(false)
	l.kill()
	l.logs.waitEOF(l.timer, drainWait)
	return &Outcome{Start: start, End: time.Now(), Response: resp, Logs: l.logs.collect(true), Timeout: timedOut}, nil
}

// smallRequest is the longest request line written without a deadline:
// the launcher read the previous line before it answered, so the pipe is
// empty and a line that fits its smallest capacity (one page, which Linux
// gives pipes once a user holds too many) cannot block. A deadline costs
// a timer update per run, which showed in the gateway's profile.
const smallRequest = 4096

// exchange writes the request line and reads the result line.
func (l *lineRunner) exchange(limit time.Time) ([]byte, int, error) {
	switch {
	case len(l.req) > smallRequest:
		if err := l.stdin.SetWriteDeadline(limit); err != nil {
			return nil, 0, err
		}
		l.writeDeadline = !limit.IsZero()
	case l.writeDeadline: // a larger request's deadline must not fire on this one
		if err := l.stdin.SetWriteDeadline(time.Time{}); err != nil {
			return nil, 0, err
		}
		l.writeDeadline = false
	}
	if _, err := l.stdin.Write(l.req); err != nil {
		return nil, 0, err
	}
	return l.readResult(limit)
}

// appendRequest renders the request line the launcher reads on stdin.
func appendRequest(b []byte, r *Request, deadline time.Time) []byte {
	b = append(b, `{"value":`...)
	b = appendValue(b, r.Value)
	b = append(b, `,"namespace":`...)
	b = appendString(b, r.Namespace)
	b = append(b, `,"action_name":`...)
	b = appendString(b, r.ActionName)
	b = append(b, `,"action_version":`...)
	b = appendString(b, r.ActionVersion)
	b = append(b, `,"activation_id":`...)
	b = appendString(b, string(r.ActivationID))
	b = append(b, `,"transaction_id":`...)
	b = appendString(b, r.TransactionID)
	if !deadline.IsZero() {
		b = append(b, `,"deadline":"`...)
		b = strconv.AppendInt(b, deadline.UnixMilli(), 10)
		b = append(b, '"')
	}
	if r.APIKey != "" {
		b = append(b, `,"api_key":`...)
		b = appendString(b, r.APIKey)
	}
	if r.TraceParent != "" {
		b = append(b, `,"trace_parent":`...)
		b = appendString(b, r.TraceParent)
	}
	return append(b, '}', '\n')
}
