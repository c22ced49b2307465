package sqlite

import (
	"fmt"
	"time"
)

// Retry delays after a failed group commit.
const (
	retryMin = 10 * time.Millisecond
	retryMax = 5 * time.Second
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
		for delay := retryMin; ; delay = min(2*delay, retryMax) {
			err := s.commit(batch)
			if err == nil {
				s.q.committed(batch)
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
	for _, it := range batch {
		switch it.kind {
		case putActivation:
			if _, err := insertActivation.ExecContext(ctx, it.namespace, string(it.id), it.entityName, it.start, it.body); err != nil {
				return fmt.Errorf("commit activation %s/%s: %w", it.namespace, it.id, err)
			}
			if _, err := deletePending.ExecContext(ctx, string(it.id)); err != nil {
				return fmt.Errorf("commit activation %s/%s: drop pending: %w", it.namespace, it.id, err)
			}
		case addPending:
			if _, err := insertPending.ExecContext(ctx, string(it.id), it.body); err != nil {
				return fmt.Errorf("commit pending %s: %w", it.id, err)
			}
		}
	}
	if _, err := tx.StmtContext(ctx, s.stmts.setSeq).ExecContext(ctx, batch[len(batch)-1].seq); err != nil {
		return fmt.Errorf("commit activations: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit activations: %w", err)
	}
	return nil
}
