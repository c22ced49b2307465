package sqlite

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"modernc.org/sqlite"

	"github.com/kwhisk/kwhisk/pkg/store"
)

// A full disk must not lose what kwhisk acknowledged. Records of blocking
// invokes are answered before they commit (group commit), so the store
// keeps room for what is already in flight:
//
//   - The store is "full" once the filesystem's free space drops below the
//     reserve, or a write fails with SQLITE_FULL. While full, or while the
//     records queued but not committed would not fit beside the reserve,
//     Writable and every new entity, namespace and pending write answer
//     store.ErrFull, and the activation service refuses new invokes and
//     fires with it, so the records still to commit are only those of
//     activations already running.
//   - A reserve file of the same size sits beside the database. The first
//     SQLITE_FULL removes it, giving those records room to commit.
//   - The writer keeps retrying a batch that failed, one record at a time
//     while full, so what fits commits; on Close it retries for closeRetry
//     before giving up.
//   - Once free space is back to twice the reserve and the reserve file is
//     written again, the store accepts writes again.
//
// The reserve is a sixteenth of the filesystem, between minReserve and
// maxReserve, unless Options.Reserve says otherwise.
const (
	minReserve     = 1 << 20
	maxReserve     = 32 << 20
	spaceInterval  = time.Second
	closeRetry     = 10 * time.Second
	sqliteFullCode = 13 // SQLITE_FULL
)

// space tracks whether the database's filesystem has room.
type space struct {
	dir     string // the database's directory
	file    string // the reserve file
	reserve int64
	full    atomic.Bool
	free    atomic.Int64 // bytes available at the last look
	// unckpt is the size of the records committed to the WAL since the
	// last complete checkpoint: the checkpoint will take that much room
	// again in the database file.
	unckpt atomic.Int64
}

// newSpace sizes the reserve and writes its file if it is missing.
func newSpace(dbPath string, reserve int64) (*space, error) {
	sp := &space{dir: filepath.Dir(dbPath), file: dbPath + ".reserve", reserve: reserve}
	if sp.reserve <= 0 {
		total, _, err := statfs(sp.dir)
		if err != nil {
			return nil, fmt.Errorf("free space of %s: %w", sp.dir, err)
		}
		sp.reserve = min(max(total/16, minReserve), maxReserve)
	}
	sp.check()
	return sp, nil
}

// check updates the full flag from the free space: full below the reserve,
// or while the reserve file is missing and cannot be written again; not
// full once there is twice the reserve free and the reserve file is back.
func (sp *space) check() {
	_, free, err := statfs(sp.dir)
	if err != nil {
		return // keep the last state; a failing statfs says nothing about space
	}
	sp.free.Store(free)
	if free < sp.reserve {
		sp.full.Store(true)
		return
	}
	if sp.full.Load() && free < 2*sp.reserve {
		return
	}
	if err := sp.restoreReserve(); err != nil {
		sp.full.Store(true)
		return
	}
	sp.full.Store(false)
}

// refresh reads the free space and marks the store full when it is below
// the reserve. It runs after every commit and checkpoint, so a fast writer
// cannot outrun the watcher's interval; clearing the flag is left to
// check.
func (sp *space) refresh() {
	_, free, err := statfs(sp.dir)
	if err != nil {
		return
	}
	sp.free.Store(free)
	if free < sp.reserve {
		sp.full.Store(true)
	}
}

// restoreReserve writes the reserve file if it is missing or short.
func (sp *space) restoreReserve() error {
	if fi, err := os.Stat(sp.file); err == nil && fi.Size() >= sp.reserve {
		return nil
	}
	f, err := os.OpenFile(sp.file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	// Allocated blocks, not a sparse file: fallocate where the filesystem
	// has it (instant), else zeros.
	if err = allocate(f, sp.reserve); err != nil {
		_, err = io.CopyN(f, zeros{}, sp.reserve)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(sp.file) // a partial reserve holds space for nothing
	}
	return err
}

// releaseReserve marks the store full and frees the reserve file's space
// for the records already acknowledged. It reports whether it freed any.
func (sp *space) releaseReserve() bool {
	sp.full.Store(true)
	return os.Remove(sp.file) == nil // else already gone after an earlier failure
}

// room returns store.ErrFull while the store is full, or while what is
// still to be written would not fit beside the reserve: the records queued
// (queued bytes) count twice, once in the WAL and once in the database
// file a checkpoint copies them to; those committed to the WAL but not
// yet checkpointed count once more.
func (sp *space) room(queued int64) error {
	if sp.full.Load() || sp.free.Load()-2*queued-sp.unckpt.Load() < sp.reserve {
		return store.ErrFull
	}
	return nil
}

// noteWrite looks at a write's error: SQLITE_FULL (or ENOSPC) marks the
// store full and frees the reserve, and comes back as store.ErrFull with
// the driver's error beside it. Other errors pass unchanged.
func (sp *space) noteWrite(err error) error {
	if err == nil || !isFull(err) {
		return err
	}
	sp.releaseReserve()
	return fmt.Errorf("%w (%v)", store.ErrFull, err)
}

// isFull reports whether err says the database or disk is full.
func isFull(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) && e.Code()&0xff == sqliteFullCode {
		return true
	}
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, store.ErrFull)
}

// statfs returns the total and available bytes of the filesystem at dir.
func statfs(dir string) (total, free int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	bs := int64(st.Bsize)
	return int64(st.Blocks) * bs, int64(st.Bavail) * bs, nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// watchSpace is the space watcher goroutine: it checks the free space
// every spaceInterval until the store closes, so a store made full by
// another writer stops taking new work, and a full one recovers once
// space is freed, with no write to trigger either.
func (s *Store) watchSpace() {
	defer close(s.watched)
	t := time.NewTicker(spaceInterval)
	defer t.Stop()
	for {
		select {
		case <-s.q.Stopped():
			return
		case <-t.C:
			s.space.check()
		}
	}
}

// Writable returns store.ErrFull while the database or its disk is full:
// the activation service asks before it starts an activation, whose record
// must have room.
func (s *Store) Writable() error { return s.space.room(s.q.QueuedBytes()) }
