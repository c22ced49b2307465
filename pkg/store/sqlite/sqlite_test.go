package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/store/storetest"
)

var _ store.Store = (*sqlite.Store)(nil)

func openStore(t testing.TB, dir string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(dir, "kwhisk.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		return openStore(t, dir, sqlite.Options{})
	})
}

// Tiny batches and queue exercise backpressure and list merging across
// many commits.
func TestConformanceSmallQueue(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		return openStore(t, dir, sqlite.Options{Readers: 1, BatchSize: 3, QueueSize: 7})
	})
}
