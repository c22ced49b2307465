package sqlite

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Retry delays after a failed group commit.
const (
	retryMin = 10 * time.Millisecond
	retryMax = 5 * time.Second
)

// Checkpoints copy the WAL back into the database file. The checkpointer
// goroutine does it on its own connection after every checkpointEvery
// committed items or checkpointBytes of committed records, so the writer does not pay for it; the writer's own
// automatic checkpoint at walAutoCheckpoint pages only bounds the WAL if
// the checkpointer falls behind.
const (
	checkpointEvery   = 1024
	checkpointBytes   = 4 << 20
	walBound          = 16 << 20
	walAutoCheckpoint = 16384
)

// write is the writer goroutine: it commits queued items in batches until
// the queue is closed and drained. A failed batch is retried with backoff,
// one item at a time while the disk is full so that what fits commits;
// after Close it is retried for closeRetry, then abandoned and the error
// returned by Close.
func (s *Store) write() {
	defer close(s.written)
	var batch []*item
	for {
		batch = s.q.take(batch[:0], s.opts.BatchSize)
		if len(batch) == 0 {
			return
		}
		// Linger briefly for more: at low rates this turns one commit
		// (and its WAL write) per record into one per burst, which is
		// what keeps the writer off the invoke path's CPU.
		if len(batch) < s.opts.BatchSize && s.opts.Linger > 0 && !s.q.isClosed() {
			t := time.NewTimer(s.opts.Linger)
			select {
			case <-t.C:
			case <-s.q.stop:
				t.Stop()
			}
			batch = s.q.takeReady(batch, s.opts.BatchSize)
		}
		if err := s.commitAll(batch); err != nil {
			s.writeErr = err
			return
		}
		clear(batch)
	}
}

// commitAll commits batch, retrying until it is committed, or until the
// store has been closed for closeRetry, when it abandons what is left.
func (s *Store) commitAll(batch []*item) error {
	var giveUp time.Time
	for delay := retryMin; len(batch) > 0; {
		part := batch
		if s.space.full.Load() {
			part = batch[:1]
		}
		began := time.Now()
		err := s.commit(part)
		if s.opts.Commits != nil {
			s.opts.Commits.Commit(len(part), time.Since(began), err)
		}
		if err != nil && isFull(err) && s.space.releaseReserve() {
			continue // room was just made: retry before reporting a failure
		}
		err = s.space.noteWrite(err)
		if err == nil {
			// Look at the free space and count these bytes as not yet
			// checkpointed before the queue forgets them, so Writable
			// never counts them on neither side.
			s.space.refresh()
			s.space.unckpt.Add(size(part))
			s.q.committed(part)
			s.requestCheckpoint(part)
			s.boundWAL(part)
			batch = batch[len(part):]
			delay = retryMin
			continue
		}
		s.q.failed(err)
		if s.q.isClosed() {
			if giveUp.IsZero() {
				giveUp = time.Now().Add(closeRetry)
			} else if time.Now().After(giveUp) {
				s.q.abandon(batch, err)
				return err
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.q.stop: // closing: retry at once
			t.Stop()
		}
		delay = min(2*delay, retryMax)
		if s.q.isClosed() {
			delay = min(delay, 100*time.Millisecond)
		}
	}
	return nil
}

// commit writes batch in one transaction, with the seq of its last item.
// A record's pending row is deleted only if the writer knows of one.
func (s *Store) commit(batch []*item) (err error) {
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
		switch it.kind {
		case putActivation:
			if _, err := insertActivation.ExecContext(ctx, it.namespace, string(it.id), it.entityName, it.start, it.body); err != nil {
				return fmt.Errorf("commit activation %s/%s: %w", it.namespace, it.id, err)
			}
			pending, ok := changed[it.id]
			if !ok {
				_, pending = s.pendingIDs[it.id]
			}
			if !pending {
				continue
			}
			if _, err := deletePending.ExecContext(ctx, string(it.id)); err != nil {
				return fmt.Errorf("commit activation %s/%s: drop pending: %w", it.namespace, it.id, err)
			}
			changed[it.id] = false
		case addPending:
			if _, err := insertPending.ExecContext(ctx, string(it.id), it.body); err != nil {
				return fmt.Errorf("commit pending %s: %w", it.id, err)
			}
			changed[it.id] = true
		}
	}
	if _, err := tx.StmtContext(ctx, s.stmts.setSeq).ExecContext(ctx, batch[len(batch)-1].seq); err != nil {
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
func (s *Store) requestCheckpoint(part []*item) {
	s.sinceCkpt += len(part)
	for _, it := range part {
		s.bytesSinceCkpt += len(it.body)
	}
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
func (s *Store) boundWAL(part []*item) {
	if s.walBytes.Add(size(part)) < walBound {
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
		case <-s.q.stop:
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
