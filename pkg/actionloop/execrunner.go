package actionloop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// ExecFile is the program an instance of docker-skeleton code (a Skeleton
// launcher) runs per activation.
const ExecFile = "exec"

// Messages of docker-skeleton code that cannot run.
const (
	MsgNoExec       = "The action's code has no executable named 'exec' at its root."
	MsgExecNotValid = "The action's 'exec' is neither a script starting with #! nor an executable binary."
	MsgExecFailed   = "The action's 'exec' could not be started: "
)

// MsgSkeletonStub is the error result of OpenWhisk's docker skeleton run
// without action code: its image's default exec is a stub answering it.
const MsgSkeletonStub = "This is a stub action. Replace it with custom logic."

// skeletonStub is what a Skeleton launcher runs for an action without
// code, as the docker skeleton image's default exec does: a log line
// saying so, and the stub's error result.
const skeletonStub = "#!/bin/sh\n" +
	"echo 'No action code was given: this is the docker skeleton stub; replace it with a script or binary named exec.'\n" +
	"echo '{ \"error\": \"" + MsgSkeletonStub + "\" }'\n"

// maxArgBytes is the longest input passed as exec's argument: Linux refuses
// a longer single argument (MAX_ARG_STRLEN, with its terminating zero).
const maxArgBytes = 128<<10 - 1

// execRunner runs an instance without a launcher: by the docker-skeleton
// convention, each activation runs the code's exec once.
type execRunner struct {
	dir     string
	timeout time.Duration
	exe     string
	env     []string
	limit   int64
	halt    chan struct{} // closed by stop: the run in flight kills its process

	runMu    sync.Mutex // one run at a time
	ok       atomic.Bool
	stopping atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// newExecRunner returns a usable runner over c's prepared code.
func newExecRunner(l *Launcher, c *Config) *execRunner {
	e := &execRunner{
		dir:     c.Dir,
		timeout: c.Timeout,
		exe:     filepath.Join(c.Dir, ExecFile),
		env:     baseEnviron(l, c),
		limit:   c.LogLimit,
		halt:    make(chan struct{}),
	}
	e.ok.Store(true)
	return e
}

func (e *execRunner) usable() bool { return e.ok.Load() }

// checkExec makes sure dir holds a runnable exec and makes it executable.
func checkExec(dir string) error {
	path := filepath.Join(dir, ExecFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return codeErr(MsgNoExec)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return codeErr(MsgNoExec)
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:]) // a short file fails the check below
	if !bytes.HasPrefix(magic[:n], []byte("#!")) && !bytes.Equal(magic[:n], []byte("\x7fELF")) {
		return codeErr(MsgExecNotValid)
	}
	return os.Chmod(path, 0o700)
}

// run runs exec once for r: the input is its one argument (when
// short enough for one) and its stdin, the request's context its __OW_*
// environment; the last non-blank line of its stdout is the result and
// everything else the activation's logs.
func (e *execRunner) run(ctx context.Context, r *Request) (*Outcome, error) {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	switch {
	case e.stopping.Load():
		return nil, ErrStopped
	case !e.ok.Load():
		return nil, ErrUnusable
	}
	start := time.Now()
	var limit time.Time
	if e.timeout > 0 {
		limit = start.Add(e.timeout)
	}
	deadline := r.Deadline
	if deadline.IsZero() {
		deadline = limit
	}
	input := appendValue(nil, r.Value)
	var args []string
	if len(input) <= maxArgBytes {
		args = []string{string(input)}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close() // unused
		_ = outW.Close() // unused
		return nil, err
	}
	cmd := exec.Command(e.exe, args...)
	cmd.Dir = e.dir
	cmd.Env = append(append([]string(nil), e.env...), requestEnv(r, deadline)...)
	cmd.Stdin = bytes.NewReader(append(input, '\n'))
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = sysProcAttr()
	cmd, err = startCmd(cmd)
	_ = outW.Close() // the child's ends: ours are not written
	_ = errW.Close()
	if err != nil {
		_ = outR.Close() // nothing was read
		_ = errR.Close()
		// The exec's own fault: a missing interpreter, a binary for
		// another machine.
		e.ok.Store(false)
		resp := DeveloperError(MsgExecFailed + err.Error())
		return &Outcome{Start: start, End: time.Now(), Response: resp, Logs: newLogBuffer(0).collect(true)}, nil
	}
	kill := func() { _ = killGroup(cmd.Process.Pid) } // ESRCH: already gone

	logs := newLogBuffer(e.limit)
	var last lastLine
	var readers sync.WaitGroup
	readers.Go(func() { last.read(logs, outR) })
	readers.Go(func() { readStream(logs, e.limit, stderr, errR) })
	streams := make(chan struct{})
	go func() { readers.Wait(); close(streams) }()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var expired <-chan time.Time
	if !limit.IsZero() {
		t := time.NewTimer(time.Until(limit))
		defer t.Stop()
		expired = t.C
	}
	var (
		exitErr  error
		timedOut bool
		ctxErr   error
		stopped  bool
	)
	for streams != nil || exited != nil {
		select {
		case <-streams:
			streams = nil
			continue
		case exitErr = <-exited:
			exited = nil
			continue
		case <-expired:
			timedOut = true
		case <-ctx.Done():
			ctxErr = ctx.Err()
		case <-e.halt:
			stopped = true
		}
		kill()
		break
	}
	if timedOut || ctxErr != nil || stopped {
		// The kill ends the process group; output a process outside it
		// still holds is cut off after a while.
		if exited != nil {
			<-exited
		}
		if streams != nil {
			t := time.NewTimer(maxWait)
			select {
			case <-streams:
			case <-t.C:
				_ = outR.Close() // unblocks the readers
				_ = errR.Close()
				<-streams
			}
			t.Stop()
		}
	}
	_ = outR.Close() // read to the end, or cut off
	_ = errR.Close()

	var resp whisk.Response
	switch {
	case stopped:
		return nil, ErrStopped
	case ctxErr != nil:
		e.ok.Store(false)
		return nil, ctxErr
	case timedOut:
		resp = DeveloperError(RunTimeoutMessage(e.timeout))
	case last.line != nil:
		resp = ResponseOf(last.line, last.n)
	case exitErr == nil:
		resp = DeveloperError(MsgInvalidResponse)
	default:
		resp = DeveloperError(MsgRunExited)
	}
	devErr := resp.StatusCode == whisk.StatusDeveloperError
	if devErr {
		e.ok.Store(false)
	}
	return &Outcome{Start: start, End: time.Now(), Response: resp, Logs: logs.collect(devErr), Timeout: timedOut}, nil
}

