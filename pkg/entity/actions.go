package entity

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Runtimes tells which kinds can run here.
type Runtimes interface {
	Runtimes() []platform.Runtime
}

// Lifecycle is the platform's side of action writes, told after each
// one succeeded so it can prepare the new version and let go of the old
// ones at once rather than at an idle timeout.
//
// The calls are synchronous, bounded by LifecycleWait: the platform only
// takes the change on (Knative writes its Service in the background, and
// a write request never waits for a revision to become Ready); local
// mode's Remove waits, within the bound, for activations in flight. They
// report no error: the write stands, since the store is the truth, and a
// platform logs its own failures and repairs them when it starts.
type Lifecycle interface {
	Deploy(ctx context.Context, a *platform.Action)
	Remove(ctx context.Context, ref platform.ActionRef)
}

// LifecycleWait bounds the lifecycle calls of one write.
const LifecycleWait = 2 * time.Second

// Validator is a platform that can tell, before an action is stored,
// that it would refuse to run the action as written (Knative validating
// the Service it would build); its error is a 400 naming the setting.
// Platforms that accept whatever the API accepts need not implement it.
type Validator interface {
	ValidateAction(ctx context.Context, a *platform.Action) error
}

// Platform is what the action collection needs of the data plane.
type Platform interface {
	Runtimes
	Lifecycle
}

// Actions is the action collection.
type Actions struct {
	store    store.Entities
	runtimes Runtimes
	life     Lifecycle
	resolver *Resolver // checks sequences
	bounds   whisk.LimitBounds

	cache *actionCache // shared with packages: a forced package delete drops entries
}

// NewActions returns the action collection over st and the resolver over
// it and packages. They are made together because each needs the other:
// the resolver reads actions, and a sequence is checked by resolving its
// components.
func NewActions(st store.Entities, plat Platform, bounds whisk.LimitBounds, packages *Packages) (*Actions, *Resolver) {
	a := &Actions{store: st, runtimes: plat, life: plat, bounds: bounds, cache: packages.actions}
	a.resolver = &Resolver{actions: a, packages: packages, maxSequence: DefaultSequenceSize}
	return a, a.resolver
}

// Bounds returns the limit bounds actions are validated against.
func (s *Actions) Bounds() whisk.LimitBounds { return s.bounds }

// Get returns the action at path. A name taken by another collection is a
// 409; a missing one a 404.
func (s *Actions) Get(ctx context.Context, path whisk.EntityPath) (*whisk.Action, error) {
	key := path.String()
	a, gen, ok := s.cache.get(key)
	if ok {
		return a, nil
	}
	a, _, err := s.load(ctx, path)
	if err != nil {
		return nil, err
	}
	s.cache.put(key, a, gen)
	return a, nil
}

func (s *Actions) load(ctx context.Context, path whisk.EntityPath) (*whisk.Action, int64, error) {
	return getAs[whisk.Action](ctx, s.store, store.Actions, path.Parent(), path.Name)
}

// Put creates or updates the action at path from a PUT body.
func (s *Actions) Put(ctx context.Context, path whisk.EntityPath, put *whisk.ActionPut, overwrite bool) (*whisk.Action, error) {
	if err := put.CheckSizes(); err != nil {
		return nil, err
	}
	if err := checkKeyValues(put.Parameters, put.Annotations); err != nil {
		return nil, err
	}
	if err := s.checkPackage(ctx, path); err != nil {
		return nil, err
	}
	old, rev, err := s.load(ctx, path)
	if err := existsCheck(err, old != nil, overwrite); err != nil {
		return nil, err
	}
	var exec *whisk.Exec
	if put.Exec != nil {
		e, err := s.resolveExec(ctx, path, put.Exec)
		if err != nil {
			return nil, err
		}
		exec = &e
	}
	now := updatedClock.next()
	var a *whisk.Action
	if old == nil {
		if exec == nil {
			return nil, whisk.Invalid(whisk.MsgExecUndefined)
		}
		a = whisk.NewAction(path, put, *exec, s.bounds, now)
	} else {
		if exec == nil {
			if err := s.checkDeprecated(old.Exec.Kind); err != nil {
				return nil, err
			}
		}
		a = old.Update(put, exec, now)
	}
	if a.Exec.Kind == whisk.KindSequence {
		a.Parameters = sequenceParameters(a.Exec)
	}
	if err := s.bounds.Validate(a.Limits, 0); err != nil {
		return nil, err
	}
	if v, ok := s.life.(Validator); ok {
		if err := v.ValidateAction(ctx, platform.ActionOf(a)); err != nil {
			return nil, err
		}
	}
	if err := putAs(ctx, s.store, store.Actions, a.Namespace, a.Name, rev, now, a); err != nil {
		if errors.Is(err, store.ErrExists) && old == nil && overwrite {
			return nil, store.ErrStale
		}
		return nil, err
	}
	s.cache.drop(path.String())
	ctx, cancel := context.WithTimeout(ctx, LifecycleWait)
	defer cancel()
	s.life.Deploy(ctx, platform.ActionOf(a))
	return a, nil
}

// MsgBindingWrite refuses writes through a package binding.
const MsgBindingWrite = "Operation not permitted on package binding."

