package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Defaults of the zero Options fields.
const (
	DefaultMaxInstancesPerAction = 16
	DefaultMaxInstances          = 64
	DefaultIdleTimeout           = 10 * time.Minute
	DefaultMaxQueue              = 1000
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
	// An instance running an activation is never stopped for being idle.
	IdleTimeout time.Duration
	// MaxQueue caps the activations of one action version waiting for an
	// instance when its caps are reached; 0 means 1000. Beyond it, and
	// once an activation has waited as long as its action's time limit,
	// Run fails as unavailable.
	MaxQueue int
	// StemCells is the number of prewarmed launchers (stem cells) kept for
	// the default kind of each of nodejs and python, for actions with the
	// default limits; 0 means none.
	StemCells int
	// NoMemoryLimits turns memory limits off; by default they are enforced
	// with cgroup v2 where the host delegates it, else with rlimits.
	NoMemoryLimits bool
	// Log reports background failures (stem cells); nil discards them.
	Log *slog.Logger
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
	log      *slog.Logger

	pools   *pools
	stems   *stems
	limiter *limiter
	ctx     context.Context // of background starts; Close cancels it
	cancel  context.CancelFunc
	work    sync.WaitGroup // background starts and stops
	bg      struct {
		sync.Mutex
		closed bool    // no more background work
		errs   []error // of stops, for Close
	}
	quit     chan struct{} // ends the reaper
	reaped   chan struct{} // closed when the reaper has ended
	closing  sync.Once
	closeErr error
}

var _ platform.Platform = (*Platform)(nil)

// New prepares the work directory and the launchers of the interpreters,
// starts the idle reaper and, in the background, the stem cells. Close
// releases everything.
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
		log:      logging.OrDiscard(opts.Log),
		pools: newPools(orDefault(opts.MaxInstances, DefaultMaxInstances), orDefault(opts.MaxInstancesPerAction, DefaultMaxInstancesPerAction),
			orDefault(opts.MaxQueue, DefaultMaxQueue)),
		stems:  newStems(opts.StemCells),
		quit:   make(chan struct{}),
		reaped: make(chan struct{}),
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
		p.runtimes = append(p.runtimes, runtimeOf(it, platform.Runtime{
			Family:  it.Family,
			Kind:    kind,
			Default: !p.hasFamily(it.Family),
		}))
	}
	p.pools.maxStarting = max(2, runtime.NumCPU())
	p.limiter = newLimiter(opts.NoMemoryLimits)
	p.ctx, p.cancel = context.WithCancel(context.Background()) // New has no caller context; Close ends it
	for _, rt := range p.runtimes {
		if f := familyOfKind(rt.Kind); rt.Default && opts.StemCells > 0 && f != nil && f.StemCells {
			p.stems.specs[rt.Kind] = &stemSpec{kind: rt.Kind, limits: stemLimits}
		}
	}
	go p.reap()
	for _, spec := range p.stems.specs {
		p.refill(spec)
	}
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

// Runtimes lists one kind per interpreter; the first of each family is its
// default.
func (p *Platform) Runtimes() []platform.Runtime {
	return append([]platform.Runtime(nil), p.runtimes...)
}

// Missing explains why kind cannot run here, naming what the host lacks,
// for a kind of a registered family whose interpreter local mode looks
// for (nodejs, python; not Optional ones such as go). It returns "" when
// the kind can run, and for other families, which the caller reports from
// Runtimes (platform.Unsupported).
func (p *Platform) Missing(kind string) string {
	if _, ok := p.kinds[kind]; ok {
		return ""
	}
	f := familyOfKind(kind)
	if f == nil || f.Probe == nil || f.Optional {
		return ""
	}
	var have []string
	for _, it := range p.interps {
		if it.Family == f.Name {
			have = append(have, fmt.Sprintf("%s %s (%s), which runs '%s'", f.Lang, it.Version, it.Path, it.Kind()))
		}
	}
	switch {
	case len(have) > 0:
		return fmt.Sprintf("The runtime '%s' is not available on this host: it has %s.", kind, strings.Join(have, " and "))
	case p.problems[f.Name] != "":
		return fmt.Sprintf("The runtime '%s' needs %s, but the '%s' on this host does not work: %s", kind, f.Lang, f.Probe.Exe, p.problems[f.Name])
	}
	return fmt.Sprintf("The runtime '%s' needs %s, but this host has no '%s' on its PATH.", kind, f.Lang, f.Probe.Exe)
}

