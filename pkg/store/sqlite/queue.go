package sqlite

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

var errClosed = errors.New("store closed")

type itemKind uint8

const (
	putActivation itemKind = iota // insert the record, drop its pending row
	addPending                    // insert a pending row
)

// item is one write queued for the writer goroutine. Its fields never
// change after it is queued, except seq, which is set once under queue.mu.
type item struct {
	kind       itemKind
	seq        uint64
	namespace  string
	id         whisk.ActivationID
	entityName string
	start      int64
	body       []byte // the record as JSON
}

// actKey is an activation's primary key.
type actKey struct {
	namespace string
	id        whisk.ActivationID
}

type waiter struct {
	seq uint64
	ch  chan error // buffered: notifying never blocks
}

// queue holds the writes not yet committed, in order. Every queued write has
// a sequence number; the writer commits them in that order and stores the
// last committed number with them, so a reader can tell which queued
// records its database snapshot already holds.
type queue struct {
	slots chan struct{} // one token per queued item: bounds the queue
	bytes atomic.Int64  // the size of the queued items' bodies
	wake  chan struct{} // nudges the writer; capacity 1
	stop  chan struct{} // closed by close

	mu      sync.Mutex
	items   []*item          // queued, not yet taken by the writer
	live    map[actKey]*item // activations queued or being committed
	last    uint64           // seq of the newest queued item
	done    uint64           // seq of the newest committed item
	closed  bool             // no more pushes; the writer drains and stops
	broken  error            // why queued items were abandoned
	waiters []waiter         // waiting for done to reach their seq
}

func newQueue(size int, seq uint64) *queue {
	return &queue{
		slots: make(chan struct{}, size),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		live:  make(map[actKey]*item),
		last:  seq,
		done:  seq,
	}
}

// push queues it, blocking while the queue is full, and returns its seq.
func (q *queue) push(ctx context.Context, it *item) (uint64, error) {
	select {
	case q.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		<-q.slots
		return 0, errClosed
	}
	q.last++
	it.seq = q.last
	q.bytes.Add(int64(len(it.body)))
	q.items = append(q.items, it)
	if it.kind == putActivation {
		q.live[actKey{it.namespace, it.id}] = it
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // the writer is already nudged
	}
	return it.seq, nil
}

// get returns the uncommitted record under k, if any.
func (q *queue) get(k actKey) (*item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.live[k]
	return it, ok
}

// matching returns the uncommitted records that match.
func (q *queue) matching(match func(*item) bool) []*item {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*item
	for _, it := range q.live {
		if match(it) {
			out = append(out, it)
		}
	}
	return out
}

// lastSeq returns the seq of the newest queued item.
func (q *queue) lastSeq() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.last
}

// take appends up to max queued items to dst, blocking until there is at
// least one. It returns dst unchanged once the queue is closed and empty.
func (q *queue) take(dst []*item, max int) []*item {
	for {
		q.mu.Lock()
		if n := min(max, len(q.items)); n > 0 {
			dst = append(dst, q.items[:n]...)
			rest := copy(q.items, q.items[n:])
			clear(q.items[rest:])
			q.items = q.items[:rest]
			q.mu.Unlock()
			return dst
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return dst
		}
		<-q.wake
	}
}

// takeReady appends up to max-len(dst) queued items without waiting.
func (q *queue) takeReady(dst []*item, max int) []*item {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := min(max-len(dst), len(q.items)); n > 0 {
		dst = append(dst, q.items[:n]...)
		rest := copy(q.items, q.items[n:])
		clear(q.items[rest:])
		q.items = q.items[:rest]
	}
	return dst
}

// committed records that batch, the items last taken, is durable.
func (q *queue) committed(batch []*item) {
	q.mu.Lock()
	for _, it := range batch {
		k := actKey{it.namespace, it.id}
		if it.kind == putActivation && q.live[k] == it {
			delete(q.live, k)
		}
	}
	q.done = batch[len(batch)-1].seq
	q.bytes.Add(-size(batch))
	q.notify(func(w waiter) (error, bool) { return nil, w.seq <= q.done })
	q.mu.Unlock()
	for range batch {
		<-q.slots
	}
}

// failed tells every waiter that a commit failed. The batch stays queued in
// the writer's hands and is retried.
func (q *queue) failed(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.notify(func(waiter) (error, bool) { return err, true })
}

// abandon drops batch and everything still queued after a failed commit
// during Close. Their records stay readable until the store is gone.
func (q *queue) abandon(batch []*item, err error) {
	q.mu.Lock()
	n := len(batch) + len(q.items)
	q.bytes.Add(-size(batch) - size(q.items))
	q.broken = err
	clear(q.items)
	q.items = q.items[:0]
	q.notify(func(waiter) (error, bool) { return err, true })
	q.mu.Unlock()
	for range n {
		<-q.slots
	}
}

// notify sends to and drops the waiters for which f says so. q.mu is held.
func (q *queue) notify(f func(waiter) (error, bool)) {
	keep := q.waiters[:0]
	for _, w := range q.waiters {
		if err, ok := f(w); ok {
			w.ch <- err
		} else {
			keep = append(keep, w)
		}
	}
	clear(q.waiters[len(keep):])
	q.waiters = keep
}

// wait blocks until the item with seq is committed.
func (q *queue) wait(ctx context.Context, seq uint64) error {
	q.mu.Lock()
	if q.done >= seq {
		q.mu.Unlock()
		return nil
	}
	if q.broken != nil {
		err := q.broken
		q.mu.Unlock()
		return err
	}
	ch := make(chan error, 1)
	q.waiters = append(q.waiters, waiter{seq: seq, ch: ch})
	q.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err() // the waiter is dropped at the next notify
	}
}

// close stops pushes and lets the writer drain the queue and return.
func (q *queue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.stop)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// queuedBytes is the size of the bodies queued and not yet committed.
func (q *queue) queuedBytes() int64 { return q.bytes.Load() }

func size(items []*item) int64 {
	var n int64
	for _, it := range items {
		n += int64(len(it.body))
	}
	return n
}

func (q *queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}
