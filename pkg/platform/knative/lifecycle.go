package knative

import (
	"context"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// ChangeTimeout bounds one background Service write of a Deploy or a
// Remove.
const ChangeTimeout = time.Minute

// Deploy makes the Service of a's action run a, in the background: it
// returns at once, so `wsk action create` never waits for Kubernetes,
// let alone for a revision to become Ready. The Service (and, unless
// initial-scale is 0, a first pod) is under way before the first invoke,
// and a Run of the action waits for the write to be done first. A
// failure is logged (Options.Log): the store is the truth, the first
// Run tries again and Reconcile at the next start repairs. Sequences and
// kinds without an image have no Service: Deploy does nothing.
func (p *Platform) Deploy(_ context.Context, a *platform.Action) {
	if !p.runs(a) {
		return
	}
	p.changes.submit(a.Path, a.Updated, a)
}

// Remove deletes the Service of the action at ref.Path in the background
// (see Delete): it returns at once; running pods finish their requests as
// they terminate. A failure is logged, and Reconcile at the next start
// deletes the Service of an action that is gone.
func (p *Platform) Remove(_ context.Context, ref platform.ActionRef) {
	p.changes.submit(ref.Path, ref.Updated, nil)
}

// apply carries out one change: the Service is deleted first when the
// change removes it, then made to run ch.a when there is one.
func (p *Platform) apply(ctx context.Context, path whisk.EntityPath, ch change) {
	ctx, cancel := context.WithTimeout(ctx, ChangeTimeout)
	defer cancel()
	if ch.remove {
		if err := p.Delete(ctx, path); err != nil {
			p.o.Log.Error("remove Service", logging.KeyAction, path.String(), logging.Err(err))
			return
		}
	}
	a := ch.a
	if a == nil {
		return
	}
	v := p.build(a)
	p.versions.put(a.Key, v)
	res, err := p.ensure(ctx, v, true)
	if err == nil && res != nil {
		err = whisk.Invalid("%s", string(res.Response.Result))
	}
	if err != nil {
		p.o.Log.Error("deploy Service", logging.KeyAction, path.String(), logging.Err(err))
	}
}

// changes holds the Deploys and Removes not yet applied, and knows, by
// their Updated stamps, which version of each action is current.
//
// Changes of one action apply one at a time in stamp order, on a worker
// per action; changes of different actions go in parallel. A Deploy
// replaces a Deploy still waiting (only the last version matters), but
// not a Remove: an action deleted and created again gets new instances,
// never the deleted one's warm ones, even when its content is the same.
// Changes are accepted from New on and applied from Start until its
// context ends.
type changes struct {
	apply func(ctx context.Context, path whisk.EntityPath, ch change)

	mu      sync.Mutex
	ctx     context.Context // of Start; nil before
	newest  map[whisk.EntityPath]int64
	pending map[whisk.EntityPath]*change
	workers map[whisk.EntityPath]chan struct{} // closed when the worker ends
	wg      sync.WaitGroup
}

// change is what a worker does for an action: delete its Service when
// remove is set, then, when a is not nil, make its Service run a.
type change struct {
	remove bool
	a      *platform.Action
}

func newChanges(apply func(context.Context, whisk.EntityPath, change)) *changes {
	return &changes{
		apply:   apply,
		newest:  map[whisk.EntityPath]int64{},
		pending: map[whisk.EntityPath]*change{},
		workers: map[whisk.EntityPath]chan struct{}{},
	}
}

// hear records the stamp of a version of path and reports whether it is
// current: no older than any version heard of. A zero stamp is unknown,
// and current.
func (c *changes) hear(path whisk.EntityPath, updated int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hearLocked(path, updated)
}

func (c *changes) hearLocked(path whisk.EntityPath, updated int64) bool {
	if updated == 0 {
		return true
	}
	if updated < c.newest[path] {
		return false
	}
	c.newest[path] = updated
	return true
}

// known reports whether a change or a run of path was heard of since
// New: Reconcile leaves such an action's Service to the changes.
func (c *changes) known(path whisk.EntityPath) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.newest[path]
	return ok
}

// submit queues a change of path stamped updated (a nil a: a Remove),
// unless a newer one was heard of.
func (c *changes) submit(path whisk.EntityPath, updated int64, a *platform.Action) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil && c.ctx.Err() != nil {
		return // stopped: Reconcile at the next start covers it
	}
	if a == nil && updated != 0 {
		if updated < c.newest[path] {
			return // the action was created again since
		}
		// Strictly newer than the deleted version: it is not current.
		c.newest[path] = updated + 1
	} else if !c.hearLocked(path, updated) {
		return
	}
	ch := &change{remove: a == nil, a: a}
	if prev := c.pending[path]; prev != nil && prev.remove {
		ch.remove = true // the delete still waiting goes first
	}
	c.pending[path] = ch
	c.startLocked(path)
}

// startLocked starts path's worker, once Start has run.
func (c *changes) startLocked(path whisk.EntityPath) {
	if c.ctx == nil || c.ctx.Err() != nil || c.workers[path] != nil {
		return
	}
	done := make(chan struct{})
	c.workers[path] = done
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.work(path, done)
	}()
}

// work applies path's changes until none is left.
func (c *changes) work(path whisk.EntityPath, done chan struct{}) {
	for {
		c.mu.Lock()
		ch := c.pending[path]
		delete(c.pending, path)
		if ch == nil || c.ctx.Err() != nil {
			delete(c.workers, path)
			close(done)
			c.forgetLocked(path)
			c.mu.Unlock()
			return
		}
		ctx := c.ctx
		c.mu.Unlock()
		c.apply(ctx, path, *ch)
	}
}

// forgetLocked bounds newest: past a few thousand actions, the stamps of
// actions without work are dropped. What it forgets only lets a stale
// activation recreate a Service that Reconcile removes at the next start.
func (c *changes) forgetLocked(path whisk.EntityPath) {
	if len(c.newest) <= 4096 {
		return
	}
	for p := range c.newest {
		if c.workers[p] == nil && c.pending[p] == nil {
			delete(c.newest, p)
		}
	}
}

// settled waits until the changes of path submitted so far are applied,
// or ctx ends: a Run reads the platform's own writes.
func (c *changes) settled(ctx context.Context, path whisk.EntityPath) error {
	for {
		c.mu.Lock()
		done := c.workers[path]
		c.mu.Unlock()
		if done == nil {
			return nil
		}
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// run applies changes until ctx ends, then waits for the writes under
// way (they end with ctx). Changes left then are dropped: Reconcile at
// the next start covers them.
func (c *changes) run(ctx context.Context) {
	c.mu.Lock()
	c.ctx = ctx
	for path := range c.pending {
		c.startLocked(path)
	}
	c.mu.Unlock()
	<-ctx.Done()
	c.wg.Wait()
}
