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
// up to Capacity activations at a time; further Run calls wait for a slot.
type Instance struct {
	dir      string
	timeout  time.Duration
	capacity int

	cmd     *exec.Cmd
	stdin   *os.File // write end of the launcher's stdin
	result  *os.File // read end of the launcher's fd 3
	rr      *bufio.Reader
	maxLine int        // bytes of a result line kept
	logs    *logBuffer // the logs of a serial instance
	tlogs   *tagLogs   // or of a concurrent one
	mux     *mux       // routes a concurrent instance's results
	sk      *skeleton  // an instance without a launcher

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
		return nil, initFailure(start, DeveloperError(MsgMissingCode), nil, false), nil
	}
	var deadline time.Time
	if c.Timeout > 0 {
		deadline = start.Add(c.Timeout)
	}
	argv, failed, err := prepareCode(ctx, l, c, start, deadline)
	if err != nil || failed != nil {
		_ = os.RemoveAll(c.Dir) // best effort; the outcome matters more
		return nil, failed, err
	}
	if l.Skeleton {
		return newSkeleton(l, c), nil, nil
	}
	i, err := spawn(l, c, argv)
	if err != nil {
		_ = os.RemoveAll(c.Dir) // best effort; the error below matters more
		return nil, nil, err
	}

	stop := i.interruptOn(ctx)
	line, n, err := i.readResult(deadline)
	stop()
	var resp whisk.Response
	timedOut := false
	switch {
	case err == nil && string(line) == `{"ok":true}`:
		i.usable.Store(true)
		if i.mux != nil {
			i.tlogs.ready()
			i.readers.Add(1)
			go func() { defer i.readers.Done(); i.readResults() }()
		}
		return i, nil, nil
	case err == nil:
		resp = initError(line, n)
	case ctx.Err() != nil:
		_ = i.Stop() // the context error is what the caller needs
		return nil, nil, ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		resp, timedOut = DeveloperError(InitTimeoutMessage(c.Timeout)), true
	default:
		resp = DeveloperError(MsgInitExited)
	}
	i.kill()
	var logs []string
	if i.tlogs != nil {
		i.tlogs.waitEOF(drainWait)
		logs = i.tlogs.collect(0, true)
	} else {
		i.logs.wait(true, i.timer, drainWait)
		logs = i.logs.collect(true)
	}
	out := initFailure(start, resp, logs, timedOut)
	if err := i.Stop(); err != nil {
		return nil, nil, err
	}
	return nil, out, nil
}

