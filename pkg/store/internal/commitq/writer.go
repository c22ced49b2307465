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
	// Committed, if set, is called after each successful commit, with
	// what it committed, before the queue forgets those items.
	Committed func(part []*Item)
	// Observe, if set, hears of every commit: how many items, how long
	// it took, and its error (metrics). It must not block.
	Observe func(items int, d time.Duration, err error)
	// OneByOne, if set and true, commits one item at a time: while the
	// disk is short of room, what fits commits.
	OneByOne func() bool
	// CloseRetry is how long a failed batch is still retried once the
	// queue is closed; 0 abandons it at the first failure after Close.
	CloseRetry time.Duration
}

// Write is the writer goroutine's loop: it commits queued items in batches
// until the queue is closed and drained. A failed batch is retried with
// backoff; once the queue is closed, for CloseRetry, and then abandoned
// and its error returned.
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
		if err := q.commitAll(o, batch); err != nil {
			return err
		}
		clear(batch)
	}
}

// commitAll commits batch, retrying until it is committed, or until the
// queue has been closed for o.CloseRetry, when it abandons what is left.
func (q *Queue) commitAll(o WriterOptions, batch []*Item) error {
	var giveUp time.Time
	for delay := retryMin; len(batch) > 0; {
		part := batch
		if o.OneByOne != nil && o.OneByOne() {
			part = batch[:1]
		}
		began := time.Now()
		err := o.Commit(part)
		if o.Observe != nil {
			o.Observe(len(part), time.Since(began), err)
		}
		if err == nil {
			if o.Committed != nil {
				o.Committed(part)
			}
			q.Committed(part)
			batch = batch[len(part):]
			delay = retryMin
			continue
		}
		q.Failed(err)
		if q.IsClosed() {
			if giveUp.IsZero() {
				giveUp = time.Now().Add(o.CloseRetry)
			}
			if !time.Now().Before(giveUp) {
				q.Abandon(batch, err)
				return err
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-q.stop: // closing: retry at once
			t.Stop()
		}
		delay = min(2*delay, retryMax)
		if q.IsClosed() {
			delay = min(delay, 100*time.Millisecond)
		}
	}
	return nil
}
