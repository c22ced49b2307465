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

// How long to wait for output after a result of the concurrent protocol
// (its sentinels) or a kill: for as long as lines keep coming, until the
// streams are quiet for sentinelWait or drainWait, and never more than
// maxWait. The launcher writes its sentinels before the result and at most
// two pipe buffers of output can be pending, so these bounds only matter on
// a loaded host or when something misbehaves. The line protocol has no
// sentinels to wait for.
const (
	sentinelWait = 100 * time.Millisecond
	drainWait    = 200 * time.Millisecond
	maxWait      = 2 * time.Second
	exitWait     = 5 * time.Second
)

// Instance is one action's code loaded and ready to run activations. It
// runs up to Capacity activations at a time; further Run calls wait for a
// slot. Start picks how it runs them (a runner) once, by the launcher:
// one launcher process over the line protocol, one over the tagged
// concurrent protocol, or no process but the code's own exec, run once
// per activation by the docker-skeleton convention.
type Instance struct {
	capacity int
	r        runner
}

// runner is one way an Instance runs activations: Run, Usable and Stop
// hand over to it and keep their contracts.
type runner interface {
	run(ctx context.Context, r *Request) (*Outcome, error)
	usable() bool
	stop() error
}

// launched is a runner over a launcher process.
type launched interface {
	runner
	// loaded is called once, when the launcher has acknowledged the init.
	loaded()
}

// process is a launcher process with one action's code loaded: what the
// line and concurrent runners share.
type process struct {
	dir     string
	timeout time.Duration

	cmd     *exec.Cmd
	stdin   *os.File // write end of the launcher's stdin
	result  *os.File // read end of the launcher's fd 3
	rr      *bufio.Reader
	maxLine int    // bytes of a result line kept
	out     output // where its stdout and stderr lines go

	exited  chan struct{}  // closed once the process has been waited for
	pipes   [2]*pipeReader // stdout, stderr
	readers sync.WaitGroup

	// Used by one goroutine at a time: the run in flight of a line
	// runner, the result reader of a concurrent one, or Start.
	line  []byte      // result line buffer for lines longer than rr's
	timer *time.Timer // for waiting on output

	ok       atomic.Bool // usable, as far as the protocol tells
	stopping atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// output is where a launcher's stdout and stderr lines go: to the one
// activation in flight (logBuffer) or by tag (tagLogs).
type output interface {
	lineSink
	readStream(s stream, f *os.File)
	// streamLimit is the length past which a line is dropped.
	streamLimit() int64
	// drainAll waits for both streams to end, for as long as lines keep
	// coming; t is a stopped timer it may use.
	drainAll(t *time.Timer)
	// initLogs takes the lines of a failed init, with OpenWhisk's notices.
	initLogs() []string
}

// Start prepares c's code, starts a launcher for it and waits until the
// code is loaded. When the code fails to load, Start returns no instance
// but the failed activation's Outcome (a developer error with the init
// logs); an error means the gateway failed (files, processes, ctx).
func Start(ctx context.Context, l *Launcher, c *Config) (*Instance, *Outcome, error) {
	start := time.Now()
	if l.Skeleton && !c.Binary && isBlank(c.Code) {
		// As the docker skeleton image, whose default exec stays when no
		// code replaces it.
		stub := *c
		stub.Code = skeletonStub
		c = &stub
	}
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
		return &Instance{capacity: 1, r: newExecRunner(l, c)}, nil, nil
	}
	capacity := 1
	if l.Concurrent && c.Concurrency > 1 {
		capacity = c.Concurrency
	}
	p, r, err := launch(l, c, argv, capacity)
	if err != nil {
		_ = os.RemoveAll(c.Dir) // best effort; the error below matters more
		return nil, nil, err
	}

	stop := p.interruptOn(ctx)
	line, n, err := p.readResult(deadline)
	stop()
	var resp whisk.Response
	timedOut := false
	switch {
	case err == nil && string(line) == `{"ok":true}`:
		p.ok.Store(true)
		r.loaded()
		return &Instance{capacity: capacity, r: r}, nil, nil
	case err == nil:
		resp = initError(line, n)
	case ctx.Err() != nil:
		_ = p.stop() // the context error is what the caller needs
		return nil, nil, ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		resp, timedOut = DeveloperError(InitTimeoutMessage(c.Timeout)), true
	default:
		resp = DeveloperError(MsgInitExited)
	}
	p.kill()
	p.out.drainAll(p.timer)
	out := initFailure(start, resp, p.out.initLogs(), timedOut)
	if err := p.stop(); err != nil {
		return nil, nil, err
	}
	return nil, out, nil
}

