package sqlite

import (
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
// committed items, so the writer does not pay for it; the writer's own
// automatic checkpoint at walAutoCheckpoint pages only bounds the WAL if
// the checkpointer falls behind.
const (
	checkpointEvery   = 1024
	walAutoCheckpoint = 16384
)

// write is the writer goroutine: it commits queued items in batches until
// the queue is closed and drained. A failed batch is retried with backoff;
// after Close it is abandoned and the error returned by Close.
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
		for delay := retryMin; ; delay = min(2*delay, retryMax) {
			began := time.Now()
			err := s.commit(batch)
			if s.opts.Commits != nil {
				s.opts.Commits.Commit(len(batch), time.Since(began), err)
			}
			if err == nil {
				s.q.committed(batch)
				s.requestCheckpoint(len(batch))
				break
			}
			s.q.failed(err)
			if s.q.isClosed() {
				s.writeErr = err
				s.q.abandon(batch, err)
				return
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.q.stop: // retry once more at once, then give up
				t.Stop()
			}
		}
		clear(batch)
	}
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

// requestCheckpoint counts n committed items and nudges the checkpointer
// when enough have been committed since its last nudge.
func (s *Store) requestCheckpoint(n int) {
	s.sinceCkpt += n
	if s.sinceCkpt < checkpointEvery {
		return
	}
	s.sinceCkpt = 0
	select {
	case s.ckpt <- struct{}{}:
	default: // a checkpoint is already due
	}
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
		if _, err := s.cdb.ExecContext(s.ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			s.ckptErr = fmt.Errorf("checkpoint: %w", err) // reported by Close
		}
	}
}