// Run runs one activation on an instance of a's version with a free slot:
// a warm one, else a new one (from a stem cell when one fits). When the
// caps are reached it waits in the version's queue until a slot frees up,
// ctx ends or it has waited the action's time limit. The wait is not part
// of that limit: the instance starts it, and __OW_DEADLINE, when the run
// reaches the launcher (OpenWhisk counts queueing in waitTime). It never
// retries an activation that may have reached the action's code.
func (p *Platform) Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
	if p.kinds[a.Kind] == nil {
		now := time.Now()
		return &platform.Result{Start: now, End: now, Response: whisk.Response{
			StatusCode: whisk.StatusDeveloperError, Result: whisk.ErrorResult(platform.Unsupported(p, a.Kind)),
		}}, nil
	}
	waitUntil := time.Now().Add(time.Duration(effectiveLimits(a.Limits).Timeout) * time.Millisecond)
	for {
		g, err := p.acquire(ctx, a, waitUntil)
		switch {
		case err != nil:
			return nil, err
		case g.err != nil:
			if errors.Is(g.err, errClosed) {
				return nil, errClosed
			}
			return nil, fmt.Errorf("start %s: %w", a.Path, g.err)
		case g.failed != nil:
			f := g.failed
			return &platform.Result{
				Start: f.Start, End: f.End, InitTime: f.End.Sub(f.Start), Cold: true,
				Timeout: f.Timeout, Response: f.Response, Logs: f.Logs,
			}, nil
		}
		res, retry, err := p.runOn(ctx, g, a, req)
		if !retry {
			return res, err
		}
	}
}

// acquire gets a slot for one activation of a, waiting in the queue when
// there is none, until ctx ends or until passes.
func (p *Platform) acquire(ctx context.Context, a *platform.Action, until time.Time) (grant, error) {
	g, w, fx, err := p.pools.enqueue(a, p.slots(a))
	p.apply(fx)
	if err != nil || w == nil {
		return g, err
	}
	var expired <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case g := <-w.ch:
			return g, nil
		case <-ctx.Done():
			if g, ok, _ := p.pools.withdraw(w, false); ok && g.inst != nil {
				p.apply(p.pools.release(g.inst, true, time.Now()))
			}
			return grant{}, ctx.Err()
		case <-expired:
			g, ok, covered := p.pools.withdraw(w, true)
			switch {
			case ok:
				return g, nil // granted just in time
			case covered:
				expired = nil // an instance is starting for it: its init has its own limit
				continue
			}
			return grant{}, whisk.Errorf(whisk.KindUnavailable, "No instance of %s became free within the action's time limit.", a.Path)
		}
	}
}

// slots is how many activations an instance of a is expected to take.
func (p *Platform) slots(a *platform.Action) int {
	if l := p.kinds[a.Kind]; l != nil && l.Concurrent && a.Limits.Concurrency > 1 {
		return a.Limits.Concurrency
	}
	return 1
}

// runOn runs the activation on the instance g granted. retry says the
// instance turned out unusable before the request reached it, so another
// may take it.
func (p *Platform) runOn(ctx context.Context, g grant, a *platform.Action, req *platform.RunRequest) (*platform.Result, bool, error) {
	inst := g.inst
	out, err := inst.proc.Run(ctx, &actionloop.Request{
		Value:         req.Value,
		Namespace:     req.Namespace,
		ActionName:    a.Path.FullyQualified(),
		ActionVersion: a.Version,
		ActivationID:  req.ActivationID,
		TransactionID: req.TransactionID,
		APIKey:        req.APIKey,
		TraceParent:   req.TraceParent,
	})
	if err == nil && exhausted(out.Response, out.Logs, inst.limit) {
		out.Response = whisk.Response{StatusCode: whisk.StatusDeveloperError, Result: whisk.ErrorResult(MsgMemoryExhausted)}
	}
	p.apply(p.pools.release(inst, err == nil, time.Now()))
	switch {
	case errors.Is(err, actionloop.ErrUnusable):
		return nil, true, nil // it never reached the launcher
	case errors.Is(err, actionloop.ErrStopped):
		return nil, false, errClosed
	case err != nil:
		return nil, false, fmt.Errorf("run %s: %w", a.Path, err)
	}
	res := &platform.Result{Start: out.Start, End: out.End, Timeout: out.Timeout, Response: out.Response, Logs: out.Logs}
	if c := g.cold; c != nil {
		res.Start, res.InitTime, res.Cold = c.start, c.initTime, true
		if len(c.logs) > 0 {
			res.Logs = append(append(make([]string, 0, len(c.logs)+len(out.Logs)), c.logs...), out.Logs...)
		}
	}
	return res, false, nil
}

// start starts an instance for pl in the background and hands it, or its
// failure, to the pool.
func (p *Platform) start(pl *pool) {
	inst, failed, err := p.launch(p.ctx, pl.action)
	if err != nil && p.ctx.Err() != nil {
		err = errClosed
	}
	p.apply(p.pools.started(pl, inst, failed, err, time.Now()))
}

