package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// smallDisk mounts a tmpfs of size bytes for the test: a real filesystem
// that fills up, as a data dir on a small volume does. Mounting needs
// root; make test runs as root (CI does), elsewhere the test skips.
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("mounting a small tmpfs needs root, and CI must run this test")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "kwhisk-test", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// bigRecord is an activation whose result is size bytes.
func bigRecord(i, size int) *whisk.Activation {
	result, _ := json.Marshal(map[string]string{"data": strings.Repeat("x", size)})
	now := time.Now().UnixMilli()
	return &whisk.Activation{
		Namespace: "guest", Name: "big", Version: whisk.DefaultVersion, Subject: "guest",
		ActivationID: whisk.NewActivationID(), Start: now + int64(i), End: now + int64(i) + 1,
		Response: whisk.Response{StatusCode: whisk.StatusSuccess, Result: result},
	}
}

// fill writes a file until the filesystem refuses more.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			return
		}
	}
}

// checkFull checks that err is the store's full error: a 503 naming the
// cause.
func checkFull(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrFull) || !whisk.IsKind(err, whisk.KindUnavailable) {
		t.Fatalf("%s while full = %v, want store.ErrFull (503)", what, err)
	}
}

// checkReadable reopens the store in dir and checks every id is there.
func checkReadable(t *testing.T, dir string, ids []whisk.ActivationID) *sqlite.Store {
	t.Helper()
	s := openStore(t, dir, sqlite.Options{})
	t.Cleanup(func() { s.Close() }) // before the unmount, also on a failure
	for _, id := range ids {
		if _, err := s.GetActivation(t.Context(), "guest", id); err != nil {
			t.Fatalf("acknowledged activation %s after reopening: %v", id, err)
		}
	}
	return s
}

// waitWritable waits for the space watcher to notice freed space.
func waitWritable(t *testing.T, s *sqlite.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Writable() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Writable after space was freed: %v", s.Writable())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A store on a small disk stops taking new work before the disk is full,
// keeps every record it took, serves reads meanwhile, and takes work again
// once space is freed.
func TestFullDiskRefusesNewWorkAndKeepsRecords(t *testing.T) {
	dir := smallDisk(t, 24<<20)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir, sqlite.Options{})
	t.Cleanup(func() { s.Close() }) // before the unmount, also on a failure
	ctx := t.Context()
	var acked []whisk.ActivationID
	var full error
	for i := range 400 { // 120 MB of records: far more than the disk
		if full = s.Writable(); full != nil {
			break
		}
		a := bigRecord(i, 300<<10)
		if err := s.PutActivation(ctx, a); err != nil {
			t.Fatalf("PutActivation #%d: %v", i, err)
		}
		acked = append(acked, a.ActivationID)
	}
	if full == nil {
		t.Fatalf("the store took %d records of 300 KB on a 24 MB disk and never said it was full", len(acked))
	}
	checkFull(t, "Writable", full)
	t.Logf("full after %d records", len(acked))

	// New writes are refused; reads work.
	checkFull(t, "PutEntity", s.PutEntity(ctx, &store.Document{Collection: store.Actions, Namespace: "guest", Name: "a", Updated: 1, Body: []byte(`{}`)}))
	checkFull(t, "AddPending", s.AddPending(ctx, bigRecord(0, 10)))
	if _, err := s.GetActivation(ctx, "guest", acked[0]); err != nil {
		t.Fatalf("GetActivation while full: %v", err)
	}
	if _, _, err := s.ListActivations(ctx, store.ActivationQuery{Namespace: "guest", Limit: 5}); err != nil {
		t.Fatalf("ListActivations while full: %v", err)
	}
	flushCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Flush(flushCtx); err != nil {
		t.Fatalf("Flush of what the store took: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = checkReadable(t, dir, acked)

	// Space comes back: the store takes work again, by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitWritable(t, s)
	a := bigRecord(0, 10)
	if err := s.PutActivation(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush after space came back: %v", err)
	}
}

// When something else fills the disk, the records already taken still
// commit: the first failed commit frees the reserve for them.
func TestFullDiskReserveKeepsRecordsInFlight(t *testing.T) {
	dir := smallDisk(t, 24<<20)
	s := openStore(t, dir, sqlite.Options{})
	t.Cleanup(func() { s.Close() }) // before the unmount, also on a failure
	ctx := t.Context()
	if err := s.PutActivation(ctx, bigRecord(0, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	fill(t, filler) // another process takes every free block
	var acked []whisk.ActivationID
	// Activations that were running when the disk filled: their records
	// take, in the WAL and then in the database file, less than the 1.5 MB
	// reserve of a 24 MB disk.
	for i := range 3 {
		a := bigRecord(i, 100<<10)
		if err := s.PutActivation(ctx, a); err != nil {
			t.Fatalf("PutActivation #%d: %v", i, err)
		}
		acked = append(acked, a.ActivationID)
	}
	flushCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Flush(flushCtx); err != nil {
		t.Fatalf("Flush of records in flight when the disk filled: %v", err)
	}
	checkFull(t, "Writable", s.Writable())
	checkFull(t, "PutNamespace", s.PutNamespace(ctx, &whisk.Namespace{Name: "other", UUID: "u"}))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = checkReadable(t, dir, acked)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitWritable(t, s)
	if _, err := os.Stat(filepath.Join(dir, "kwhisk.db.reserve")); err != nil {
		t.Fatalf("the reserve is not back once space is: %v", err)
	}
}

// Under a steady stream of commits, passive checkpoints never let the WAL
// start over; the store keeps it bounded anyway (TRUNCATE checkpoints
// after every walBound of records), while expired records' pages are
// reused in the database file.
func TestWALStaysBounded(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, sqlite.Options{})
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	for round := range 6 { // 6 × 400 records of 20 KB: 48 MB in all, 8 MB live
		if _, err := s.ExpireActivations(ctx, int64(1000*(round+1)), 1000); err != nil {
			t.Fatal(err)
		}
		for i := range 400 {
			if err := s.PutActivation(ctx, bigRecordAt(int64(1000*(round+1)+i), 20<<10)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	size := func(name string) int64 {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return 0 // a WAL truncated away
		}
		return fi.Size()
	}
	db, wal := size("kwhisk.db"), size("kwhisk.db-wal")
	t.Logf("database %d bytes, WAL %d bytes", db, wal)
	if db > 24<<20 {
		t.Errorf("the database grew to %d bytes for 8 MB of live records: freed pages are not reused", db)
	}
	if wal > 32<<20 {
		t.Errorf("the WAL grew to %d bytes after 48 MB of records: it is not kept bounded", wal)
	}
}

func bigRecordAt(start int64, size int) *whisk.Activation {
	a := bigRecord(0, size)
	a.Start, a.End = start, start+1
	return a
}
