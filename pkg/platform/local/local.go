package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
	nodelauncher "github.com/kwhisk/kwhisk/runtimes/nodejs/launcher"
	pylauncher "github.com/kwhisk/kwhisk/runtimes/python/launcher"
)

// Defaults of the zero Options fields.
const (
	DefaultMaxInstancesPerAction = 16
	DefaultMaxInstances          = 64
	DefaultIdleTimeout           = 10 * time.Minute
)

// Options configure a local platform.
type Options struct {
	// WorkDir holds the launcher scripts and one code directory per
	// instance, e.g. "<data dir>/local". Required. New empties its
	// "instances" subdirectory, left over from an earlier run.
	WorkDir string
	// APIHost is the gateway URL actions see as __OW_API_HOST.
	APIHost string
	// MaxInstancesPerAction caps the instances of one action version
	// (lowered further by the action's instances limit); 0 means 16.
	MaxInstancesPerAction int
	// MaxInstances caps the instances on the host; 0 means 64.
	MaxInstances int
	// IdleTimeout stops instances unused for that long; 0 means 10 minutes.
	IdleTimeout time.Duration
	// Interpreters are the language runtimes to offer, the first of each
	// family being its default; nil means what Detect finds.
	Interpreters []Interpreter
}

// Platform runs actions as local launcher processes, kept warm in one
// pool per action version.
type Platform struct {
	instDir  string
	apiHost  string
	idle     time.Duration
	kinds    map[string]*actionloop.Launcher
	runtimes []platform.Runtime
	interps  []Interpreter
	problems map[string]string // family → why its interpreter is unusable
	seq      atomic.Uint64

	pools    *pools
	stopping sync.WaitGroup // background stops
	bg       struct {
		sync.Mutex
		closed bool    // no more background stops
		errs   []error // of stops, for Close
	}
	quit     chan struct{} // ends the reaper
	reaped   chan struct{} // closed when the reaper has ended
	closing  sync.Once
	closeErr error
}

var _ platform.Platform = (*Platform)(nil)

