package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// TestBackpressure fills the queue while the writer cannot commit: a put
// beyond QueueSize waits, and gives up when its context ends, as does Flush.
func TestBackpressure(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"), Options{QueueSize: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	conn, err := s.wdb.Conn(ctx) // the only write connection: the writer waits
	if err != nil {
		t.Fatalf("Conn: %v", err)
	}
	var ids []whisk.ActivationID
	for i := range 4 {
		a := &whisk.Activation{Namespace: "ns", Name: "a", ActivationID: whisk.NewActivationID(), Start: int64(i)}
		if err := s.PutActivation(ctx, a); err != nil {
			t.Fatalf("PutActivation #%d: %v", i, err)
		}
		ids = append(ids, a.ActivationID)
	}

	done, cancel := context.WithCancel(ctx)
	cancel()
	over := &whisk.Activation{Namespace: "ns", Name: "a", ActivationID: whisk.NewActivationID()}
	if err := s.PutActivation(done, over); !errors.Is(err, context.Canceled) {
		t.Errorf("PutActivation on a full queue = %v, want context.Canceled", err)
	}
	if err := s.Flush(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush while the writer is blocked = %v, want context.Canceled", err)
	}
	if err := s.AddPending(done, over); !errors.Is(err, context.Canceled) {
		t.Errorf("AddPending on a full queue = %v, want context.Canceled", err)
	}

	if err := conn.Close(); err != nil {
		t.Fatalf("release writer connection: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for _, id := range ids {
		if _, err := s.GetActivation(ctx, "ns", id); err != nil {
			t.Errorf("GetActivation(%s): %v", id, err)
		}
	}
	if _, err := s.GetActivation(ctx, "ns", over.ActivationID); !whisk.IsKind(err, whisk.KindNotFound) {
		t.Errorf("GetActivation(refused put) = %v, want NotFound", err)
	}
}

func TestClosedStoreRefusesPuts(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	a := &whisk.Activation{Namespace: "ns", ActivationID: whisk.NewActivationID()}
	if err := s.PutActivation(t.Context(), a); !errors.Is(err, commitq.ErrClosed) {
		t.Errorf("PutActivation after Close = %v, want %v", err, commitq.ErrClosed)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Errorf("Flush after Close = %v, want nil: nothing is queued", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	if _, err := db.Exec("PRAGMA user_version = 1000"); err != nil {
		t.Fatalf("set user_version: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if s, err := Open(t.Context(), path, Options{}); err == nil {
		_ = s.Close() // the test already failed
		t.Fatal("Open of a newer schema succeeded")
	}
}

// A store written by the first schema version opens with its data intact
// and gains the later tables.
func TestMigrateFromFirstVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	if _, err := db.Exec(migrations[0] + `PRAGMA user_version = 1;`); err != nil {
		t.Fatalf("version 1 schema: %v", err)
	}
	if _, err := db.Exec(`INSERT INTO entities (namespace, name, root, collection, rev, updated, body) VALUES ('ns', 'a', 'ns', 'actions', 1, 1, '{}')`); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, err := s.GetEntity(t.Context(), "ns", "a"); err != nil {
		t.Errorf("GetEntity after migration: %v", err)
	}
	if err := s.PutAPI(t.Context(), &store.API{Namespace: "ns", BasePath: "/b", Body: []byte(`{}`)}); err != nil {
		t.Errorf("PutAPI after migration: %v", err)
	}
}

// TestListWhileWriterBlocked holds the writer connection so that some
// records are surely committed and the rest surely queued, and checks every
// page against the same listing once all are durable.
func TestListWhileWriterBlocked(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"), Options{BatchSize: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	rng := rand.New(rand.NewPCG(3, 4))
	put := func(n int) {
		for range n {
			a := &whisk.Activation{Namespace: "ns", Name: []string{"a", "b"}[rng.IntN(2)], ActivationID: whisk.NewActivationID(), Start: int64(1 + rng.IntN(20))}
			if err := s.PutActivation(ctx, a); err != nil {
				t.Fatalf("PutActivation: %v", err)
			}
		}
	}
	put(30)
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	conn, err := s.wdb.Conn(ctx) // the only write connection: the writer waits
	if err != nil {
		t.Fatalf("Conn: %v", err)
	}
	put(30)

	var queries []store.ActivationQuery
	for skip := 0; skip <= 62; skip += 3 {
		for _, limit := range []int{0, 1, 5, 200} {
			for _, name := range []string{"", "a"} {
				queries = append(queries, store.ActivationQuery{Namespace: "ns", Name: name, Skip: skip, Limit: limit})
			}
		}
	}
	queries = append(queries, store.ActivationQuery{Namespace: "ns", Since: 5, Upto: 15, Skip: 4, Limit: 7})
	list := func() []string {
		var out []string
		for _, q := range queries {
			as, total, err := s.ListActivations(ctx, q)
			if err != nil {
				t.Fatalf("ListActivations: %v", err)
			}
			page := fmt.Sprintf("%+v total %d:", q, total)
			for _, a := range as {
				page += fmt.Sprintf(" %s@%d", a.ActivationID, a.Start)
			}
			out = append(out, page)
		}
		return out
	}
	queued := list()
	if n := len(s.q.Matching(func(*commitq.Item) bool { return true })); n != 30 {
		t.Fatalf("%d records queued while the writer is blocked, want 30", n)
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("release writer connection: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if d := cmp.Diff(list(), queued); d != "" {
		t.Errorf("listing with queued records differs from durable listing (-durable +queued):\n%s", d)
	}
}