// launch starts the launcher with the runner for capacity: the tagged
// protocol above 1, the line protocol otherwise.
func launch(l *Launcher, c *Config, argv []string, capacity int) (*process, launched, error) {
	if capacity > 1 {
		logs := newTagLogs(c.LogLimit)
		p, err := spawn(l, c, argv, true, logs)
		if err != nil {
			return nil, nil, err
		}
		return p, &concurrentRunner{process: p, logs: logs, mux: newMux(capacity)}, nil
	}
	logs := newLogBuffer(c.LogLimit)
	p, err := spawn(l, c, argv, false, logs)
	if err != nil {
		return nil, nil, err
	}
	return p, &lineRunner{process: p, logs: logs}, nil
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
// with its pipes and log readers feeding out; tagged starts it for the
// concurrent protocol.
func spawn(l *Launcher, c *Config, argv []string, tagged bool, out output) (p *process, err error) {
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

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = environ(l, c)
	if tagged {
		cmd.Env = append(cmd.Env, "__OW_ALLOW_CONCURRENT=true")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.ExtraFiles = []*os.File{resW}
	cmd.SysProcAttr = sysProcAttr()
	if cmd, err = startCmd(cmd); err != nil {
		return nil, err
	}
	files = []*os.File{inR, resW, outW, errW} // close only the child's ends

	p = &process{
		dir:     c.Dir,
		timeout: c.Timeout,
		cmd:     cmd,
		stdin:   inW,
		result:  resR,
		rr:      bufio.NewReaderSize(resR, 64<<10),
		maxLine: MaxResultBytes + 1,
		out:     out,
		exited:  make(chan struct{}),
		timer:   time.NewTimer(time.Hour),
	}
	if tagged {
		p.maxLine += tagLen
	}
	p.timer.Stop()
	go func() {
		_ = cmd.Wait() // how it ended is read from the protocol, not the exit status
		close(p.exited)
	}()
	limit := out.streamLimit()
	p.pipes = [2]*pipeReader{newPipeReader(out, limit, stdout, outR), newPipeReader(out, limit, stderr, errR)}
	for _, r := range p.pipes {
		p.readers.Go(r.run)
	}
	return p, nil
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
func (i *Instance) Usable() bool { return i.r.usable() }

// Stop kills the launcher's process group, waits for it and removes the
// code directory. A Run in progress returns ErrStopped. Stop is idempotent
// and safe to call concurrently with Run.
func (i *Instance) Stop() error { return i.r.stop() }

// usable: the launcher has not reported itself unusable and has not exited.
func (p *process) usable() bool {
	if !p.ok.Load() {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *process) stop() error {
	p.stopOnce.Do(func() {
		p.stopping.Store(true)
		p.ok.Store(false)
		p.kill()
		t := time.NewTimer(exitWait)
		defer t.Stop()
		select {
		case <-p.exited:
		case <-t.C:
			p.stopErr = errors.New("actionloop: launcher did not exit after SIGKILL")
		}
		// A process that left the group may still hold the pipes: closing
		// our ends unblocks the readers.
		p.out.drainAll(t)
		_ = p.stdin.Close()  // nothing left to flush
		_ = p.result.Close() // read-only end
		p.readers.Wait()
		if err := os.RemoveAll(p.dir); err != nil && p.stopErr == nil {
			p.stopErr = err
		}
	})
	return p.stopErr
}

// readResult reads one line from fd 3 until deadline (zero: none). It
// returns the line's first maxLine bytes, without the newline, and its full
// length; the bytes are valid until the next call.
func (p *process) readResult(deadline time.Time) ([]byte, int, error) {
	if err := p.result.SetReadDeadline(deadline); err != nil {
		return nil, 0, err
	}
	chunk, err := p.rr.ReadSlice('\n')
	if err == nil {
		return chunk[:len(chunk)-1], len(chunk) - 1, nil
	}
	n := len(chunk)
	p.line = append(p.line[:0], chunk...)
	for errors.Is(err, bufio.ErrBufferFull) {
		chunk, err = p.rr.ReadSlice('\n')
		n += len(chunk)
		if room := p.maxLine - len(p.line); room > 0 {
			p.line = append(p.line, chunk[:min(room, len(chunk))]...)
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
			err = io.EOF
		}
		return nil, 0, err
	}
	line := p.line
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	return line, n - 1, nil
}

// interruptOn makes blocked pipe I/O return once ctx ends; call the result
// to stop watching.
func (p *process) interruptOn(ctx context.Context) (stop func() bool) {
	if ctx.Done() == nil {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, func() {
		past := time.Unix(1, 0)
		_ = p.result.SetReadDeadline(past) // fails only once closed, which ends I/O too
		_ = p.stdin.SetWriteDeadline(past) // likewise
	})
}
