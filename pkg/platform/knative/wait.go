package knative

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"
)

// watcher keeps a cache of the gateway's Services from one watch (an
// informer) and wakes whoever waits for a change of a given Service.
type watcher struct {
	informer cache.SharedIndexInformer
	ctx      context.Context // of run, for the informer's list and watch calls

	mu      sync.Mutex
	waiters map[string]chan struct{} // namespace/name → closed on its next change
}

// newWatcher watches the managed Services of namespace ("" for all).
func newWatcher(client servingclient.Interface, namespace string) *watcher {
	services := client.ServingV1().Services(namespace)
	w := &watcher{waiters: map[string]chan struct{}{}}
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = ManagedSelector
			return services.List(w.ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = ManagedSelector
			return services.Watch(w.ctx, o)
		},
	}
	w.informer = cache.NewSharedIndexInformer(lw, &servingv1.Service{}, 0, cache.Indexers{})
	notify := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			w.notify(key)
		}
	}
	// The registration cannot fail on an informer that has not started.
	_, _ = w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	})
	return w
}

// run watches until ctx ends; call it once.
func (w *watcher) run(ctx context.Context) {
	w.ctx = ctx
	w.informer.Run(ctx.Done())
}

// get returns the cached Service at key (namespace/name), or nil. The
// object is shared: never modify it.
func (w *watcher) get(key string) *servingv1.Service {
	obj, ok, err := w.informer.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil
	}
	return obj.(*servingv1.Service)
}

// changed returns a channel closed at the next change of the Service at
// key. Take it before looking at the cache, so no change is missed.
func (w *watcher) changed(key string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.waiters[key]
	if ch == nil {
		ch = make(chan struct{})
		w.waiters[key] = ch
	}
	return ch
}

func (w *watcher) notify(key string) {
	w.mu.Lock()
	ch := w.waiters[key]
	delete(w.waiters, key)
	w.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// routable returns the URL of v's revision when the Service has caught up
// with its spec, is Ready, and routes v's tag to v's revision.
func routable(svc *servingv1.Service, v *version) (string, bool) {
	if svc == nil || svc.Status.ObservedGeneration != svc.Generation {
		return "", false
	}
	if c := svc.Status.GetCondition(apis.ConditionReady); c == nil || c.Status != corev1.ConditionTrue {
		return "", false
	}
	for _, t := range svc.Status.Traffic {
		if t.Tag == v.tag && t.RevisionName == v.revision && t.URL != nil {
			return t.URL.String(), true
		}
	}
	return "", false
}

// Reasons of a Service that is not Ready yet but will be, once Knative
// has caught up with an action deleted and created again: its Route or
// Configuration still belongs to the deleted Service of the same name
// (NotOwned), or the new Route names the template's revision before the
// Configuration, still being taken over, has created it
// (RevisionMissing).
const (
	reasonNotOwned        = "NotOwned"
	reasonRevisionMissing = "RevisionMissing"
)

// failed returns the reason the Service cannot serve v when Knative has
// settled on it (Ready False for the current spec), or "".
func failed(svc *servingv1.Service, v *version) string {
	if svc == nil || svc.Status.ObservedGeneration != svc.Generation {
		return ""
	}
	c := svc.Status.GetCondition(apis.ConditionReady)
	if c == nil || c.Status != corev1.ConditionFalse {
		return ""
	}
	if c.Reason == reasonNotOwned {
		// The Route or Configuration of a deleted Service of the same
		// name (the action deleted and created again) is still being
		// garbage collected: Knative takes them over once they are gone.
		return ""
	}
	if c.Reason == reasonRevisionMissing && svc.Spec.Template.Name == v.revision {
		// The template's revision is the Configuration's to create; an
		// older version's missing revision is final.
		return ""
	}
	for _, t := range svc.Spec.Traffic {
		if t.Tag == v.tag {
			return c.Reason + ": " + c.Message
		}
	}
	return ""
}

// Readiness counts the gateway's Services in the watch's cache by their
// Ready condition: true, false, or unknown (no condition yet, or one
// Knative has not decided).
func (p *Platform) Readiness() (ready, notReady, unknown int) {
	for _, obj := range p.watch.informer.GetStore().List() {
		svc, ok := obj.(*servingv1.Service)
		if !ok {
			continue
		}
		switch c := svc.Status.GetCondition(apis.ConditionReady); {
		case c == nil || c.Status == corev1.ConditionUnknown:
			unknown++
		case c.Status == corev1.ConditionTrue:
			ready++
		default:
			notReady++
		}
	}
	return ready, notReady, unknown
}