// launch makes a new instance of a: from a stem cell when one fits, else
// by starting a launcher with the code.
func (p *Platform) launch(ctx context.Context, a *platform.Action) (*instance, *actionloop.Outcome, error) {
	limits := effectiveLimits(a.Limits)
	timeout := time.Duration(limits.Timeout) * time.Millisecond
	if st, spec := p.stems.take(a); spec != nil {
		defer p.refill(spec)
		for st != nil && !st.inst.Usable() { // it died waiting
			p.stopped(st.stop())
			st, _ = p.stems.take(a)
		}
		if st != nil {
			return p.load(ctx, st, a, timeout)
		}
	}
	start := time.Now()
	l, lim, err := p.limiter.limit(p.kinds[a.Kind], memoryOf(a.Kind), limits.Memory)
	if err != nil {
		return nil, nil, err
	}
	li, failed, err := actionloop.Start(ctx, l, p.config(a))
	if err != nil || failed != nil {
		if failed != nil && exhausted(failed.Response, failed.Logs, lim) {
			failed.Response = whisk.Response{StatusCode: whisk.StatusDeveloperError, Result: whisk.ErrorResult(MsgMemoryExhausted)}
		}
		if rerr := lim.release(); rerr != nil && err == nil && failed == nil {
			err = rerr
		}
		return nil, failed, err
	}
	return &instance{proc: li, limit: lim, cold: &coldStart{start: start, initTime: time.Since(start)}}, nil, nil
}

// instanceConfig is the configuration of a new instance with limits,
// without code.
func (p *Platform) instanceConfig(l whisk.Limits) *actionloop.Config {
	l = effectiveLimits(l)
	return &actionloop.Config{
		Dir:         filepath.Join(p.instDir, strconv.FormatUint(p.seq.Add(1), 10)),
		APIHost:     p.apiHost,
		Timeout:     time.Duration(l.Timeout) * time.Millisecond,
		LogLimit:    int64(max(l.Logs, 0)) << 20,
		Concurrency: l.Concurrency,
	}
}

func (p *Platform) config(a *platform.Action) *actionloop.Config {
	c := p.instanceConfig(a.Limits)
	c.Code, c.Binary, c.Main, c.Env = a.Code, a.Binary, a.Main, a.Env
	return c
}

// Deploy retires every other version of a's action: their idle
// instances stop now, busy ones when their activations end (queued ones
// included). Local mode prepares nothing ahead: a's first activation
// starts its instance, from a stem cell when one fits.
func (p *Platform) Deploy(ctx context.Context, a *platform.Action) {
	p.apply(p.pools.deploy(a))
}

// Remove stops the instances of every version of the action, idle ones
// at once and busy ones when their activations (queued ones included)
// end, and waits for those activations (until ctx ends).
func (p *Platform) Remove(ctx context.Context, ref platform.ActionRef) {
	fx, drained := p.pools.remove(ref)
	p.apply(fx)
	for _, ch := range drained {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// Instances counts the instances of the action version with key, running
// or starting, retired ones still running activations included.
func (p *Platform) Instances(key string) int { return p.pools.instances(key) }

// Stats reports the supervisor's counts.
func (p *Platform) Stats() Stats {
	st := p.pools.stats()
	st.Stems = p.stems.count()
	return st
}

// MemoryLimits names how memory limits are enforced: "cgroup2",
// "rlimit" or "off".
func (p *Platform) MemoryLimits() string { return p.limiter.Mode() }

// WaitStems waits until the stem cells of every kind that has them are
// ready (or found not to work), or ctx ends.
func (p *Platform) WaitStems(ctx context.Context) error {
	return p.stems.wait(ctx)
}

// apply carries out what the pools asked for: stops and starts.
func (p *Platform) apply(fx effects) {
	p.stopLater(fx.stop)
	for _, pl := range fx.starts {
		if !p.background(func() { p.start(pl) }) {
			p.apply(p.pools.started(pl, nil, nil, errClosed, time.Now()))
		}
	}
}

// background runs f in a goroutine Close waits for; once Close has begun
// it runs nothing and reports false.
func (p *Platform) background(f func()) bool {
	p.bg.Lock()
	defer p.bg.Unlock()
	if p.bg.closed {
		return false
	}
	p.work.Add(1)
	go func() {
		defer p.work.Done()
		f()
	}()
	return true
}

// stopLater stops instances in the background; Close waits for them and
// reports what failed. Once Close has begun, it stops them right away.
func (p *Platform) stopLater(insts []*instance) {
	for _, inst := range insts {
		if !p.background(func() { p.stopped(inst.Stop()) }) {
			p.stopped(inst.Stop())
		}
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
			p.apply(p.pools.reap(now.Add(-p.idle)))
		}
	}
}

// Close stops every instance and stem cell, busy ones included (their
// Run returns an error), fails the queued activations and waits for the
// processes to exit; each stop is bounded by actionloop. Run fails after
// Close.
func (p *Platform) Close() error {
	p.closing.Do(func() {
		close(p.quit)
		<-p.reaped
		insts := p.pools.close()
		cells := p.stems.close()
		p.cancel() // starts in progress give up
		errs := make([]error, len(insts)+len(cells))
		var wg sync.WaitGroup
		for i, inst := range insts {
			wg.Go(func() { errs[i] = inst.Stop() })
		}
		for i, st := range cells {
			wg.Go(func() { errs[len(insts)+i] = st.stop() })
		}
		wg.Wait()
		p.bg.Lock()
		p.bg.closed = true
		p.bg.Unlock()
		p.work.Wait()
		errs = append(errs, p.limiter.close())
		p.bg.Lock()
		p.closeErr = errors.Join(append(errs, p.bg.errs...)...)
		p.bg.Unlock()
	})
	return p.closeErr
}
