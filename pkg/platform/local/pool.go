package local

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// errClosed is returned by Run after Close.
var errClosed = errors.New("local platform closed")

// process is what the supervisor needs of a running launcher;
// *actionloop.Instance is one, tests use fakes.
type process interface {
	// Run runs one activation; see actionloop.Instance.Run.
	Run(ctx context.Context, r *actionloop.Request) (*actionloop.Outcome, error)
	// Capacity is how many Runs the process takes at once.
	Capacity() int
	// Usable reports whether it can take another activation.
	Usable() bool
	// Stop ends it; Runs in progress fail. Idempotent.
	Stop() error
}

// coldStart is what the first activation on a new instance reports.
type coldStart struct {
	start    time.Time     // when the start began
	initTime time.Duration // until the code was loaded
	logs     []string      // the init's logs, when they were collected apart
}

// instance is a running launcher in a pool.
type instance struct {
	proc     process
	pool     *pool
	limit    *memLimit // nil without one
	slots    int       // activations it may run at once
	active   int       // activations in flight
	lastUsed time.Time // when it last became idle
	retired  bool      // takes no more work; stopped once idle
	cold     *coldStart
}

// Stop stops the process and releases its memory limit.
func (i *instance) Stop() error {
	err := i.proc.Stop()
	if i.limit != nil {
		err = errors.Join(err, i.limit.release())
	}
	return err
}

// waiter is an activation queued for an instance. Its channel receives
// exactly one grant.
type waiter struct {
	pool *pool
	ch   chan grant
}

// grant is what a queued activation gets: a slot on an instance (with
// the cold start to report, for the first one on a new instance), or the
// failed start it must report.
type grant struct {
	inst   *instance
	cold   *coldStart
	failed *actionloop.Outcome // the code did not load: a developer error
	err    error               // the platform could not start an instance
}

// pool holds the instances of one action version (one Action.Key) and
// the activations waiting for them.
type pool struct {
	action *platform.Action // what new instances run
	key    string
	max    int // instances allowed
	slots  int // activations an instance is expected to take at once

	insts    []*instance // serving or idle, not retired
	starting int         // instances being started for it
	queue    []*waiter   // FIFO
	gone     bool        // a newer version or a Remove retired it
	drained  chan struct{}
}

func (p *pool) count() int { return len(p.insts) + p.starting }

func (p *pool) empty() bool { return len(p.insts) == 0 && p.starting == 0 && len(p.queue) == 0 }

// pop takes the first waiter off the queue.
func (p *pool) pop() *waiter {
	if len(p.queue) == 0 {
		return nil
	}
	w := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return w
}

func (p *pool) drop(inst *instance) {
	for k, x := range p.insts {
		if x == inst {
			p.insts = append(p.insts[:k], p.insts[k+1:]...)
			return
		}
	}
}

// effects are what the pools' caller must do once it has let go of the
// lock: stop instances and start new ones for pools.
type effects struct {
	stop   []*instance
	starts []*pool
}

// pools is the supervisor's state: every pool, the instances they hold
// and the host-wide count. Its methods never block on processes; they
// return the effects their caller must apply.
//
// Scaling follows Knative's activator: activations that find no free
// slot queue in FIFO order; a pool starts instances while its queue holds
// more activations than the instances it is starting will take, within
// its cap and the host's (evicting the least recently used idle instance
// of any pool when the host is full) and a few starts at a time (as
// Knative bounds its scale-up rate: starts compete for the CPUs, and the
// first instances up usually drain a burst's queue); whichever slot frees
// up first, on a new instance or a busy one, goes to the head of the
// queue.
type pools struct {
	mu       sync.Mutex
	byKey    map[string]*pool
	every    map[*pool]struct{}     // byKey's and retired ones still holding work
	live     map[*instance]struct{} // started and not yet stopped
	total    int                    // instances, counting those starting
	maxTotal int
	maxPer   int
	maxQueue int
	// maxStarting caps the starts in progress per pool; 0: no cap.
	maxStarting int
	closed      bool
	starved     bool // a pool waits for room on the host
	// newest is the largest Updated stamp heard of per action, by Deploy,
	// Remove or Run: a pool of an older version is born retired, so an
	// activation that resolved the action just before an update or a
	// delete runs, and then its instance stops.
	newest map[whisk.EntityPath]int64
}

