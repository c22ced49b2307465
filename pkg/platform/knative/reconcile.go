package knative

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// runs reports whether the platform makes a Service for a: sequences run
// in the gateway, and kinds without an image cannot run.
func (p *Platform) runs(a *platform.Action) bool {
	_, ok := p.o.Images[a.Kind]
	return ok && a.Kind != whisk.KindSequence
}

// Reconcile brings the Services in step with actions, the stored actions
// as the gateway lists them at start: each action that runs here gets
// its Service at its stored version, and every Service the gateway made
// whose action is gone is deleted. Actions deployed or removed since the
// list was taken are left to those changes (Deploy, Remove). It goes on
// past single failures and reports them all.
func (p *Platform) Reconcile(ctx context.Context, actions []*platform.Action) error {
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
		v := p.build(a)
		p.versions.put(a.Key, v)
		if !p.changes.hear(a.Path, a.Updated) {
			delete(have, v.key()) // updated since the list was taken
			continue
		}
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
			errs = append(errs, fmt.Errorf("action %s: %w", a.Path, err))
		}
	}
	background := metav1.DeletePropagationBackground
	for key, gone := range have {
		if path, err := whisk.ParseFullyQualified(gone.want.Annotations[AnnotationPath]); err == nil && p.changes.known(path) {
			continue // created since the list was taken
		}
		err := p.o.Serving.ServingV1().Services(gone.namespace).Delete(ctx, gone.service, metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, kube.Error("delete service "+key, err))
			continue
		}
		p.o.Log.Info("deleted Service: its action is gone", "service", key, logging.KeyAction, gone.want.Annotations[AnnotationPath])
	}
	return errors.Join(errs...)
}
