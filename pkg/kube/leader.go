package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Election says who may lead: a Lease name in a namespace, this replica's
// identity, and the timings (zero values: 15 s lease, 10 s renew
// deadline, 2 s retry, as Kubernetes' own controllers use).
type Election struct {
	Client                                    kubernetes.Interface
	Namespace                                 string
	Lease                                     string
	Identity                                  string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// WhileLeading runs lead whenever this replica holds the Lease, with a
// context that ends when leadership is lost or ctx ends, until ctx ends.
// Only one replica leads at a time, so work like firing alarms happens
// once: on shutdown the Lease is released only after lead has returned,
// and a replica that fails to renew stops leading (RenewDeadline) before
// another may take over (LeaseDuration).
func WhileLeading(ctx context.Context, e Election, lead func(ctx context.Context)) error {
	if e.LeaseDuration == 0 {
		e.LeaseDuration, e.RenewDeadline, e.RetryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Lease},
		Client:     e.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
	}
	// The elector runs on its own context, ended only once lead has
	// returned, so releasing the Lease never overlaps our own leading.
	electCtx, stopElecting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElecting()
	var leading sync.Mutex
	go func() {
		<-ctx.Done()
		leading.Lock() // lead has returned (its context includes ctx)
		leading.Unlock()
		stopElecting()
	}()
	for electCtx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, ReleaseOnCancel: true,
			LeaseDuration: e.LeaseDuration, RenewDeadline: e.RenewDeadline, RetryPeriod: e.RetryPeriod,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					leading.Lock()
					defer leading.Unlock()
					wctx, cancel := context.WithCancel(lctx)
					defer cancel()
					stop := context.AfterFunc(ctx, cancel)
					defer stop()
					lead(wctx)
				},
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election %s/%s: %w", e.Namespace, e.Lease, err)
		}
		le.Run(electCtx) // returns when leadership is lost or electing stops; then stand again
	}
	return nil
}
