package sqlite

import (
	"fmt"

	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
	"github.com/kwhisk/kwhisk/pkg/whisk"
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

// write is the writer goroutine: see commitq.Queue.Write.
func (s *Store) write() {
	defer close(s.written)
	s.writeErr = s.q.Write(commitq.WriterOptions{
		BatchSize: s.opts.BatchSize,
		Linger:    s.opts.Linger,
		Commit:    s.commit,
		Committed: func(batch []*commitq.Item) { s.requestCheckpoint(len(batch)) },
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
		case <-s.q.Stopped():
			return
		case <-s.ckpt:
		}
		if _, err := s.cdb.ExecContext(s.ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			s.ckptErr = fmt.Errorf("checkpoint: %w", err) // reported by Close
		}
	}
}
