package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
)

// TestExpiredSpaceIsReused: records put after older ones were expired go
// into the freed pages, so a store under retention stops growing.
func TestExpiredSpaceIsReused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kwhisk.db")
	const n = 4000
	round := func(start int64, expireFirst bool) int64 {
		t.Helper()
		s := openStore(t, dir, sqlite.Options{})
		if expireFirst {
			for {
				k, err := s.ExpireActivations(t.Context(), start, 500)
				if err != nil {
					t.Fatalf("ExpireActivations: %v", err)
				}
				if k == 0 {
					break
				}
			}
		}
		for i := range int64(n) {
			if err := s.PutActivation(t.Context(), benchActivation(start+i)); err != nil {
				t.Fatalf("PutActivation: %v", err)
			}
		}
		if err := s.Close(); err != nil { // checkpoints the WAL into the file
			t.Fatalf("Close: %v", err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	first := round(1, false)
	if first < n*900 {
		t.Fatalf("store of %d records is %d bytes, want at least %d", n, first, n*900)
	}
	second := round(1_000_000, true)
	if second > first+first/10 {
		t.Errorf("store grew from %d to %d bytes when the first %d records were expired before %d more were put", first, second, n, n)
	}
}
