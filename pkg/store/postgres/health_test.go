package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/postgres"
	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// checkUnavailable fails t unless err is the 503 of an unreachable
// database.
func checkUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrUnavailable) || !whisk.IsKind(err, whisk.KindUnavailable) {
		t.Errorf("%s while the database is down = %v; want store.ErrUnavailable", what, err)
	}
}

// TestUnreachableDatabase: while the server is stopped every call that
// needs the database fails fast with the 503 store.ErrUnavailable (the
// driver's error kept as its cause) and Writable says so; once it is back,
// the same store serves again within 10s without being reopened, and the
// records put during the outage are committed.
func TestUnreachableDatabase(t *testing.T) {
	srv := pgtest.Private(t)
	ctx := t.Context()
	s := openStore(t, srv.SchemaURL("unreachable"), postgres.Options{})
	defer s.Close()
	before := &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID(), Start: 1}
	if err := s.PutActivation(ctx, before); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEntity(ctx, &store.Document{Collection: store.Actions, Namespace: "ns", Name: "a", Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Writable(); err != nil {
		t.Fatalf("Writable while the database is up: %v", err)
	}

	if err := srv.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	during := &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID(), Start: 2}
	if err := s.PutActivation(ctx, during); err != nil {
		t.Fatalf("PutActivation while the database is down: %v", err) // queued
	}
	began := time.Now()
	_, err := s.GetEntity(ctx, "ns", "a")
	checkUnavailable(t, "GetEntity", err)
	t.Logf("GetEntity while down: %v", err)
	if err != nil && err.Error() == store.MsgUnavailable {
		t.Errorf("GetEntity's error %q lost the driver's cause", err)
	}
	checkUnavailable(t, "PutEntity", s.PutEntity(ctx, &store.Document{Collection: store.Actions, Namespace: "ns", Name: "b", Body: []byte("{}")}))
	checkUnavailable(t, "DeleteEntity", s.DeleteEntity(ctx, "ns", "a", 0))
	_, _, err = s.ListEntities(ctx, store.ListQuery{Collection: store.Actions, Namespace: "ns"})
	checkUnavailable(t, "ListEntities", err)
	_, err = s.GetActivation(ctx, "ns", before.ActivationID)
	checkUnavailable(t, "GetActivation of a committed record", err)
	if _, err := s.GetActivation(ctx, "ns", during.ActivationID); err != nil {
		t.Errorf("GetActivation of a queued record: %v", err)
	}
	_, _, err = s.ListActivations(ctx, store.ActivationQuery{Namespace: "ns"})
	checkUnavailable(t, "ListActivations", err)
	_, err = s.ExpireActivations(ctx, 0, 10)
	checkUnavailable(t, "ExpireActivations", err)
	checkUnavailable(t, "AddPending", s.AddPending(ctx, &whisk.Activation{Namespace: "ns", Name: "act", ActivationID: whisk.NewActivationID()}))
	checkUnavailable(t, "Flush", s.Flush(ctx))
	_, err = s.TakePending(ctx)
	checkUnavailable(t, "TakePending", err)
	checkUnavailable(t, "PutNamespace", s.PutNamespace(ctx, &whisk.Namespace{Name: "n", UUID: "u"}))
	_, err = s.GetNamespace(ctx, "n")
	checkUnavailable(t, "GetNamespace", err)
	_, err = s.NamespaceByUUID(ctx, "u")
	checkUnavailable(t, "NamespaceByUUID", err)
	_, err = s.ListNamespaces(ctx)
	checkUnavailable(t, "ListNamespaces", err)
	checkUnavailable(t, "DeleteNamespace", s.DeleteNamespace(ctx, "n"))
	_, err = s.GetAPI(ctx, "ns", "/x")
	checkUnavailable(t, "GetAPI", err)
	checkUnavailable(t, "PutAPI", s.PutAPI(ctx, &store.API{Namespace: "ns", BasePath: "/x", Body: []byte("{}")}))
	checkUnavailable(t, "DeleteAPI", s.DeleteAPI(ctx, "ns", "/x", 0))
	_, err = s.ListAPIs(ctx, "ns")
	checkUnavailable(t, "ListAPIs", err)
	checkUnavailable(t, "Writable", s.Writable())
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("the calls while the database was down took %v; want each to fail fast", d)
	}

	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for s.Writable() != nil {
		if time.Since(back) > 10*time.Second {
			t.Fatalf("Writable 10s after the database came back: %v", s.Writable())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		_, err := s.GetEntity(ctx, "ns", "a")
		if err == nil {
			break
		}
		if time.Since(back) > 10*time.Second {
			t.Fatalf("GetEntity 10s after the database came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	flush, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Flush(flush); err != nil {
		t.Fatalf("Flush after the database came back: %v", err)
	}
	t.Logf("served again %v after the restart", time.Since(back))
	// Durable: a second store on the same database reads them.
	other := openStore(t, srv.SchemaURL("unreachable"), postgres.Options{})
	defer other.Close()
	for _, a := range []*whisk.Activation{before, during} {
		if _, err := other.GetActivation(ctx, "ns", a.ActivationID); err != nil {
			t.Errorf("GetActivation of %s from another store after the outage: %v", a.ActivationID, err)
		}
	}
}
