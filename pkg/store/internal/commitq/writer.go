package commitq

import "time"

// Retry delays after a failed group commit.
const (
	retryMin = 10 * time.Millisecond
	retryMax = 5 * time.Second
)

// WriterOptions tune Write.
type WriterOptions struct {
	// BatchSize is the most writes committed in one transaction.
	BatchSize int
	// Linger is how long the writer waits for more writes after the first
	// of a batch; 0 or negative means not at all.
	Linger time.Duration
	// Commit writes batch, in order, in one transaction together with the
	// Seq of its last item.
	Commit func(batch []*Item) error
	// Committed, if set, is called after each successful commit.
	Committed func(batch []*Item)
}

// Write is the writer goroutine's loop: it commits queued items in batches
// until the queue is closed and drained. A failed batch is retried with
// backoff; after Close it is abandoned and its error returned.
func (q *Queue) Write(o WriterOptions) error {
	var batch []*Item
	for {
		batch = q.Take(batch[:0], o.BatchSize)
		if len(batch) == 0 {
			return nil
		}
		// Linger briefly for more: at low rates this turns one commit
		// per record into one per burst, which is what keeps the
		// writer off the invoke path's CPU.
		if len(batch) < o.BatchSize && o.Linger > 0 && !q.IsClosed() {
			t := time.NewTimer(o.Linger)
			select {
			case <-t.C:
			case <-q.stop:
				t.Stop()
			}
			batch = q.TakeReady(batch, o.BatchSize)
		}
		for delay := retryMin; ; delay = min(2*delay, retryMax) {
			err := o.Commit(batch)
			if err == nil {
				q.Committed(batch)
				if o.Committed != nil {
					o.Committed(batch)
				}
				break
			}
			q.Failed(err)
			if q.IsClosed() {
				q.Abandon(batch, err)
				return err
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-q.stop: // retry once more at once, then give up
				t.Stop()
			}
		}
		clear(batch)
	}
}
