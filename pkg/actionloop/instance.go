package actionloop

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// How long to wait for output after a result or a kill: for as long as
// lines keep coming, until the streams are quiet for sentinelWait or
// drainWait, and never more than maxWait. The launcher writes its sentinels
// before the result and at most two pipe buffers of output can be pending,
// so these bounds only matter on a loaded host or when something
// misbehaves.
const (
	sentinelWait = 100 * time.Millisecond
	drainWait    = 200 * time.Millisecond
	maxWait      = 2 * time.Second
	exitWait     = 5 * time.Second
)

// Instance is one launcher process with one action's code loaded. It runs
// one activation at a time; Run calls are serialized.
type Instance struct {
	dir     string
	timeout time.Duration

	cmd    *exec.Cmd
	stdin  *os.File // write end of the launcher's stdin
	result *os.File // read end of the launcher's fd 3
	rr     *bufio.Reader
	logs   *logBuffer

	exited  chan struct{} // closed once the process has been waited for
	readers sync.WaitGroup

	runMu sync.Mutex  // serializes Run; guards the fields below
	req   []byte      // request line buffer
	line  []byte      // result line buffer for lines longer than rr's
	timer *time.Timer // for waiting on sentinels

	usable   atomic.Bool
	stopping atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// Start prepares c's code, starts a launcher for it and waits until the
// code is loaded. When the code fails to load, Start returns no instance
// but the failed activation's Outcome (a developer error with the init
// logs); an error means the gateway failed (files, processes, ctx).
func Start(ctx context.Context, l *Launcher, c *Config) (*Instance, *Outcome, error) {
	start := time.Now()
	if !c.Binary && isBlank(c.Code) {
		return nil, initFailure(start, developerError(MsgMissingCode), nil, false), nil
	}
	if err := prepare(c.Dir, l.Source, c.Code, c.Binary); err != nil {
		_ = os.RemoveAll(c.Dir) // best effort; the error below matters more
		var ce *codeError
		if errors.As(err, &ce) {
			return nil, initFailure(start, developerError(ce.msg), nil, false), nil
		}
		return nil, nil, err
	}
	i, err := spawn(l, c)
	if err != nil {
		_ = os.RemoveAll(c.Dir) // best effort; the error below matters more
		return nil, nil, err
	}

	var deadline time.Time
	if c.Timeout > 0 {
		deadline = start.Add(c.Timeout)
	}
	stop := i.interruptOn(ctx)
	line, n, err := i.readResult(deadline)
	stop()
	var resp whisk.Response
	timedOut := false
	switch {
	case err == nil && string(line) == `{"ok":true}`:
		i.usable.Store(true)
		return i, nil, nil
	case err == nil:
		resp = initError(line, n)
	case ctx.Err() != nil:
		_ = i.Stop() // the context error is what the caller needs
		return nil, nil, ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		resp, timedOut = developerError(InitTimeoutMessage(c.Timeout)), true
	default:
		resp = developerError(MsgInitExited)
	}
	i.kill()
	i.logs.wait(true, i.timer, drainWait)
	out := initFailure(start, resp, i.logs.collect(true), timedOut)
	if err := i.Stop(); err != nil {
		return nil, nil, err
	}
	return nil, out, nil
}

// initFailure is the Outcome of a failed init. Without a process there are
// no logs to collect, but the developer-error warning still applies.
func initFailure(start time.Time, resp whisk.Response, logs []string, timedOut bool) *Outcome {
	if logs == nil {
		logs = []string{formatLine(time.Now(), stderr, []byte(MsgLogsIncomplete))}
	}
	return &Outcome{Start: start, End: time.Now(), Response: resp, Logs: logs, Timeout: timedOut}
}

// initError maps a launcher's init answer other than the ack.
func initError(line []byte, n int) whisk.Response {
	r := response(line, n)
	if r.StatusCode == whisk.StatusApplicationError {
		r.StatusCode = whisk.StatusDeveloperError // an init error is the developer's
	}
	if r.StatusCode == whisk.StatusSuccess {
		return developerError("The action failed during initialization: " + string(line))
	}
	return r
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// spawn starts the launcher with its pipes and log readers.
func spawn(l *Launcher, c *Config) (i *Instance, err error) {
	if len(l.Command) == 0 {
		return nil, errors.New("actionloop: launcher has no command")
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			_ = f.Close() // child ends, and ours when spawn fails
		}
	}()
	pipe := func() (r, w *os.File) {
		if err != nil {
			return nil, nil
		}
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w
	}
	inR, inW := pipe()
	resR, resW := pipe()
	outR, outW := pipe()
	errR, errW := pipe()
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(l.Command[0], l.Command[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = environ(l, c)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.ExtraFiles = []*os.File{resW}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	files = []*os.File{inR, resW, outW, errW} // close only the child's ends

	i = &Instance{
		dir:     c.Dir,
		timeout: c.Timeout,
		cmd:     cmd,
		stdin:   inW,
		result:  resR,
		rr:      bufio.NewReaderSize(resR, 64<<10),
		logs:    newLogBuffer(c.LogLimit),
		exited:  make(chan struct{}),
		timer:   time.NewTimer(time.Hour),
	}
	i.timer.Stop()
	go func() {
		_ = cmd.Wait() // how it ended is read from the protocol, not the exit status
		close(i.exited)
	}()
	i.readers.Add(2)
	go func() { defer i.readers.Done(); i.logs.readStream(stdout, outR) }()
	go func() { defer i.readers.Done(); i.logs.readStream(stderr, errR) }()
	return i, nil
}

func environ(l *Launcher, c *Config) []string {
	env := make([]string, 0, len(l.Env)+len(c.Env)+4)
	env = append(env, l.Env...)
	env = append(env, "HOME="+c.Dir)
	for k, v := range c.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			continue // cannot be an environment variable
		}
		env = append(env, k+"="+v)
	}
	main := c.Main
	if main == "" {
		main = "main"
	}
	return append(env, "__OW_API_HOST="+c.APIHost, "__OW_CODE="+c.Dir, "__OW_MAIN="+main)
}

// Usable reports whether the instance can take another activation.
func (i *Instance) Usable() bool {
	if !i.usable.Load() {
		return false
	}
	select {
	case <-i.exited:
		return false
	default:
		return true
	}
}

// Stop kills the launcher's process group, waits for it and removes the
// code directory. A Run in progress returns ErrStopped. Stop is idempotent
// and safe to call concurrently with Run.
func (i *Instance) Stop() error {
	i.stopOnce.Do(func() {
		i.stopping.Store(true)
		i.usable.Store(false)
		i.kill()
		t := time.NewTimer(exitWait)
		defer t.Stop()
		select {
		case <-i.exited:
		case <-t.C:
			i.stopErr = errors.New("actionloop: launcher did not exit after SIGKILL")
		}
		// A process that left the group may still hold the pipes: closing
		// our ends unblocks the readers.
		i.logs.wait(true, t, drainWait)
		_ = i.stdin.Close()  // nothing left to flush
		_ = i.result.Close() // read-only end
		i.readers.Wait()
		if err := os.RemoveAll(i.dir); err != nil && i.stopErr == nil {
			i.stopErr = err
		}
	})
	return i.stopErr
}

// readResult reads one line from fd 3 until deadline (zero: none). It returns the line's first MaxResultBytes+1 bytes, without the
// newline, and its full length; the bytes are valid until the next call.
func (i *Instance) readResult(deadline time.Time) ([]byte, int, error) {
	if err := i.result.SetReadDeadline(deadline); err != nil {
		return nil, 0, err
	}
	chunk, err := i.rr.ReadSlice('\n')
	if err == nil {
		return chunk[:len(chunk)-1], len(chunk) - 1, nil
	}
	n := len(chunk)
	i.line = append(i.line[:0], chunk...)
	for errors.Is(err, bufio.ErrBufferFull) {
		chunk, err = i.rr.ReadSlice('\n')
		n += len(chunk)
		if room := MaxResultBytes + 1 - len(i.line); room > 0 {
			i.line = append(i.line, chunk[:min(room, len(chunk))]...)
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
			err = io.EOF
		}
		return nil, 0, err
	}
	line := i.line
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	return line, n - 1, nil
}

// interruptOn makes blocked pipe I/O return once ctx ends; call the result
// to stop watching.
func (i *Instance) interruptOn(ctx context.Context) (stop func() bool) {
	if ctx.Done() == nil {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, func() {
		past := time.Unix(1, 0)
		_ = i.result.SetReadDeadline(past) // fails only once closed, which ends I/O too
		_ = i.stdin.SetWriteDeadline(past) // likewise
	})
}