// Delete removes the action at path and returns it.
func (s *Actions) Delete(ctx context.Context, path whisk.EntityPath) (*whisk.Action, error) {
	if err := s.checkPackage(ctx, path); err != nil {
		return nil, err
	}
	a, rev, err := s.load(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteEntity(ctx, path.Parent(), path.Name, rev); err != nil {
		return nil, err
	}
	s.cache.drop(path.String())
	ctx, cancel := context.WithTimeout(ctx, LifecycleWait)
	defer cancel()
	s.life.Remove(ctx, platform.RefOf(a))
	return a, nil
}

// List returns actions of a namespace (including its packages' actions) or
// of one package, newest first, and the total count.
func (s *Actions) List(ctx context.Context, ns, pkg string, skip, limit int) ([]*whisk.Action, int, error) {
	q := store.ListQuery{Collection: store.Actions, Namespace: ns, WithPackages: true, Skip: skip, Limit: limit}
	if pkg != "" {
		q.Namespace, q.WithPackages = ns+"/"+pkg, false
	}
	return listAs[whisk.Action](ctx, s.store, q)
}

// checkPackage makes sure a packaged action's package exists.
func (s *Actions) checkPackage(ctx context.Context, path whisk.EntityPath) error {
	if path.Package == "" {
		return nil
	}
	pkg, _, err := getAs[whisk.Package](ctx, s.store, store.Packages, path.Namespace, path.Package)
	if store.IsNotFound(err) {
		return whisk.Errorf(whisk.KindNotFound, "The requested resource '%s/%s' does not exist.", path.Namespace, path.Package)
	}
	if err != nil {
		return err
	}
	if pkg.IsBinding() {
		return whisk.Invalid(MsgBindingWrite)
	}
	return nil
}

// resolveExec turns a PUT exec into a stored one: kind resolution against
// the runtimes that exist here, code type and binary detection.
func (s *Actions) resolveExec(ctx context.Context, self whisk.EntityPath, p *whisk.ExecPut) (whisk.Exec, error) {
	kind := strings.ToLower(strings.TrimSpace(p.Kind))
	if kind == whisk.KindSequence {
		return s.resolver.sequenceExec(ctx, self.Namespace, self, p.Components)
	}
	e := whisk.Exec{Kind: kind, Main: p.Main, Image: p.Image}
	if len(p.Code) > 0 && string(p.Code) != "null" {
		var code string
		if err := json.Unmarshal(p.Code, &code); err != nil {
			return e, whisk.Malformed("'code' must be a string defined in 'exec'")
		}
		e.Code = &code
		e.Binary = whisk.IsBinaryCode(code)
	}
	rt, ok := s.lookup(kind)
	if !ok {
		return e, whisk.Malformed(s.unsupported(kind))
	}
	if kind == whisk.KindBlackbox {
		// A docker image runs only where the platform runs images; native
		// code (a zip or script with an exec) runs wherever blackbox does,
		// and so does the docker skeleton without code (its stub).
		switch {
		case e.Image == "":
			return e, whisk.Malformed("'image' must be a string defined in 'exec' for 'blackbox' actions")
		case rt.CodeOnly && strings.TrimSpace(e.CodeString()) == "" && !whisk.IsDockerSkeleton(e.Image):
			return e, whisk.Invalid("docker images need the knative platform")
		}
		return e, nil
	}
	if rt.Deprecated {
		return e, whisk.Invalid("The '%s' runtime is no longer supported. You may read and delete but not update or invoke this action.", rt.Kind)
	}
	if rt.RequireMain && e.Main == "" {
		return e, whisk.Invalid("'main' must be a string defined in 'exec' for '%s' actions", rt.Kind)
	}
	e.Kind = rt.Kind
	if e.Code == nil {
		empty := ""
		e.Code = &empty
	}
	return e, nil
}

func (s *Actions) checkDeprecated(kind string) error {
	if rt, ok := s.lookup(kind); ok && rt.Deprecated {
		return whisk.Invalid("The '%s' runtime is no longer supported. You may read and delete but not update or invoke this action.", rt.Kind)
	}
	return nil
}

// lookup finds a runtime by kind; "<family>:default" names the family's
// default kind.
func (s *Actions) lookup(kind string) (platform.Runtime, bool) {
	family, version, _ := strings.Cut(kind, ":")
	for _, rt := range s.runtimes.Runtimes() {
		if rt.Kind == kind || (version == "default" && rt.Family == family && rt.Default) {
			return rt, true
		}
	}
	return platform.Runtime{}, false
}

// unsupported refuses kind with the platform's message: the kinds it
// offers, and why the kind's family is missing when the platform knows.
func (s *Actions) unsupported(kind string) string {
	return platform.UnsupportedKind(s.runtimes, kind)
}

// Forget drops what the collections cached of the entity namespace/name
// (namespace "ns" or "ns/pkg"), which another gateway replica sharing the
// store changed. Writes through this process need no call.
func (s *Actions) Forget(namespace, name string) {
	s.cache.drop(namespace + "/" + name)
}

// ForgetAll drops everything the collections cached, for when changes
// made by other replicas may have gone unheard.
func (s *Actions) ForgetAll() { s.cache.dropAll() }

// actionCache keeps decoded actions for the invoke path. Writes through
// Actions drop entries and bump the generation, so a load that raced a
// write never caches the old document. Writes by other replicas sharing
// the store reach it through Forget.
type actionCache struct {
	mu  sync.RWMutex
	gen uint64
	m   map[string]*whisk.Action
}

func (c *actionCache) get(key string) (*whisk.Action, uint64, bool) {
	c.mu.RLock()
	a, ok := c.m[key]
	gen := c.gen
	c.mu.RUnlock()
	return a, gen, ok
}

func (c *actionCache) put(key string, a *whisk.Action, gen uint64) {
	c.mu.Lock()
	if c.gen == gen {
		if len(c.m) > 4096 {
			c.m = map[string]*whisk.Action{}
		}
		c.m[key] = a
	}
	c.mu.Unlock()
}

func (c *actionCache) drop(key string) {
	c.mu.Lock()
	c.gen++
	delete(c.m, key)
	c.mu.Unlock()
}

func (c *actionCache) dropAll() {
	c.mu.Lock()
	c.gen++
	c.m = map[string]*whisk.Action{}
	c.mu.Unlock()
}
