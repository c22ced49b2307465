package sqlite

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Checkpoints copy the WAL back into the database file. The checkpointer
// goroutine does it on its own connection after every checkpointEvery
// committed items or checkpointBytes of committed records, so the writer
// does not pay for it; the writer's own automatic checkpoint at walAutoCheckpoint pages only bounds the WAL if
// the checkpointer falls behind.
const (
	checkpointEvery   = 1024
	checkpointBytes   = 4 << 20
	walBound          = 16 << 20
	walAutoCheckpoint = 16384
)

// write is the writer goroutine: see commitq.Queue.Write. While the disk
// is short of room it commits one record at a time, so what fits commits;
// the first SQLITE_FULL frees the reserve and retries at once; on Close a
// failed batch is retried for closeRetry (see space.go).
func (s *Store) write() {
	defer close(s.written)
	var observe func(int, time.Duration, error)
	if s.opts.Commits != nil {
		observe = s.opts.Commits.Commit
	}
	s.writeErr = s.q.Write(commitq.WriterOptions{
		BatchSize: s.opts.BatchSize,
		Linger:    s.opts.Linger,
		Commit: func(batch []*commitq.Item) error {
			err := s.commit(batch)
			if err != nil && isFull(err) && s.space.releaseReserve() {
				err = s.commit(batch) // room was just made: retry before reporting a failure
			}
			return s.space.noteWrite(err)
		},
		Committed: func(part []*commitq.Item) {
			// Look at the free space and count these bytes as not yet
			// checkpointed before the queue forgets them, so Writable
			// never counts them on neither side.
			s.space.refresh()
			s.space.unckpt.Add(commitq.Size(part))
			s.requestCheckpoint(part)
			s.boundWAL(part)
		},
		Observe:    observe,
		OneByOne:   s.space.full.Load,
		CloseRetry: closeRetry,
	})
}

// commit writes batch in one transaction, with the seq of its last item.
// A record's pending row is deleted only if the writer knows of one.
func (s *Store) commit(batch []*commitq.Item) (err error) {
	ctx := s.ctx
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("commit activations: %w", err)
	}
	defer func() {
		if err != nil {
			rollback(tx)
		}
	}()
	insertActivation := tx.StmtContext(ctx, s.stmts.insertActivation)
	deletePending := tx.StmtContext(ctx, s.stmts.deletePending)
	insertPending := tx.StmtContext(ctx, s.stmts.insertPending)
	changed := map[whisk.ActivationID]bool{} // pending ids added (true) or dropped in this batch
	for _, it := range batch {
		switch it.Kind {
		case commitq.PutActivation:
			if _, err := insertActivation.ExecContext(ctx, it.Namespace, string(it.ID), it.EntityName, it.Start, it.Body); err != nil {
				return fmt.Errorf("commit activation %s/%s: %w", it.Namespace, it.ID, err)
			}
			pending, ok := changed[it.ID]
			if !ok {
				_, pending = s.pendingIDs[it.ID]
			}
			if !pending {
				continue
			}
			if _, err := deletePending.ExecContext(ctx, string(it.ID)); err != nil {
				return fmt.Errorf("commit activation %s/%s: drop pending: %w", it.Namespace, it.ID, err)
			}
			changed[it.ID] = false
		case commitq.AddPending:
			if _, err := insertPending.ExecContext(ctx, string(it.ID), it.Body); err != nil {
				return fmt.Errorf("commit pending %s: %w", it.ID, err)
			}
			changed[it.ID] = true
		}
	}
	if _, err := tx.StmtContext(ctx, s.stmts.setSeq).ExecContext(ctx, batch[len(batch)-1].Seq); err != nil {
		return fmt.Errorf("commit activations: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit activations: %w", err)
	}
	for id, pending := range changed {
		if pending {
			s.pendingIDs[id] = struct{}{}
		} else {
			delete(s.pendingIDs, id)
		}
	}
	return nil
}

// requestCheckpoint counts the committed items and their bytes and nudges
// the checkpointer when enough of either have been committed since its
// last nudge. Counting bytes keeps the WAL bounded when records are large.
func (s *Store) requestCheckpoint(part []*commitq.Item) {
	s.sinceCkpt += len(part)
	s.bytesSinceCkpt += int(commitq.Size(part))
	if s.sinceCkpt < checkpointEvery && s.bytesSinceCkpt < checkpointBytes {
		return
	}
	s.sinceCkpt, s.bytesSinceCkpt = 0, 0
	select {
	case s.ckpt <- struct{}{}:
	default: // a checkpoint is already due
	}
}

// boundWAL keeps the WAL file from growing without end. Passive
// checkpoints copy the WAL into the database without blocking anyone, but
// under a steady stream of commits the WAL never becomes free to start
// over and keeps growing. After walBound bytes of records the writer asks
// the checkpointer for a TRUNCATE checkpoint, which waits for the writer
// between two commits, copies what the passive ones left and empties the
// file. The checkpointer runs every checkpoint, so none is refused for
// another one under way; one held up by a reader is tried again on the
// next nudge.
func (s *Store) boundWAL(part []*commitq.Item) {
	if s.walBytes.Add(commitq.Size(part)) < walBound {
		return
	}
	select {
	case s.ckpt <- struct{}{}:
	default: // a checkpoint is already due; it will see walBytes
	}
}

// walCheckpoint runs a checkpoint in mode on db. Once one has copied every
// frame, the records committed before it have taken their room in the
// database file too: the space watcher stops counting them as still to
// come (see space.room).
func (s *Store) walCheckpoint(db *sql.DB, mode string) error {
	n := s.space.unckpt.Load()
	var busy, frames, copied int
	if err := db.QueryRowContext(s.ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if busy == 0 && frames == copied {
		s.space.refresh()
		s.space.unckpt.Add(-n)
		if mode == "TRUNCATE" {
			s.walBytes.Store(0)
		}
	}
	return nil
}

// checkpoint is the checkpointer goroutine. A passive checkpoint never
// blocks the writer or readers; it copies what it can.
func (s *Store) checkpoint() {
	defer close(s.checkpointed)
	for {
		select {
		case <-s.q.Stopped():
			return
		case <-s.ckpt:
		}
		mode := "PASSIVE"
		if s.walBytes.Load() >= walBound {
			mode = "TRUNCATE"
		}
		if err := s.walCheckpoint(s.cdb, mode); err != nil {
			if isFull(err) {
				// Nothing is lost: the WAL keeps what the database file
				// could not take, and a later checkpoint copies it.
				s.space.releaseReserve()
				continue
			}
			s.ckptErr = fmt.Errorf("checkpoint: %w", err) // reported by Close
		}
	}
}
