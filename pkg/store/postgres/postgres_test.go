package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/postgres"
	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
	"github.com/kwhisk/kwhisk/pkg/store/storetest"
)

var _ store.Store = (*postgres.Store)(nil)

func TestMain(m *testing.M) { pgtest.Main(m) }

// schemaFor names the schema holding the store the suite keeps in dir.
func schemaFor(dir string) string {
	h := sha256.Sum256([]byte(dir))
	return "t_" + hex.EncodeToString(h[:8])
}

func openStore(t testing.TB, url string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := pgtest.Shared(t)
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		return openStore(t, srv.SchemaURL(schemaFor(dir)), postgres.Options{})
	})
}

// Tiny batches and queue exercise backpressure and list merging across
// many commits.
func TestConformanceSmallQueue(t *testing.T) {
	srv := pgtest.Shared(t)
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		return openStore(t, srv.SchemaURL(schemaFor(dir)), postgres.Options{BatchSize: 3, QueueSize: 7})
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
