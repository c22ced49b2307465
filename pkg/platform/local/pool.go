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

// instance is a running launcher and the pool it counts against.
type instance struct {
	*actionloop.Instance
	pool     *pool
	lastUsed time.Time
}

// pool holds the instances of one action version (one Action.Key).
type pool struct {
	key     string
	path    whisk.EntityPath
	version string
	max     int // instances allowed

	idle    []*instance // most recently used last
	busy    int         // instances running an activation or starting
	gone    bool        // removed or retired: released instances stop
	drained chan struct{}
}

func (p *pool) count() int { return len(p.idle) + p.busy }

// pools is the platform's mutable state: every pool, the instances they
// hold and the host-wide count. Its methods never block on processes; they
// hand back the instances their caller must stop.
type pools struct {
	mu       sync.Mutex
	byKey    map[string]*pool
	live     map[*instance]struct{} // started and not yet stopped
	total    int                    // instances, counting those starting
	maxTotal int
	maxPer   int
	waiters  int
	wake     chan struct{} // closed and replaced when a slot or an instance frees up
	closed   bool
}

func newPools(maxTotal, maxPer int) *pools {
	return &pools{
		byKey:    map[string]*pool{},
		live:     map[*instance]struct{}{},
		maxTotal: maxTotal,
		maxPer:   maxPer,
		wake:     make(chan struct{}),
	}
}

// acquire returns an idle instance of a's pool, or reserves a slot for a new
// one (nil instance, non-nil pool), waiting while both caps are reached
// until ctx ends or until (when not zero). The instances in stop were
// evicted to make room and must be stopped by the caller.
func (s *pools) acquire(ctx context.Context, a *platform.Action, until time.Time) (inst *instance, p *pool, stop []*instance, err error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return nil, nil, stop, errClosed
		}
		var retired []*instance
		p, retired = s.pool(a)
		stop = append(stop, retired...)
		for n := len(p.idle); n > 0; n = len(p.idle) {
			inst = p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			if !inst.Usable() { // its process died while idle
				s.forget(inst)
				stop = append(stop, inst)
				continue
			}
			p.busy++
			return inst, p, stop, nil
		}
		if p.count() < p.max {
			if s.total >= s.maxTotal {
				if victim := s.evict(); victim != nil {
					stop = append(stop, victim)
				}
			}
			if s.total < s.maxTotal {
				p.busy++
				s.total++
				return nil, p, stop, nil
			}
		}

		wake := s.wake
		s.waiters++
		s.mu.Unlock()
		var expired <-chan time.Time
		if !until.IsZero() {
			if timer == nil {
				timer = time.NewTimer(time.Until(until))
			}
			expired = timer.C
		}
		select {
		case <-wake:
		case <-ctx.Done():
			err = ctx.Err()
		case <-expired:
			err = whisk.Errorf(whisk.KindUnavailable, "No instance of %s became free before the activation's deadline.", a.Path)
		}
		s.mu.Lock()
		s.waiters--
		if err != nil {
			return nil, nil, stop, err
		}
	}
}

// pool returns a's pool, creating it and retiring the pools of older
// versions of the same action. Retired pools' idle instances are returned
// for stopping.
func (s *pools) pool(a *platform.Action) (*pool, []*instance) {
	if p := s.byKey[a.Key]; p != nil {
		return p, nil
	}
	p := &pool{key: a.Key, path: a.Path, version: a.Version, max: s.maxPer}
	if a.Limits.Instances != nil && *a.Limits.Instances > 0 {
		p.max = min(p.max, *a.Limits.Instances)
	}
	var stop []*instance
	for key, old := range s.byKey {
		if old.path == a.Path && olderVersion(old.version, a.Version) {
			delete(s.byKey, key)
			stop = append(stop, s.retire(old)...)
		}
	}
	s.byKey[a.Key] = p
	return p, stop
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

// retire marks p gone and takes its idle instances out for stopping.
func (s *pools) retire(p *pool) []*instance {
	p.gone = true
	stop := p.idle
	p.idle = nil
	for _, inst := range stop {
		s.forget(inst)
	}
	if p.busy == 0 && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
	s.broadcast()
	return stop
}

// evict takes the least recently used idle instance of any pool.
func (s *pools) evict() *instance {
	var victim *instance
	for _, p := range s.byKey {
		if len(p.idle) > 0 && (victim == nil || p.idle[0].lastUsed.Before(victim.lastUsed)) {
			victim = p.idle[0]
		}
	}
	if victim != nil {
		p := victim.pool
		p.idle = p.idle[1:]
		s.forget(victim)
	}
	return victim
}

// forget drops a stopped (or to be stopped) instance from the counts.
func (s *pools) forget(inst *instance) {
	delete(s.live, inst)
	s.total--
}

// started registers a new instance in the slot acquire reserved. It
// reports false when the platform closed meanwhile; the caller stops it.
func (s *pools) started(inst *instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.live[inst] = struct{}{}
	return true
}

// failed gives back the slot of an instance that did not start.
func (s *pools) failed(p *pool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.busy--
	s.total--
	s.done(p)
}

// release returns a busy instance to its pool. It reports whether the
// caller must stop it: because it is unusable, its pool is gone or the
// platform closed.
func (s *pools) release(inst *instance, now time.Time) (stop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := inst.pool
	p.busy--
	if s.closed || p.gone || !inst.Usable() {
		if _, ok := s.live[inst]; ok {
			s.forget(inst)
		}
		s.done(p)
		return true
	}
	inst.lastUsed = now
	p.idle = append(p.idle, inst)
	s.done(p)
	return false
}

// done wakes waiters and, when a gone pool has nothing left running,
// whoever waits for it to drain.
func (s *pools) done(p *pool) {
	if p.gone && p.busy == 0 && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
	s.broadcast()
}

func (s *pools) broadcast() {
	if s.waiters > 0 {
		close(s.wake)
		s.wake = make(chan struct{})
	}
}

// remove retires every pool of path. It returns the idle instances to stop
// and channels that close when the busy ones are done.
func (s *pools) remove(path whisk.EntityPath) (stop []*instance, drained []chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, p := range s.byKey {
		if p.path != path {
			continue
		}
		delete(s.byKey, key)
		if p.busy > 0 {
			p.drained = make(chan struct{})
			drained = append(drained, p.drained)
		}
		stop = append(stop, s.retire(p)...)
	}
	return stop, drained
}

// reap takes out the instances idle since before cutoff.
func (s *pools) reap(cutoff time.Time) (stop []*instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, p := range s.byKey {
		n := 0
		for n < len(p.idle) && p.idle[n].lastUsed.Before(cutoff) {
			s.forget(p.idle[n])
			stop = append(stop, p.idle[n])
			n++
		}
		if n > 0 {
			p.idle = append(p.idle[:0], p.idle[n:]...)
		}
		if p.count() == 0 {
			delete(s.byKey, key)
		}
	}
	if len(stop) > 0 {
		s.broadcast()
	}
	return stop
}

// close marks the platform closed and takes out every live instance, busy
// ones included.
func (s *pools) close() (stop []*instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for inst := range s.live {
		stop = append(stop, inst)
	}
	s.live = map[*instance]struct{}{}
	for _, p := range s.byKey {
		p.idle = nil
	}
	s.byKey = map[string]*pool{}
	s.broadcast()
	return stop
}

// counts reports the number of pools and instances, for tests.
func (s *pools) counts() (pools, instances int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey), s.total
}