func newPools(maxTotal, maxPer, maxQueue int) *pools {
	return &pools{
		byKey:    map[string]*pool{},
		every:    map[*pool]struct{}{},
		live:     map[*instance]struct{}{},
		newest:   map[whisk.EntityPath]int64{},
		maxTotal: maxTotal,
		maxPer:   maxPer,
		maxQueue: maxQueue,
	}
}

// enqueue gives a's activation a free slot at once, or queues it and
// returns its waiter. slots is the capacity a new instance of a is
// expected to have.
func (s *pools) enqueue(a *platform.Action, slots int) (g grant, w *waiter, fx effects, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return grant{}, nil, fx, errClosed
	}
	p := s.pool(a, slots, &fx)
	s.prune(p, &fx)
	if inst := p.free(); inst != nil {
		inst.active++
		return grant{inst: inst}, nil, fx, nil
	}
	if len(p.queue) >= s.maxQueue {
		return grant{}, nil, fx, whisk.Errorf(whisk.KindUnavailable,
			"Too many activations of %s are waiting for an instance (%d).", a.Path, len(p.queue))
	}
	w = &waiter{pool: p, ch: make(chan grant, 1)}
	p.queue = append(p.queue, w)
	s.scale(p, &fx)
	return grant{}, w, fx, nil
}

// free returns the instance to use for one more activation: the busiest
// one with a free slot, the most recently used among equals, so that
// work packs onto few instances and the others can go idle.
func (p *pool) free() *instance {
	var best *instance
	for _, inst := range p.insts {
		if inst.active >= inst.slots || !inst.proc.Usable() {
			continue
		}
		if best == nil || inst.active > best.active || (inst.active == best.active && inst.lastUsed.After(best.lastUsed)) {
			best = inst
		}
	}
	if best != nil {
		best.cold = nil // a start nobody waited for is no cold start
	}
	return best
}

// prune stops p's idle instances whose process has died.
func (s *pools) prune(p *pool, fx *effects) {
	kept := p.insts[:0]
	for _, inst := range p.insts {
		if inst.active == 0 && !inst.proc.Usable() {
			s.forget(inst)
			fx.stop = append(fx.stop, inst)
			continue
		}
		kept = append(kept, inst)
	}
	p.insts = kept
}

// withdraw takes w out of its queue. When w was granted meanwhile it
// returns that grant, which the caller must use or give back. With
// unlessStarting, a waiter that an instance being started will take stays
// queued (covered): its start ends within the init's time limit.
func (s *pools) withdraw(w *waiter, unlessStarting bool) (g grant, granted, covered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case g := <-w.ch:
		return g, true, false
	default:
	}
	p := w.pool
	for k, x := range p.queue {
		if x != w {
			continue
		}
		if unlessStarting && k < p.starting*p.slots {
			return grant{}, false, true
		}
		p.queue = append(p.queue[:k], p.queue[k+1:]...)
		break
	}
	s.settle(p)
	return grant{}, false, false
}

// pool returns a's pool, creating it and retiring the pools of older
// versions of the same action.
func (s *pools) pool(a *platform.Action, slots int, fx *effects) *pool {
	if p := s.byKey[a.Key]; p != nil {
		return p
	}
	p := &pool{action: a, key: a.Key, max: s.maxPer, slots: max(slots, 1)}
	if a.Limits.Instances != nil && *a.Limits.Instances > 0 {
		p.max = min(p.max, *a.Limits.Instances)
	}
	if !s.hear(a.Path, a.Updated) {
		p.gone = true // stale: serves who asked, never joins byKey
		s.every[p] = struct{}{}
		return p
	}
	for _, old := range s.byKey {
		if old.action.Path == a.Path && olderVersion(old.action.Version, a.Version) {
			s.retire(old, fx)
		}
	}
	s.byKey[a.Key] = p
	s.every[p] = struct{}{}
	return p
}

func olderVersion(old, cur string) bool {
	o, err1 := whisk.ParseSemVer(old)
	c, err2 := whisk.ParseSemVer(cur)
	if err1 != nil || err2 != nil {
		return old != cur
	}
	switch {
	case o.Major != c.Major:
		return o.Major < c.Major
	case o.Minor != c.Minor:
		return o.Minor < c.Minor
	}
	return o.Patch < c.Patch
}

