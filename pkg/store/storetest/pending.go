package storetest

import (
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func mustAddPending(t *testing.T, s store.Store, as ...*whisk.Activation) {
	t.Helper()
	for _, a := range as {
		if err := s.AddPending(t.Context(), a); err != nil {
			t.Fatalf("AddPending(%s): %v", a.ActivationID, err)
		}
	}
}

// takePending checks that TakePending returns exactly want, comparing the
// identifying fields of each record (Response is not kept).
func takePending(t *testing.T, s store.Store, want ...*whisk.Activation) {
	t.Helper()
	got, err := s.TakePending(t.Context())
	if err != nil {
		t.Fatalf("TakePending: %v", err)
	}
	type ident struct {
		Namespace, Name, Subject string
		ID                       whisk.ActivationID
		Start                    int64
		Annotations              whisk.KeyValues
	}
	identify := func(as []*whisk.Activation) map[whisk.ActivationID]ident {
		m := map[whisk.ActivationID]ident{}
		for _, a := range as {
			m[a.ActivationID] = ident{a.Namespace, a.Name, a.Subject, a.ActivationID, a.Start, a.Annotations}
		}
		return m
	}
	diff(t, "TakePending", identify(want), identify(got))
}

func testPendingAcrossRestart(t *testing.T, h *harness) {
	a := activation("ns", "ns/a", 1)
	b := activation("ns", "ns/pkg/b", 2)
	c := activation("ns2", "ns2/c", 3)
	mustAddPending(t, h.s, a, b)
	takePending(t, h.s) // added by this process: not taken

	s := h.reopen()
	takePending(t, s, a, b)
	takePending(t, s, a, b) // still pending until completed

	mustAddPending(t, s, c)
	a.End, a.Response = 10, whisk.Response{StatusCode: whisk.StatusWhiskError}
	mustPutActivations(t, s, a)
	takePending(t, s, b)

	s = h.reopen()
	takePending(t, s, b, c)
	got, err := s.GetActivation(t.Context(), "ns", a.ActivationID)
	if err != nil {
		t.Fatalf("GetActivation(completed pending): %v", err)
	}
	diff(t, "completed pending record", a, got)

	mustPutActivations(t, s, b, c)
	takePending(t, s)
	takePending(t, h.reopen())
}

func testPendingCompletedByPut(t *testing.T, h *harness) {
	var as []*whisk.Activation
	for i := range 50 {
		as = append(as, activation("ns", "ns/a", int64(i+1)))
	}
	mustAddPending(t, h.s, as...)
	mustPutActivations(t, h.s, as[:25]...)
	takePending(t, h.reopen(), as[25:]...)
}
