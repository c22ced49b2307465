package retention_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/retention"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Run expires, batch by batch, every record older than the retention and
// keeps the newer ones; it returns when its context ends.
func TestRunExpiresOldRecords(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kwhisk.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	put := func(n int, age time.Duration) []whisk.ActivationID {
		var ids []whisk.ActivationID
		for i := range n {
			a := &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID(),
				Start: now.Add(-age).UnixMilli() + int64(i)}
			if err := st.PutActivation(ctx, a); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ActivationID)
		}
		return ids
	}
	old := put(230, 2*time.Hour)
	recent := put(20, time.Minute)
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		retention.Run(runCtx, st, retention.Options{Retention: time.Hour, Batch: 50})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, total, err := st.ListActivations(ctx, storeQuery)
		if err != nil {
			t.Fatal(err)
		}
		if total == len(recent) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records left after 10s, want the %d recent ones", total, len(recent))
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	for _, id := range recent {
		if _, err := st.GetActivation(ctx, "ns", id); err != nil {
			t.Errorf("recent record %s: %v", id, err)
		}
	}
	for _, id := range old[:5] {
		if _, err := st.GetActivation(ctx, "ns", id); !whisk.IsKind(err, whisk.KindNotFound) {
			t.Errorf("old record %s: %v, want NotFound", id, err)
		}
	}
}

// A zero retention keeps everything: Run returns at once.
func TestRunZeroKeepsAll(t *testing.T) {
	done := make(chan struct{})
	go func() { defer close(done); retention.Run(t.Context(), nil, retention.Options{}) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run with no retention did not return")
	}
}

var storeQuery = store.ActivationQuery{Namespace: "ns"}
