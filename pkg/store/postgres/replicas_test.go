package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/postgres"
	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// TestReplicasMigrateOnce opens many stores on a fresh schema at once: the
// advisory lock lets one migrate and the others find the schema current.
func TestReplicasMigrateOnce(t *testing.T) {
	url := pgtest.Shared(t).SchemaURL("replicas_migrate")
	const n = 8
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), url, postgres.Options{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer func() {
			if err := stores[i].Close(); err != nil {
				t.Errorf("Close #%d: %v", i, err)
			}
		}()
	}
	// One store's writes are every store's reads.
	if err := stores[0].PutEntity(t.Context(), &store.Document{Collection: store.Actions, Namespace: "ns", Name: "a", Body: []byte("{}")}); err != nil {
		t.Fatalf("PutEntity: %v", err)
	}
	for i, s := range stores {
		if _, err := s.GetEntity(t.Context(), "ns", "a"); err != nil {
			t.Errorf("store #%d: GetEntity: %v", i, err)
		}
	}
}

// TestReplicasShareRecordsNotPending runs two stores on one schema: a
// record one commits is read and listed by the other, and a live store's
// pending entries are not taken by another, only once it is closed.
func TestReplicasShareRecordsNotPending(t *testing.T) {
	url := pgtest.Shared(t).SchemaURL("replicas_share")
	a := openStore(t, url, postgres.Options{})
	b := openStore(t, url, postgres.Options{})
	defer func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close b: %v", err)
		}
	}()
	ctx := t.Context()
	rec := &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID(), Start: 42}
	if err := a.PutActivation(ctx, rec); err != nil {
		t.Fatalf("PutActivation: %v", err)
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got, err := b.GetActivation(ctx, "ns", rec.ActivationID); err != nil || got.Start != 42 {
		t.Fatalf("GetActivation on the other store = %v, %v", got, err)
	}
	if as, total, err := b.ListActivations(ctx, store.ActivationQuery{Namespace: "ns"}); err != nil || total != 1 || len(as) != 1 {
		t.Fatalf("ListActivations on the other store = %d of %d, %v", len(as), total, err)
	}

	p := &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID(), Start: 43}
	if err := a.AddPending(ctx, p); err != nil {
		t.Fatalf("AddPending: %v", err)
	}
	if got, err := b.TakePending(ctx); err != nil || len(got) != 0 {
		t.Fatalf("TakePending while its owner is open = %d entries, %v; want none", len(got), err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close a: %v", err)
	}
	got, err := b.TakePending(ctx)
	if err != nil || len(got) != 1 || got[0].ActivationID != p.ActivationID {
		t.Fatalf("TakePending after its owner closed = %v, %v; want %s", got, err, p.ActivationID)
	}
}

