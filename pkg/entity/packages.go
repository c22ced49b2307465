package entity

import (
	"context"
	"fmt"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Messages of package and binding checks.
const (
	MsgPackageReserved   = "Package name 'default' is reserved."
	MsgBindingMissing    = "Binding references a package that does not exist."
	MsgBindingOfBinding  = "Cannot bind to another package binding."
	MsgBindingNotPackage = "Cannot bind to a resource that is not a package."
	MsgPackageToBinding  = "Resource is a package and cannot be converted into a binding."
)

// Packages is the package collection, bindings included.
type Packages struct {
	store store.Entities
	life  Lifecycle // hears of the actions a forced delete removes
	// actions is the action collection's read cache (NewActions shares
	// it), dropped for the actions a forced delete removes.
	actions *actionCache
}

// NewPackages returns the package collection over st.
func NewPackages(st store.Entities, life Lifecycle) *Packages {
	return &Packages{store: st, life: life, actions: &actionCache{m: map[string]*whisk.Action{}}}
}

func (s *Packages) load(ctx context.Context, ns, name string) (*whisk.Package, int64, error) {
	return getAs[whisk.Package](ctx, s.store, store.Packages, ns, name)
}

// readable loads a package caller may read: its own, or another
// namespace's published package. Others' private or missing packages are
// 403 so existence does not leak; the caller's own missing one is 404
// naming it.
func (s *Packages) readable(ctx context.Context, caller, ns, name string) (*whisk.Package, error) {
	p, _, err := s.load(ctx, ns, name)
	if ns == caller {
		if store.IsNotFound(err) {
			return nil, whisk.Errorf(whisk.KindNotFound, "The requested resource '%s/%s' does not exist.", ns, name)
		}
		return p, err
	}
	if err != nil && !store.IsNotFound(err) && !whisk.IsKind(err, whisk.KindConflict) {
		return nil, err
	}
	if err != nil || !p.Publish || p.IsBinding() {
		return nil, forbidden(ns + "/" + name)
	}
	return p, nil
}

// Get returns the package view: a binding shows the bound package's
// parameters overridden by its own, and the bound package's actions.
func (s *Packages) Get(ctx context.Context, caller string, path whisk.EntityPath) (*whisk.PackageView, error) {
	p, err := s.readable(ctx, caller, path.Namespace, path.Name)
	if err != nil {
		return nil, err
	}
	view := &whisk.PackageView{Package: *p}
	contents := p.Path()
	if p.IsBinding() {
		bound, _, err := s.load(ctx, p.Binding.Namespace, p.Binding.Name)
		if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
		if bound != nil {
			view.Parameters = bound.Parameters.Merge(p.Parameters)
			contents = bound.Path()
		}
	}
	view.Parameters = nonNilKV(view.Parameters)
	view.Annotations = nonNilKV(view.Annotations)
	actions, _, err := listAs[whisk.Action](ctx, s.store, store.ListQuery{Collection: store.Actions, Namespace: contents.Namespace + "/" + contents.Name})
	if err != nil {
		return nil, err
	}
	view.Actions, view.Feeds = []whisk.PackageAction{}, []whisk.PackageAction{}
	for _, a := range actions {
		pa := whisk.PackageAction{Name: a.Name, Version: a.Version, Annotations: nonNilKV(a.Annotations)}
		if a.Annotations.Has("feed") {
			view.Feeds = append(view.Feeds, pa)
		} else {
			view.Actions = append(view.Actions, pa)
		}
	}
	return view, nil
}

// Put creates or updates a package or binding in caller's namespace.
func (s *Packages) Put(ctx context.Context, caller string, path whisk.EntityPath, put *whisk.PackagePut, overwrite bool) (*whisk.Package, error) {
	if path.Name == whisk.DefaultPackage {
		return nil, whisk.Invalid(MsgPackageReserved)
	}
	if err := checkKeyValues(put.Parameters, put.Annotations); err != nil {
		return nil, err
	}
	old, rev, err := s.load(ctx, path.Namespace, path.Name)
	if err := existsCheck(err, old != nil, overwrite); err != nil {
		return nil, err
	}
	var binding *whisk.Binding
	if put.Binding != nil && !put.Binding.IsZero() {
		b := *put.Binding
		if b.Namespace == "" || b.Namespace == whisk.DefaultNamespace {
			b.Namespace = path.Namespace
		}
		if err := s.checkBindingTarget(ctx, caller, b); err != nil {
			return nil, err
		}
		if old != nil && !old.IsBinding() {
			return nil, whisk.Errorf(whisk.KindConflict, MsgPackageToBinding)
		}
		binding = &b
	}
	now := updatedClock.next()
	p := &whisk.Package{Namespace: path.Namespace, Name: path.Name, Version: whisk.DefaultVersion, Parameters: whisk.KeyValues{}, Annotations: whisk.KeyValues{}}
	if old != nil {
		p = old
		p.Version = old.Version.Bump()
	}
	if binding != nil {
		p.Binding = *binding
	}
	if put.Parameters != nil {
		p.Parameters = copyKV(put.Parameters)
	}
	if put.Annotations != nil {
		p.Annotations = copyKV(put.Annotations)
	}
	if put.Version != nil {
		p.Version = *put.Version
	}
	if put.Publish != nil {
		p.Publish = *put.Publish
	}
	// The server owns the binding annotation.
	p.Annotations = p.Annotations.Delete("binding")
	if p.IsBinding() {
		p.Annotations = p.Annotations.Set("binding", map[string]string{"namespace": p.Binding.Namespace, "name": p.Binding.Name})
	}
	p.Updated = now
	if err := putAs(ctx, s.store, store.Packages, p.Namespace, p.Name, rev, now, p); err != nil {
		if store.IsExists(err) && old == nil && overwrite {
			return nil, store.ErrStale
		}
		return nil, err
	}
	return p, nil
}

func (s *Packages) checkBindingTarget(ctx context.Context, caller string, b whisk.Binding) error {
	if err := whisk.CheckNamespace(b.Namespace); err != nil {
		return err
	}
	if err := whisk.CheckName(b.Name); err != nil {
		return err
	}
	target, _, err := s.load(ctx, b.Namespace, b.Name)
	switch {
	case whisk.IsKind(err, whisk.KindConflict):
		return whisk.Errorf(whisk.KindConflict, MsgBindingNotPackage)
	case store.IsNotFound(err):
		if b.Namespace != caller {
			return forbidden(b.Namespace + "/" + b.Name)
		}
		return whisk.Invalid(MsgBindingMissing)
	case err != nil:
		return err
	}
	if b.Namespace != caller && !target.Publish {
		return forbidden(b.Namespace + "/" + b.Name)
	}
	if target.IsBinding() {
		return whisk.Invalid(MsgBindingOfBinding)
	}
	return nil
}

// Delete removes a package (with force, its actions first) or a binding.
func (s *Packages) Delete(ctx context.Context, path whisk.EntityPath, force bool) (*whisk.Package, error) {
	p, rev, err := s.load(ctx, path.Namespace, path.Name)
	if store.IsNotFound(err) {
		return nil, whisk.NotFound()
	}
	if err != nil {
		return nil, err
	}
	if !p.IsBinding() {
		actions, n, err := listAs[whisk.Action](ctx, s.store, store.ListQuery{Collection: store.Actions, Namespace: path.Namespace + "/" + path.Name})
		if err != nil {
			return nil, err
		}
		if n > 0 && !force {
			noun := "entities"
			if n == 1 {
				noun = "entity"
			}
			return nil, whisk.Errorf(whisk.KindConflict, "Package not empty (contains %d %s). Set force param or delete package contents.", n, noun)
		}
		// One bound for all the removes: the delete does not wait longer
		// for a package of many actions.
		lctx, cancel := context.WithTimeout(ctx, LifecycleWait)
		defer cancel()
		for _, a := range actions {
			if err := s.store.DeleteEntity(ctx, a.Namespace, a.Name, 0); err != nil && !store.IsNotFound(err) {
				return nil, fmt.Errorf("delete %s/%s: %w", a.Namespace, a.Name, err)
			}
			s.actions.drop(a.Path().String())
			s.life.Remove(lctx, platform.RefOf(a))
		}
	}
	if err := s.store.DeleteEntity(ctx, path.Namespace, path.Name, rev); err != nil {
		return nil, err
	}
	return p, nil
}

// List returns packages of ns as caller sees them: all of its own, or
// another namespace's published packages that are not bindings.
func (s *Packages) List(ctx context.Context, caller, ns string, skip, limit int) ([]*whisk.Package, int, error) {
	if ns == caller {
		return listAs[whisk.Package](ctx, s.store, store.ListQuery{Collection: store.Packages, Namespace: ns, Skip: skip, Limit: limit})
	}
	all, _, err := listAs[whisk.Package](ctx, s.store, store.ListQuery{Collection: store.Packages, Namespace: ns})
	if err != nil {
		return nil, 0, err
	}
	var shared []*whisk.Package
	for _, p := range all {
		if p.Publish && !p.IsBinding() {
			shared = append(shared, p)
		}
	}
	total := len(shared)
	if skip > len(shared) {
		skip = len(shared)
	}
	shared = shared[skip:]
	if limit > 0 && limit < len(shared) {
		shared = shared[:limit]
	}
	return shared, total, nil
}

func nonNilKV(kv whisk.KeyValues) whisk.KeyValues {
	if kv == nil {
		return whisk.KeyValues{}
	}
	return kv
}
