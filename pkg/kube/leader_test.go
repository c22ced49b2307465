package kube

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

// Two replicas stand for one Lease: only one leads at a time, and when the
// leader stops, the other takes over.
func TestWhileLeadingOneAtATime(t *testing.T) {
	client := fake.NewSimpleClientset()
	var leading, maxLeading atomic.Int32
	var mu sync.Mutex
	leaders := map[string]int{}
	run := func(ctx context.Context, id string) {
		_ = WhileLeading(ctx, Election{
			Client: client, Namespace: "kwhisk", Lease: "alarms", Identity: id,
			LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 100 * time.Millisecond,
		}, func(lctx context.Context) {
			n := leading.Add(1)
			for {
				m := maxLeading.Load()
				if n <= m || maxLeading.CompareAndSwap(m, n) {
					break
				}
			}
			mu.Lock()
			leaders[id]++
			mu.Unlock()
			<-lctx.Done()
			leading.Add(-1)
		})
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA := make(chan struct{})
	go func() { run(ctxA, "a"); close(doneA) }()
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return leaders["a"] == 1 })
	doneB := make(chan struct{})
	go func() { run(ctxB, "b"); close(doneB) }()
	stopA()
	<-doneA
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return leaders["b"] == 1 })
	stopB()
	<-doneB
	if maxLeading.Load() != 1 {
		t.Errorf("%d replicas led at once", maxLeading.Load())
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