// New prepares the work directory and the launchers of the interpreters
// and starts the idle reaper. Close releases everything.
func New(opts Options) (*Platform, error) {
	if opts.WorkDir == "" {
		return nil, errors.New("local: no work directory")
	}
	p := &Platform{
		instDir:  filepath.Join(opts.WorkDir, "instances"),
		apiHost:  opts.APIHost,
		idle:     orDefault(opts.IdleTimeout, DefaultIdleTimeout),
		kinds:    map[string]*actionloop.Launcher{},
		problems: map[string]string{},
		pools:    newPools(orDefault(opts.MaxInstances, DefaultMaxInstances), orDefault(opts.MaxInstancesPerAction, DefaultMaxInstancesPerAction)),
		quit:     make(chan struct{}),
		reaped:   make(chan struct{}),
	}
	p.interps = opts.Interpreters
	if p.interps == nil {
		// New has no caller context; detection is bounded on its own.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		found, problems := detect(ctx)
		cancel()
		p.interps = found
		for f, err := range problems {
			p.problems[f] = err.Error()
		}
	}
	if err := os.RemoveAll(p.instDir); err != nil {
		return nil, fmt.Errorf("local: clear %s: %w", p.instDir, err)
	}
	launchers := filepath.Join(opts.WorkDir, "launchers")
	for _, dir := range []string{p.instDir, launchers} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	for _, it := range p.interps {
		kind := it.Kind()
		if _, dup := p.kinds[kind]; dup {
			continue
		}
		l, err := launcher(it, launchers)
		if err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
		p.kinds[kind] = l
		p.runtimes = append(p.runtimes, platform.Runtime{
			Family:  it.Family,
			Kind:    kind,
			Default: !p.hasFamily(it.Family),
		})
	}
	go p.reap()
	return p, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (p *Platform) hasFamily(f string) bool {
	for _, rt := range p.runtimes {
		if rt.Family == f {
			return true
		}
	}
	return false
}

// launcher writes the family's launcher script and says how to start it.
func launcher(it Interpreter, dir string) (*actionloop.Launcher, error) {
	env := []string{
		"PATH=" + filepath.Dir(it.Path) + ":/usr/local/bin:/usr/bin:/bin",
		"LANG=C.UTF-8",
	}
	var script, name, source string
	var command func(exe, script string) []string
	switch it.Family {
	case "nodejs":
		script, name, source, command = string(nodelauncher.Script), nodelauncher.ScriptName, nodelauncher.CodeFile, nodelauncher.Command
	case "python":
		script, name, source, command = string(pylauncher.Script), pylauncher.ScriptName, pylauncher.CodeFile, pylauncher.Command
	default:
		return nil, fmt.Errorf("no launcher for family %q", it.Family)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return nil, err
	}
	return &actionloop.Launcher{Command: command(it.Path, path), Source: source, Env: env}, nil
}

// Runtimes lists one kind per interpreter; the first of each family is its
// default.
func (p *Platform) Runtimes() []platform.Runtime {
	return append([]platform.Runtime(nil), p.runtimes...)
}

// Missing explains why kind cannot run here, naming what the host lacks,
// for a kind of a family local mode supports (nodejs, python). It returns
// "" when the kind can run, and for families local mode does not know,
// which the caller reports from Runtimes.
func (p *Platform) Missing(kind string) string {
	if _, ok := p.kinds[kind]; ok {
		return ""
	}
	name, _, _ := strings.Cut(kind, ":")
	f := familyOf(name)
	if f == nil {
		return ""
	}
	var have []string
	for _, it := range p.interps {
		if it.Family == f.name {
			have = append(have, fmt.Sprintf("%s %s (%s), which runs '%s'", f.lang, it.Version, it.Path, it.Kind()))
		}
	}
	switch {
	case len(have) > 0:
		return fmt.Sprintf("The runtime '%s' is not available on this host: it has %s.", kind, strings.Join(have, " and "))
	case p.problems[f.name] != "":
		return fmt.Sprintf("The runtime '%s' needs %s, but the '%s' on this host does not work: %s", kind, f.lang, f.exe, p.problems[f.name])
	}
	return fmt.Sprintf("The runtime '%s' needs %s, but this host has no '%s' on its PATH.", kind, f.lang, f.exe)
}

// Run runs one activation on a warm instance of a's version, or on a new
// one when all are busy, waiting for one to free up when the caps are
// reached (until ctx ends or req.Deadline passes).
func (p *Platform) Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
	l := p.kinds[a.Kind]
	if l == nil {
		msg := p.Missing(a.Kind)
		if msg == "" {
			msg = "The runtime '" + a.Kind + "' is not supported by this platform."
		}
		now := time.Now()
		return &platform.Result{Start: now, End: now, Response: whisk.Response{
			StatusCode: whisk.StatusDeveloperError, Result: whisk.ErrorResult(msg),
		}}, nil
	}
	inst, pl, evicted, err := p.pools.acquire(ctx, a, req.Deadline)
	p.stopLater(evicted)
	if err != nil {
		return nil, err
	}

	res := &platform.Result{}
	if inst == nil {
		start := time.Now()
		li, failed, err := actionloop.Start(ctx, l, p.config(a))
		if err != nil || failed != nil {
			p.pools.failed(pl)
			if err != nil {
				return nil, fmt.Errorf("start %s: %w", a.Path, err)
			}
			return &platform.Result{
				Start: failed.Start, End: failed.End, InitTime: failed.End.Sub(failed.Start), Cold: true,
				Timeout: failed.Timeout, Response: failed.Response, Logs: failed.Logs,
			}, nil
		}
		inst = &instance{Instance: li, pool: pl}
		if !p.pools.started(inst) {
			p.stopLater([]*instance{inst})
			return nil, errClosed
		}
		res.Start, res.InitTime, res.Cold = start, time.Since(start), true
	}

	out, err := inst.Run(ctx, &actionloop.Request{
		Value:         req.Value,
		Namespace:     req.Namespace,
		ActionName:    a.Path.FullyQualified(),
		ActionVersion: a.Version,
		ActivationID:  req.ActivationID,
		TransactionID: req.TransactionID,
		APIKey:        req.APIKey,
		Deadline:      req.Deadline,
	})
	if p.pools.release(inst, time.Now()) {
		p.stopLater([]*instance{inst})
	}
	switch {
	case errors.Is(err, actionloop.ErrStopped):
		return nil, errClosed
	case err != nil:
		return nil, fmt.Errorf("run %s: %w", a.Path, err)
	}
	if !res.Cold {
		res.Start = out.Start
	}
	res.End, res.Timeout, res.Response, res.Logs = out.End, out.Timeout, out.Response, out.Logs
	return res, nil
}

