package knative

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// TestChanges checks which of the Deploys and Removes queued before the
// worker runs reach the Service: the last version, and every Remove
// before it.
func TestChanges(t *testing.T) {
	path := whisk.EntityPath{Namespace: "guest", Name: "hello"}
	v := func(version string, updated int64) *platform.Action {
		return &platform.Action{Path: path, Version: version, Updated: updated}
	}
	type step struct {
		remove  bool
		a       *platform.Action
		updated int64
	}
	tests := []struct {
		name  string
		steps []step
		want  []string // what apply did: "remove", a version, or "remove+version"
	}{
		{"deploys coalesce", []step{{a: v("1", 10)}, {a: v("2", 20)}}, []string{"2"}},
		{"an older deploy is dropped", []step{{a: v("2", 20)}, {a: v("1", 10)}}, []string{"2"}},
		{"remove then create again", []step{{a: v("1", 10)}, {remove: true, updated: 10}, {a: v("1", 11)}}, []string{"remove+1"}},
		{"a deploy of the deleted version is stale", []step{{remove: true, updated: 10}, {a: v("1", 10)}}, []string{"remove"}},
		{"remove last", []step{{a: v("1", 10)}, {remove: true, updated: 10}}, []string{"remove"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			c := newChanges(func(_ context.Context, _ whisk.EntityPath, ch change) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case ch.remove && ch.a != nil:
					got = append(got, "remove+"+ch.a.Version)
				case ch.remove:
					got = append(got, "remove")
				default:
					got = append(got, ch.a.Version)
				}
			})
			for _, s := range tt.steps {
				if s.remove {
					c.submit(path, s.updated, nil)
				} else {
					c.submit(path, s.a.Updated, s.a)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() { c.run(ctx); close(stopped) }()
			defer func() { cancel(); <-stopped }()
			wait, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			// settled only sees a worker once run has started it.
			for started := false; !started; time.Sleep(time.Millisecond) {
				c.mu.Lock()
				started = c.ctx != nil
				c.mu.Unlock()
			}
			if err := c.settled(wait, path); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("applied (-want +got):\n%s", diff)
			}
		})
	}
}
