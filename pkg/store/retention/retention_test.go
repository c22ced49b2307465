package retention_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/retention"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func record(start int64, size int) *whisk.Activation {
	result, _ := json.Marshal(map[string][]byte{"data": make([]byte, size)})
	return &whisk.Activation{
		Namespace: "guest", Name: "a", Version: whisk.DefaultVersion, Subject: "guest",
		ActivationID: whisk.NewActivationID(), Start: start, End: start + 1,
		Response: whisk.Response{StatusCode: whisk.StatusSuccess, Result: result},
	}
}

func open(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(dir, "kwhisk.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s *sqlite.Store, as ...*whisk.Activation) {
	t.Helper()
	for _, a := range as {
		if err := s.PutActivation(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *sqlite.Store) int {
	t.Helper()
	_, n, err := s.ListActivations(t.Context(), store.ActivationQuery{Namespace: "guest", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A pass deletes everything older than the cut, in batches, and nothing
// newer.
func TestPassDeletesOlderInBatches(t *testing.T) {
	s := open(t, t.TempDir())
	now := time.Now()
	var old []*whisk.Activation
	for i := range 3*retention.Batch + 7 {
		old = append(old, record(now.Add(-time.Hour).UnixMilli()+int64(i), 10))
	}
	put(t, s, old...)
	put(t, s, record(now.UnixMilli(), 10), record(now.UnixMilli()+1, 10))
	n, err := retention.Pass(t.Context(), s, now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(old) {
		t.Fatalf("Pass deleted %d, want %d", n, len(old))
	}
	if got := count(t, s); got != 2 {
		t.Fatalf("%d records left, want the 2 newer ones", got)
	}
}

// Run expires records as they age past the retention, without being told.
func TestRunExpiresAsRecordsAge(t *testing.T) {
	s := open(t, t.TempDir())
	put(t, s, record(time.Now().UnixMilli(), 10))
	go retention.Run(t.Context(), s, 2*time.Second, t.Logf)
	if got := count(t, s); got != 1 {
		t.Fatalf("a fresh record was expired: %d left", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, s) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a record older than the retention was not expired within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Under retention the database stops growing: SQLite reuses the pages the
// expired records freed.
func TestExpiredSpaceIsReused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	round := func(start int64) {
		var as []*whisk.Activation
		for i := range 400 {
			as = append(as, record(start+int64(i), 20<<10))
		}
		put(t, s, as...)
	}
	round(1000)
	for r := range 5 {
		if _, err := retention.Pass(t.Context(), s, time.UnixMilli(int64(1000*(r+2)))); err != nil {
			t.Fatal(err)
		}
		round(int64(1000 * (r + 2)))
	}
	if got := count(t, s); got != 400 {
		t.Fatalf("%d records, want the last 400", got)
	}
	// Six rounds of 8 MB went through with 8 MB live at any time: without
	// page reuse the database file alone would hold 48 MB.
	db, wal := fileSize(t, dir, "kwhisk.db"), fileSize(t, dir, "kwhisk.db-wal")
	t.Logf("database %d bytes, WAL %d bytes", db, wal)
	if db > 24<<20 {
		t.Errorf("the database grew to %d bytes for 8 MB of live records: freed pages are not reused", db)
	}
	if wal > 32<<20 {
		t.Errorf("the WAL grew to %d bytes: it is not kept bounded", wal)
	}
}

func fileSize(t *testing.T, dir, name string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		return 0 // a WAL truncated away
	}
	return fi.Size()
}
