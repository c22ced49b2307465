package entity

import (
	"context"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Resolver finds the action a caller addresses, through package bindings,
// with OpenWhisk's entitlements: actions outside packages are private to
// their namespace; actions in a published package are readable and
// invocable by everyone. NewActions makes it.
type Resolver struct {
	actions     *Actions
	packages    *Packages
	maxSequence int
}

// MaxSequence is the most atomic actions a sequence may run.
func (r *Resolver) MaxSequence() int { return r.maxSequence }

// ResolveAction returns the action at path as caller reaches it: a copy
// whose Parameters are merged package → binding → action and whose
// Binding names the binding it was reached through, if any. Its Namespace
// and Name are those of the action actually run.
func (r *Resolver) ResolveAction(ctx context.Context, caller string, path whisk.EntityPath) (*whisk.Action, error) {
	if path.Package == "" {
		if path.Namespace != caller {
			return nil, forbidden(path.String())
		}
		return r.actions.Get(ctx, path)
	}
	pkg, err := r.packages.readable(ctx, caller, path.Namespace, path.Package)
	if err != nil {
		if whisk.IsKind(err, whisk.KindForbidden) {
			return nil, forbidden(path.String())
		}
		if store.IsNotFound(err) {
			return nil, whisk.NotFound()
		}
		return nil, err
	}
	params := pkg.Parameters
	binding := ""
	target := path
	if pkg.IsBinding() {
		bound, err := r.packages.readable(ctx, caller, pkg.Binding.Namespace, pkg.Binding.Name)
		if err != nil {
			if whisk.IsKind(err, whisk.KindForbidden) {
				return nil, forbidden(path.String())
			}
			if store.IsNotFound(err) {
				return nil, whisk.NotFound()
			}
			return nil, err
		}
		params = bound.Parameters.Merge(pkg.Parameters)
		binding = pkg.Namespace + "/" + pkg.Name
		target = whisk.EntityPath{Namespace: bound.Namespace, Package: bound.Name, Name: path.Name}
	}
	a, err := r.actions.Get(ctx, target)
	if err != nil {
		return nil, err
	}
	merged := *a
	merged.Parameters = params.Merge(a.Parameters)
	merged.Binding = binding
	return &merged, nil
}