// prepareCode puts c's code in place and returns the argv to start (nil:
// the launcher's Command), or the Outcome of an init that failed there.
func prepareCode(ctx context.Context, l *Launcher, c *Config, start, deadline time.Time) ([]string, *Outcome, error) {
	var argv []string
	var err error
	if l.Prepare != nil {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			pctx, cancel = context.WithDeadline(ctx, deadline)
		}
		argv, err = l.Prepare(pctx, c)
		expired := err != nil && ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded)
		cancel()
		if expired {
			return nil, initFailure(start, DeveloperError(InitTimeoutMessage(c.Timeout)), nil, true), nil
		}
	} else {
		err = Unpack(c.Dir, l.Source, c.Code, c.Binary)
	}
	if err == nil && l.Skeleton {
		err = checkExec(c.Dir)
	}
	var ce *CodeError
	switch {
	case err == nil:
		return argv, nil, nil
	case errors.As(err, &ce):
		return nil, initFailure(start, DeveloperError(ce.Message), nil, false), nil
	case ctx.Err() != nil:
		return nil, nil, ctx.Err()
	}
	return nil, nil, err
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
	r := ResponseOf(line, n)
	if r.StatusCode == whisk.StatusApplicationError {
		r.StatusCode = whisk.StatusDeveloperError // an init error is the developer's
	}
	if r.StatusCode == whisk.StatusSuccess {
		return DeveloperError("The action failed during initialization: " + string(line))
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

// spawn starts the launcher (argv, or the launcher's Command when nil)
// with its pipes and log readers.
func spawn(l *Launcher, c *Config, argv []string) (i *Instance, err error) {
	if argv == nil {
		argv = l.Command
	}
	if len(argv) == 0 {
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

	capacity := 1
	if l.Concurrent && c.Concurrency > 1 {
		capacity = c.Concurrency
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = environ(l, c)
	if capacity > 1 {
		cmd.Env = append(cmd.Env, "__OW_ALLOW_CONCURRENT=true")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.ExtraFiles = []*os.File{resW}
	cmd.SysProcAttr = sysProcAttr()
	if cmd, err = startCmd(cmd); err != nil {
		return nil, err
	}
	files = []*os.File{inR, resW, outW, errW} // close only the child's ends

	i = &Instance{
		dir:      c.Dir,
		timeout:  c.Timeout,
		capacity: capacity,
		cmd:      cmd,
		stdin:    inW,
		result:   resR,
		rr:       bufio.NewReaderSize(resR, 64<<10),
		maxLine:  MaxResultBytes + 1,
		exited:   make(chan struct{}),
		timer:    time.NewTimer(time.Hour),
	}
	i.timer.Stop()
	go func() {
		_ = cmd.Wait() // how it ended is read from the protocol, not the exit status
		close(i.exited)
	}()
	i.readers.Add(2)
	if capacity > 1 {
		i.maxLine += tagLen
		i.mux = newMux(capacity)
		i.tlogs = newTagLogs(c.LogLimit)
		go func() { defer i.readers.Done(); i.tlogs.readStream(stdout, outR) }()
		go func() { defer i.readers.Done(); i.tlogs.readStream(stderr, errR) }()
		return i, nil
	}
	i.logs = newLogBuffer(c.LogLimit)
	go func() { defer i.readers.Done(); i.logs.readStream(stdout, outR) }()
	go func() { defer i.readers.Done(); i.logs.readStream(stderr, errR) }()
	return i, nil
}

func environ(l *Launcher, c *Config) []string {
	main := c.Main
	if main == "" {
		main = "main"
	}
	return append(baseEnviron(l, c), "__OW_CODE="+c.Dir, "__OW_MAIN="+main)
}

// baseEnviron is the environment of an instance's processes without the
// launcher's own variables.
func baseEnviron(l *Launcher, c *Config) []string {
	env := make([]string, 0, len(l.Env)+len(c.Env)+5)
	env = append(env, l.Env...)
	env = append(env, "HOME="+c.Dir)
	for k, v := range c.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			continue // cannot be an environment variable
		}
		env = append(env, k+"="+v)
	}
	return append(env, "__OW_API_HOST="+c.APIHost)
}

// Capacity is the number of activations the instance runs at once: 1, or
// Config.Concurrency with a Concurrent launcher. Run may be called that
// many times concurrently; further calls wait for a slot.
func (i *Instance) Capacity() int { return i.capacity }

// Usable reports whether the instance can take another activation. An
// instance that turned unusable still finishes the activations in flight;
// its owner stops it once they have returned.
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
	if i.sk != nil {
		return i.stopSkeleton()
	}
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
		if i.tlogs != nil {
			i.tlogs.waitEOF(drainWait)
		} else {
			i.logs.wait(true, t, drainWait)
		}
		_ = i.stdin.Close()  // nothing left to flush
		_ = i.result.Close() // read-only end
		i.readers.Wait()
		if err := os.RemoveAll(i.dir); err != nil && i.stopErr == nil {
			i.stopErr = err
		}
	})
	return i.stopErr
}

// readResult reads one line from fd 3 until deadline (zero: none). It
// returns the line's first maxLine bytes, without the newline, and its full
// length; the bytes are valid until the next call.
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
		if room := i.maxLine - len(i.line); room > 0 {
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
