package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// OpenFunc opens the store kept in dir, creating it when dir is empty. The
// suite closes every store it opens, and opens the same dir again after a
// Close to check what survives a restart. It reports failures through t.
type OpenFunc func(t *testing.T, dir string) store.Store

// Run checks that the stores open returns keep the store contract.
func Run(t *testing.T, open OpenFunc) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, *harness)
	}{
		{"EntityCreateGet", testEntityCreateGet},
		{"EntityCreateExisting", testEntityCreateExisting},
		{"EntityReplace", testEntityReplace},
		{"EntityDelete", testEntityDelete},
		{"EntityList", testEntityList},
		{"EntityListWithPackages", testEntityListWithPackages},
		{"EntityNames", testEntityNames},
		{"EntityDurable", testEntityDurable},
		{"ActivationPutGet", testActivationPutGet},
		{"ActivationList", testActivationList},
		{"ActivationVisibleAtOnce", testActivationVisibleAtOnce},
		{"ActivationDurable", testActivationDurable},
		{"ActivationConcurrentPut", testActivationConcurrentPut},
		{"ActivationExpire", testActivationExpire},
		{"PendingAcrossRestart", testPendingAcrossRestart},
		{"PendingCompletedByPut", testPendingCompletedByPut},
		{"Namespaces", testNamespaces},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newHarness(t, open))
		})
	}
}

// harness holds the store under test and the dir it lives in.
type harness struct {
	t    *testing.T
	open OpenFunc
	dir  string
	s    store.Store
}

func newHarness(t *testing.T, open OpenFunc) *harness {
	h := &harness{t: t, open: open, dir: t.TempDir()}
	h.s = open(t, h.dir)
	t.Cleanup(func() {
		if h.s == nil {
			return
		}
		if err := h.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// reopen closes the store and opens the same dir again.
func (h *harness) reopen() store.Store {
	h.t.Helper()
	s := h.s
	h.s = nil
	if err := s.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.s = h.open(h.t, h.dir)
	return h.s
}

// wantKind fails unless err carries kind k; what names the call.
func wantKind(t *testing.T, what string, err error, k whisk.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want kind %v", what, k)
		return
	}
	if got := whisk.KindOf(err); got != k {
		t.Errorf("%s: got %v (kind %v), want kind %v", what, err, got, k)
	}
}

// wantIs fails unless errors.Is(err, target).
func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got %v, want %v", what, err, target)
	}
}

func diff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func key(namespace, name string) string { return fmt.Sprintf("%s/%s", namespace, name) }
