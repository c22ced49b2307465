package ingress

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	netlisters "knative.dev/networking/pkg/client/listers/networking/v1alpha1"
)

// status marks each Ingress of the class Ready for its current
// generation, as a KIngress implementation does once its data plane has
// the Ingress's configuration. Here the data plane reads the same
// informer cache the reconciler is fed from, so the configuration is in
// place as soon as the Ingress is seen.
type status struct {
	cfg     Config
	lister  netlisters.IngressLister
	queue   workqueue.RateLimitingInterface
	private []v1alpha1.LoadBalancerIngressStatus
	public  []v1alpha1.LoadBalancerIngressStatus
}

func newStatus(cfg Config, lister netlisters.IngressLister) *status {
	return &status{
		cfg:    cfg,
		lister: lister,
		queue: workqueue.NewRateLimitingQueue(
			workqueue.NewItemExponentialFailureRateLimiter(50*time.Millisecond, 5*time.Second)),
		private: []v1alpha1.LoadBalancerIngressStatus{*cfg.PrivateLoadBalancer},
		public:  []v1alpha1.LoadBalancerIngressStatus{*cfg.PublicLoadBalancer},
	}
}

func (s *status) ours(obj any) bool {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	ing, ok := obj.(*v1alpha1.Ingress)
	return ok && ing.Annotations[networking.IngressClassAnnotationKey] == s.cfg.Class
}

func (s *status) handler() cache.ResourceEventHandler {
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			s.queue.Add(key)
		}
	}
	return cache.FilteringResourceEventHandler{
		FilterFunc: s.ours,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
		},
	}
}

// run works the queue until ctx ends.
func (s *status) run(ctx context.Context) {
	go func() { <-ctx.Done(); s.queue.ShutDown() }()
	for {
		item, quit := s.queue.Get()
		if quit {
			return
		}
		key := item.(string)
		if err := s.sync(ctx, key); err != nil {
			if ctx.Err() == nil {
				if !apierrors.IsConflict(err) {
					s.cfg.Log.Printf("ingress: status of %s: %v", key, err)
				}
				s.queue.AddRateLimited(key)
			}
		} else {
			s.queue.Forget(key)
		}
		s.queue.Done(item)
	}
}

// sync writes the Ready status of one Ingress if it is not already so.
// A conflict (the Ingress changed meanwhile) is retried from the queue;
// the update event of the change enqueues it again anyway.
func (s *status) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	ing, err := s.lister.Ingresses(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if !s.ours(ing) || ing.DeletionTimestamp != nil {
		return nil
	}
	if ing.IsReady() &&
		equality.Semantic.DeepEqual(ing.Status.PublicLoadBalancer, &v1alpha1.LoadBalancerStatus{Ingress: s.public}) &&
		equality.Semantic.DeepEqual(ing.Status.PrivateLoadBalancer, &v1alpha1.LoadBalancerStatus{Ingress: s.private}) {
		return nil
	}
	want := ing.DeepCopy()
	markReady(&want.Status, ing.Generation, s.public, s.private)
	_, err = s.cfg.Networking.NetworkingV1alpha1().Ingresses(ns).UpdateStatus(ctx, want, metav1.UpdateOptions{})
	return err
}

// markReady is the status of an Ingress this implementation has
// programmed, through the type's own helpers so the condition set
// (NetworkConfigured and LoadBalancerReady, hence Ready) is Knative's.
func markReady(st *v1alpha1.IngressStatus, generation int64, public, private []v1alpha1.LoadBalancerIngressStatus) {
	st.InitializeConditions()
	st.MarkNetworkConfigured()
	st.MarkLoadBalancerReady(public, private)
	st.ObservedGeneration = generation
}
