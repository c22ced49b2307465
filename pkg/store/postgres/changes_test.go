package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/postgres"
	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// watch runs WatchChanges on s and returns its changes and a channel
// closed when it returns.
func watch(t *testing.T, ctx context.Context, s *postgres.Store) (<-chan store.Change, <-chan struct{}) {
	t.Helper()
	changes := make(chan store.Change, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.WatchChanges(ctx, func(c store.Change) { changes <- c })
	}()
	return changes, done
}

// next waits for a change equal to want, skipping others.
func next(t *testing.T, changes <-chan store.Change, want store.Change, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case c := <-changes:
			if c == want {
				return
			}
		case <-deadline:
			t.Fatalf("no change %+v within %v", want, within)
		}
	}
}

// TestWatchChanges: a write through one store is reported by another
// store's watch within a second, deletes too; a database restart ends the
// listening connection, and once it is back the watch reports "anything
// may have changed" and goes on reporting writes. Close ends the watch.
func TestWatchChanges(t *testing.T) {
	srv := pgtest.Private(t)
	url := srv.SchemaURL("changes")
	ctx := t.Context()
	a := openStore(t, url, postgres.Options{})
	defer a.Close()
	b := openStore(t, url, postgres.Options{})
	changes, done := watch(t, ctx, b)
	next(t, changes, store.Change{}, 5*time.Second) // listening

	doc := &store.Document{Collection: store.Actions, Namespace: "ns/pkg", Name: "act", Body: []byte("{}")}
	if err := a.PutEntity(ctx, doc); err != nil {
		t.Fatal(err)
	}
	next(t, changes, store.Change{Table: store.EntitiesTable, Namespace: "ns/pkg", Name: "act"}, time.Second)
	if err := a.DeleteEntity(ctx, "ns/pkg", "act", 0); err != nil {
		t.Fatal(err)
	}
	next(t, changes, store.Change{Table: store.EntitiesTable, Namespace: "ns/pkg", Name: "act"}, time.Second)
	if err := a.PutNamespace(ctx, &whisk.Namespace{Name: "guest", UUID: "u-1"}); err != nil {
		t.Fatal(err)
	}
	next(t, changes, store.Change{Table: store.NamespacesTable, Name: "guest"}, time.Second)

	if err := srv.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	next(t, changes, store.Change{}, 20*time.Second) // listening again
	// The first statements after the restart can meet connections the
	// pool has not yet found broken.
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := a.PutEntity(ctx, &store.Document{Collection: store.Triggers, Namespace: "ns", Name: "trig", Body: []byte("{}")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PutEntity after the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	next(t, changes, store.Change{Table: store.EntitiesTable, Namespace: "ns", Name: "trig"}, time.Second)

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WatchChanges did not return after Close")
	}
}
