package knative

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// runs reports whether the platform makes a Service for a: sequences run
// in the gateway, and kinds without an image cannot run.
func (p *Platform) runs(a *whisk.Action) bool {
	_, ok := p.o.Images[a.Exec.Kind]
	return ok && a.Exec.Kind != whisk.KindSequence
}

// Ensure creates or updates the Service of a stored action without
// waiting for it to become ready: the gateway calls it when an action is
// written, so the Service (and, unless initial-scale is 0, a first pod)
// is under way before the first invoke.
func (p *Platform) Ensure(ctx context.Context, a *whisk.Action) error {
	if !p.runs(a) {
		return nil
	}
	pa := platform.ActionOf(a)
	v := p.build(pa, a.Annotations)
	p.versions.put(pa.Key, v)
	res, err := p.ensure(ctx, v, true)
	if err != nil {
		return err
	}
	if res != nil {
		return whisk.Invalid("%s", string(res.Response.Result))
	}
	return nil
}

// Reconcile brings the Services in step with the stored actions: each
// action that runs here gets its Service at its stored version, and every
// Service the gateway made whose action is gone is deleted. It goes on
// past single failures and reports them all.
func (p *Platform) Reconcile(ctx context.Context) error {
	if p.o.Actions == nil {
		return errors.New("reconcile: no action store")
	}
	actions, err := p.o.Actions.ListActions(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: list actions: %w", err)
	}
	ns := p.o.Namespaces.Base
	if p.o.Namespaces.PerNamespace {
		ns = metav1.NamespaceAll
	}
	list, err := p.o.Serving.ServingV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: ManagedSelector})
	if err != nil {
		return kube.Error("list services", err)
	}
	have := map[string]*version{}
	for i := range list.Items {
		svc := &list.Items[i]
		have[svc.Namespace+"/"+svc.Name] = &version{namespace: svc.Namespace, service: svc.Name, want: svc}
	}

	var errs []error
	for _, a := range actions {
		if !p.runs(a) {
			continue
		}
		pa := platform.ActionOf(a)
		v := p.build(pa, a.Annotations)
		p.versions.put(pa.Key, v)
		if cur := have[v.key()]; cur != nil {
			delete(have, v.key())
			if Tagged(cur.want) == v.tag && cur.want.Spec.Template.Name == v.revision {
				continue
			}
		}
		if res, err := p.ensure(ctx, v, true); err != nil || res != nil {
			if err == nil {
				err = errors.New(string(res.Response.Result))
			}
			errs = append(errs, fmt.Errorf("action %s: %w", a.Path(), err))
		}
	}
	background := metav1.DeletePropagationBackground
	for key, gone := range have {
		err := p.o.Serving.ServingV1().Services(gone.namespace).Delete(ctx, gone.service, metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, kube.Error("delete service "+key, err))
			continue
		}
		p.o.Logf("deleted Service %s of %s: the action is gone", key, gone.want.Annotations[AnnotationPath])
	}
	return errors.Join(errs...)
}