// scale starts instances for p while its queue holds more activations
// than the instances it is starting will take, within p's cap and the
// host's, evicting idle instances of any pool to make room.
func (s *pools) scale(p *pool, fx *effects) {
	for !s.closed && len(p.queue) > p.starting*p.slots && p.count() < p.max && (s.maxStarting == 0 || p.starting < s.maxStarting) {
		if s.total >= s.maxTotal {
			victim := s.evict()
			if victim == nil {
				s.starved = true // the host is full of busy instances: wait for one to go idle
				return
			}
			fx.stop = append(fx.stop, victim)
		}
		p.starting++
		s.total++
		fx.starts = append(fx.starts, p)
	}
}

// rescale gives capacity that freed up on the host to the pools waiting
// for it.
func (s *pools) rescale(fx *effects) {
	for p := range s.every {
		if len(p.queue) > p.starting*p.slots {
			s.scale(p, fx)
		}
	}
}

// evict takes the least recently used idle instance of any pool.
func (s *pools) evict() *instance {
	var victim *instance
	for p := range s.every {
		for _, inst := range p.insts {
			if inst.active == 0 && (victim == nil || inst.lastUsed.Before(victim.lastUsed)) {
				victim = inst
			}
		}
	}
	if victim != nil {
		victim.pool.drop(victim)
		s.forget(victim)
		s.settle(victim.pool)
	}
	return victim
}

// forget drops an instance about to be stopped from the counts.
func (s *pools) forget(inst *instance) {
	inst.retired = true
	delete(s.live, inst)
	s.total--
}

// started takes the outcome of a start for p: a new instance serves the
// queue, a failed start is reported to the activation at its head.
func (s *pools) started(p *pool, inst *instance, failed *actionloop.Outcome, err error, now time.Time) (fx effects) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.starting--
	if inst == nil {
		s.total--
		if w := p.pop(); w != nil {
			w.ch <- grant{failed: failed, err: err}
		}
		s.rescale(&fx)
		s.settle(p)
		return fx
	}
	inst.pool = p
	inst.slots = max(1, min(inst.proc.Capacity(), p.slots))
	if inst.proc.Capacity() < p.slots {
		p.slots = max(1, inst.proc.Capacity())
	}
	if s.closed || (p.gone && len(p.queue) == 0) {
		inst.retired = true
		s.total--
		fx.stop = append(fx.stop, inst)
		s.settle(p)
		return fx
	}
	s.live[inst] = struct{}{}
	p.insts = append(p.insts, inst)
	s.dispatch(inst)
	if inst.active == 0 {
		inst.lastUsed, inst.cold = now, nil
	}
	s.scale(p, &fx)
	return fx
}

// dispatch hands inst's free slots to the activations at the head of its
// pool's queue.
func (s *pools) dispatch(inst *instance) {
	p := inst.pool
	for inst.active < inst.slots && len(p.queue) > 0 {
		w := p.pop()
		inst.active++
		g := grant{inst: inst, cold: inst.cold}
		inst.cold = nil
		w.ch <- g
	}
}

// release ends one activation on inst. An instance that is no longer
// usable is retired, stopped once its other activations end, and replaced
// when activations wait.
func (s *pools) release(inst *instance, usable bool, now time.Time) (fx effects) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst.active--
	p := inst.pool
	if !inst.retired && (!usable || !inst.proc.Usable() || s.closed || (p.gone && len(p.queue) == 0)) {
		p.drop(inst)
		inst.retired = true
	}
	if inst.retired {
		if inst.active == 0 {
			if _, ok := s.live[inst]; ok {
				delete(s.live, inst)
				s.total--
			}
			fx.stop = append(fx.stop, inst)
			s.rescale(&fx)
		}
		s.settle(p)
		return fx
	}
	s.dispatch(inst)
	if inst.active == 0 {
		inst.lastUsed = now
		if s.starved {
			s.starved = false
			s.rescale(&fx) // it may make room for them
		}
	}
	s.settle(p)
	return fx
}

// settle forgets a retired pool once nothing is left of it and wakes
// whoever waits for it to drain.
func (s *pools) settle(p *pool) {
	if !p.gone || !p.empty() {
		return
	}
	delete(s.every, p)
	if p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
}

// retire takes p out of use: its idle instances stop now, busy ones when
// their activations end; activations already queued are still served.
func (s *pools) retire(p *pool, fx *effects) {
	p.gone = true
	if s.byKey[p.key] == p {
		delete(s.byKey, p.key)
	}
	if len(p.queue) == 0 {
		kept := p.insts[:0]
		for _, inst := range p.insts {
			if inst.active == 0 {
				s.forget(inst)
				fx.stop = append(fx.stop, inst)
				continue
			}
			kept = append(kept, inst)
		}
		p.insts = kept
	}
	s.rescale(fx)
	s.settle(p)
}