// stop ends the run in flight, if any, and removes the code.
func (e *execRunner) stop() error {
	e.stopOnce.Do(func() {
		e.stopping.Store(true)
		e.ok.Store(false)
		close(e.halt)
		e.runMu.Lock() // the run in flight returns soon after its kill
		e.stopErr = os.RemoveAll(e.dir)
		e.runMu.Unlock()
	})
	return e.stopErr
}

// requestEnv is the __OW_* environment of one activation.
func requestEnv(r *Request, deadline time.Time) []string {
	env := make([]string, 0, 8)
	add := func(k, v string) {
		if strings.IndexByte(v, 0) < 0 {
			env = append(env, k+"="+v)
		}
	}
	add("__OW_NAMESPACE", r.Namespace)
	add("__OW_ACTION_NAME", r.ActionName)
	add("__OW_ACTION_VERSION", r.ActionVersion)
	add("__OW_ACTIVATION_ID", string(r.ActivationID))
	add("__OW_TRANSACTION_ID", r.TransactionID)
	if !deadline.IsZero() {
		add("__OW_DEADLINE", strconv.FormatInt(deadline.UnixMilli(), 10))
	}
	if r.APIKey != "" {
		add("__OW_API_KEY", r.APIKey)
	}
	if r.TraceParent != "" {
		add("__OW_TRACE_PARENT", r.TraceParent)
	}
	return env
}

// lastLine reads an exec's stdout: every line goes to the logs but the
// last non-blank one, which is the result.
type lastLine struct {
	line []byte // its first MaxResultBytes+1 bytes; nil when there is none
	n    int    // its length
	t    time.Time
}

func (l *lastLine) read(logs *logBuffer, f *os.File) {
	keep := MaxResultBytes + 1
	if logs.limit < 0 {
		keep = math.MaxInt
	} else if logs.limit >= int64(keep) {
		keep = int(min(logs.limit+1, math.MaxInt))
	}
	flush := func() {
		if l.line == nil {
			return
		}
		if l.n > len(l.line) {
			logs.drop(stdout)
		} else {
			logs.add(stdout, l.t, l.line)
		}
	}
	scanLines(f, keep, func(t time.Time, line []byte, n int) {
		if len(bytes.TrimSpace(line)) == 0 && n == len(line) {
			logs.add(stdout, t, line)
			return
		}
		flush()
		l.line, l.n, l.t = append(l.line[:0], line...), n, t
	})
}

// scanLines calls fn for each line of r, without its newline, with its
// first keep bytes and its full length, until end of file.
func scanLines(r io.Reader, keep int, fn func(t time.Time, line []byte, n int)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		buf []byte
		n   int
		t   time.Time
	)
	for {
		chunk, err := br.ReadSlice('\n')
		if n == 0 {
			t = time.Now()
		}
		n += len(chunk)
		if room := keep - len(buf); room > 0 {
			buf = append(buf, chunk[:min(room, len(chunk))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if n > 0 {
			if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
				n--
			}
			fn(t, buf[:min(len(buf), n)], n)
		}
		if cap(buf) > 1<<20 {
			buf = nil
		}
		buf, n = buf[:0], 0
		if err != nil {
			return
		}
	}
}