func (p *Platform) config(a *platform.Action) *actionloop.Config {
	timeout := a.Limits.Timeout
	if timeout <= 0 {
		timeout = whisk.DefaultBounds.DefaultTimeout
	}
	return &actionloop.Config{
		Dir:      filepath.Join(p.instDir, strconv.FormatUint(p.seq.Add(1), 10)),
		Code:     a.Code,
		Binary:   a.Binary,
		Main:     a.Main,
		Env:      a.Env,
		APIHost:  p.apiHost,
		Timeout:  time.Duration(timeout) * time.Millisecond,
		LogLimit: int64(max(a.Limits.Logs, 0)) << 20,
	}
}

// Remove stops the instances of every version of the action at path, idle
// ones at once and busy ones when their activation ends, and waits for
// those activations (until ctx ends).
func (p *Platform) Remove(ctx context.Context, path whisk.EntityPath) error {
	stop, drained := p.pools.remove(path)
	p.stopLater(stop)
	for _, ch := range drained {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// stopLater stops instances in the background; Close waits for them and
// reports what failed. Once Close has begun, it stops them right away.
func (p *Platform) stopLater(insts []*instance) {
	if len(insts) == 0 {
		return
	}
	p.bg.Lock()
	closed := p.bg.closed
	if !closed {
		p.stopping.Add(len(insts))
	}
	p.bg.Unlock()
	for _, inst := range insts {
		if closed {
			p.stopped(inst.Stop())
			continue
		}
		go func() {
			defer p.stopping.Done()
			p.stopped(inst.Stop())
		}()
	}
}

func (p *Platform) stopped(err error) {
	if err == nil {
		return
	}
	p.bg.Lock()
	p.bg.errs = append(p.bg.errs, err)
	p.bg.Unlock()
}

// reap stops idle instances past the idle timeout until Close.
func (p *Platform) reap() {
	defer close(p.reaped)
	t := time.NewTicker(min(max(p.idle/4, 10*time.Millisecond), time.Minute))
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case now := <-t.C:
			p.stopLater(p.pools.reap(now.Add(-p.idle)))
		}
	}
}

// Close stops every instance, busy ones included (their Run returns an
// error), and waits for them to exit; each stop is bounded by actionloop.
// Run fails after Close.
func (p *Platform) Close() error {
	p.closing.Do(func() {
		close(p.quit)
		<-p.reaped
		insts := p.pools.close()
		errs := make([]error, len(insts))
		var wg sync.WaitGroup
		for i, inst := range insts {
			wg.Go(func() { errs[i] = inst.Stop() })
		}
		wg.Wait()
		p.bg.Lock()
		p.bg.closed = true
		p.bg.Unlock()
		p.stopping.Wait()
		p.bg.Lock()
		p.closeErr = errors.Join(append(errs, p.bg.errs...)...)
		p.bg.Unlock()
	})
	return p.closeErr
}