// TestOpenErrors: a malformed URL and an unreachable server fail Open
// promptly with an error that does not echo the password.
func TestOpenErrors(t *testing.T) {
	t.Run("bad url", func(t *testing.T) {
		_, err := postgres.Open(t.Context(), "postgres://u:secret@host:notaport/db", postgres.Options{})
		if !errors.Is(err, postgres.ErrURL) {
			t.Fatalf("Open = %v, want ErrURL", err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open error %q shows the password", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := pgtest.Shared(t)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		// A port nobody listens on: the server's, plus one.
		url := strings.Replace(srv.URL, ":"+itoa(srv.Port)+"/", ":"+itoa(srv.Port+1)+"/", 1)
		start := time.Now()
		_, err := postgres.Open(ctx, url, postgres.Options{})
		if err == nil {
			t.Fatal("Open of an unreachable server succeeded")
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Open took %v to fail", d)
		}
	})
}

// TestReplicaRestart: a replica killed without Close leaves a fresh
// heartbeat; when it starts again under the same Replica name it takes its
// pending entries at once, while another replica leaves them alone until
// the lease runs out.
func TestReplicaRestart(t *testing.T) {
	url := pgtest.Shared(t).SchemaURL("replica_restart")
	ctx := t.Context()
	dead := openStore(t, url, postgres.Options{Replica: "host-a:/data"})
	p := &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID(), Start: 1}
	if err := dead.AddPending(ctx, p); err != nil {
		t.Fatalf("AddPending: %v", err)
	}
	// A kill: the writer's row stays as it was. (Close would drop it.)
	defer func() { _ = dead.Close() }() // only releases the pool at the end; the checks are done

	other := openStore(t, url, postgres.Options{Replica: "host-b:/data"})
	defer other.Close()
	if got, err := other.TakePending(ctx); err != nil || len(got) != 0 {
		t.Fatalf("another replica's TakePending within the lease = %d entries, %v; want none", len(got), err)
	}
	again := openStore(t, url, postgres.Options{Replica: "host-a:/data"})
	defer again.Close()
	got, err := again.TakePending(ctx)
	if err != nil || len(got) != 1 || got[0].ActivationID != p.ActivationID {
		t.Fatalf("the restarted replica's TakePending = %v, %v; want %s", got, err, p.ActivationID)
	}
}

// TestLapsedWriterRowComesBack: a writer whose row was deleted (as another
// store's Open deletes writers whose heartbeat lapsed, after a long cut
// from the database) keeps listing and committing, and puts its row back.
func TestLapsedWriterRowComesBack(t *testing.T) {
	url := pgtest.Shared(t).SchemaURL("writer_lapsed")
	ctx := t.Context()
	s := openStore(t, url, postgres.Options{})
	defer s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DELETE FROM writers`); err != nil {
		t.Fatal(err)
	}
	a := &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID(), Start: 1}
	if err := s.PutActivation(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, total, err := s.ListActivations(ctx, store.ActivationQuery{Namespace: "ns"}); err != nil || total != 1 {
		t.Fatalf("ListActivations without a writer row = %d, %v; want 1", total, err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if as, total, err := s.ListActivations(ctx, store.ActivationQuery{Namespace: "ns"}); err != nil || total != 1 || len(as) != 1 {
		t.Fatalf("ListActivations after the commit = %d of %d, %v; want 1", len(as), total, err)
	}
	var rows int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM writers`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("writer rows after a commit = %d, %v; want 1", rows, err)
	}
}

// TestDatabaseOutage: records put while the database is down stay readable
// from the queue, the writer retries, and once the database is back they
// are committed: nothing put is lost, and the store serves again without
// being reopened.
func TestDatabaseOutage(t *testing.T) {
	srv := pgtest.Private(t)
	ctx := t.Context()
	s := openStore(t, srv.SchemaURL("outage"), postgres.Options{})
	defer s.Close()
	put := func(n int, start int64) []whisk.ActivationID {
		var ids []whisk.ActivationID
		for i := range n {
			a := &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID(), Start: start + int64(i)}
			if err := s.PutActivation(ctx, a); err != nil {
				t.Fatalf("PutActivation: %v", err)
			}
			ids = append(ids, a.ActivationID)
		}
		return ids
	}
	ids := put(100, 1)
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if err := srv.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, put(100, 1000)...)
	for _, id := range ids[100:] {
		if _, err := s.GetActivation(ctx, "ns", id); err != nil {
			t.Fatalf("GetActivation of a record put during the outage: %v", err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := s.Flush(short); err == nil {
		t.Fatal("Flush succeeded while the database was down")
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	back, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.Flush(back); err != nil {
		t.Fatalf("Flush after the database came back: %v", err)
	}
	_, total, err := s.ListActivations(ctx, store.ActivationQuery{Namespace: "ns"})
	if err != nil || total != len(ids) {
		t.Fatalf("ListActivations after the outage = %d, %v; want %d", total, err, len(ids))
	}
	if err := s.PutEntity(ctx, &store.Document{Collection: store.Actions, Namespace: "ns", Name: "after", Body: []byte("{}")}); err != nil {
		t.Errorf("PutEntity after the outage: %v", err)
	}
}