// hear records the stamp of a version of path and reports whether that
// version is current: no older than any heard of. A zero stamp is
// unknown, and current.
func (s *pools) hear(path whisk.EntityPath, updated int64) bool {
	if updated == 0 {
		return true
	}
	if updated < s.newest[path] {
		return false
	}
	s.newest[path] = updated
	return true
}

// deploy makes a the current version of its action: the pools of every
// other version of it are retired.
func (s *pools) deploy(a *platform.Action) (fx effects) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.hear(a.Path, a.Updated) {
		return fx
	}
	for _, p := range s.byKey {
		if p.action.Path == a.Path && p.key != a.Key {
			s.retire(p, &fx)
		}
	}
	return fx
}

// remove retires every pool of ref's action, unless ref is older than a
// version heard of since (the action was created again). It returns
// channels that close when their activations are done.
func (s *pools) remove(ref platform.ActionRef) (fx effects, drained []chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := ref.Path
	if ref.Updated != 0 && ref.Updated < s.newest[path] {
		return fx, nil
	}
	if ref.Updated != 0 {
		// Strictly newer than the deleted version: a Run of it is stale.
		s.newest[path] = ref.Updated + 1
	}
	for p := range s.every {
		if p.action.Path != path {
			continue
		}
		s.retire(p, &fx)
		if _, ok := s.every[p]; ok {
			if p.drained == nil {
				p.drained = make(chan struct{})
			}
			drained = append(drained, p.drained)
		}
	}
	return fx, drained
}

// reap takes out the instances idle since before cutoff, and the pools
// left with nothing.
func (s *pools) reap(cutoff time.Time) (fx effects) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.every {
		kept := p.insts[:0]
		for _, inst := range p.insts {
			if inst.active == 0 && inst.lastUsed.Before(cutoff) {
				s.forget(inst)
				fx.stop = append(fx.stop, inst)
				continue
			}
			kept = append(kept, inst)
		}
		p.insts = kept
		if p.empty() && !p.gone {
			delete(s.byKey, p.key)
			delete(s.every, p)
		}
		s.settle(p)
	}
	if len(fx.stop) > 0 {
		s.rescale(&fx)
	}
	s.forgetStamps()
	return fx
}

// forgetStamps bounds newest: past a few thousand actions it keeps only
// the stamps of actions with pools. What it forgets only lets a stale
// activation's instance idle out instead of stopping at once.
func (s *pools) forgetStamps() {
	if len(s.newest) <= 4096 {
		return
	}
	keep := map[whisk.EntityPath]bool{}
	for p := range s.every {
		keep[p.action.Path] = true
	}
	for path := range s.newest {
		if !keep[path] {
			delete(s.newest, path)
		}
	}
}

// instances counts the instances of the version with key, running or
// starting, retired ones with work left included.
func (s *pools) instances(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p := range s.every {
		if p.key == key {
			n += p.count()
		}
	}
	for inst := range s.live {
		if inst.retired && inst.pool != nil && inst.pool.key == key {
			n++ // dropped from its pool, still running its activations
		}
	}
	return n
}

// close marks the platform closed, fails every queued activation and
// takes out every live instance, busy ones included.
func (s *pools) close() (stop []*instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for p := range s.every {
		for w := p.pop(); w != nil; w = p.pop() {
			w.ch <- grant{err: errClosed}
		}
		p.insts = nil
		if p.drained != nil {
			close(p.drained)
			p.drained = nil
		}
	}
	for inst := range s.live {
		inst.retired = true
		stop = append(stop, inst)
	}
	s.live = map[*instance]struct{}{}
	s.byKey = map[string]*pool{}
	s.every = map[*pool]struct{}{}
	return stop
}

// Stats is a snapshot of the supervisor's counts.
type Stats struct {
	Pools     int // action versions with instances or work
	Instances int // running or starting
	Starting  int
	Idle      int // started and running no activation
	Busy      int // activations in flight
	Queued    int // activations waiting for an instance
	Stems     int // prewarmed stem cells ready
}

func (s *pools) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Pools: len(s.every), Instances: s.total}
	for p := range s.every {
		st.Starting += p.starting
		st.Queued += len(p.queue)
		for _, inst := range p.insts {
			st.Busy += inst.active
			if inst.active == 0 {
				st.Idle++
			}
		}
	}
	return st
}
