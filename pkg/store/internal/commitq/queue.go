package commitq

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// ErrClosed is returned by Push after Close.
var ErrClosed = errors.New("store closed")

// Kind says what a queued Item writes.
type Kind uint8

const (
	PutActivation Kind = iota // insert the record, drop its pending entry
	AddPending                // insert a pending entry
)

// Item is one write queued for the writer goroutine. Its fields never
// change after it is queued, except Seq, which Push sets once.
type Item struct {
	Kind       Kind
	Seq        uint64
	Namespace  string
	ID         whisk.ActivationID
	EntityName string
	Start      int64
	Body       []byte // the record as JSON
}

// Key is an activation's primary key.
type Key struct {
	Namespace string
	ID        whisk.ActivationID
}

type waiter struct {
	seq uint64
	ch  chan error // buffered: notifying never blocks
}

// Queue holds the writes not yet committed, in order. Every queued write has
// a sequence number; the writer commits them in that order and stores the
// last committed number with them, so a reader can tell which queued
// records its database snapshot already holds.
type Queue struct {
	slots chan struct{} // one token per queued item: bounds the queue
	bytes atomic.Int64  // the size of the queued items' bodies
	wake  chan struct{} // nudges the writer; capacity 1
	stop  chan struct{} // closed by close

	mu      sync.Mutex
	items   []*Item       // queued, not yet taken by the writer
	live    map[Key]*Item // activations queued or being committed
	last    uint64        // seq of the newest queued item
	done    uint64        // seq of the newest committed item
	closed  bool          // no more pushes; the writer drains and stops
	broken  error         // why queued items were abandoned
	waiters []waiter      // waiting for done to reach their seq
}

// New returns an empty queue of at most size writes whose next write has
// the seq after seq.
func New(size int, seq uint64) *Queue {
	return &Queue{
		slots: make(chan struct{}, size),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		live:  make(map[Key]*Item),
		last:  seq,
		done:  seq,
	}
}

// Push queues it, blocking while the queue is full, and returns its seq.
func (q *Queue) Push(ctx context.Context, it *Item) (uint64, error) {
	select {
	case q.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		<-q.slots
		return 0, ErrClosed
	}
	q.last++
	it.Seq = q.last
	q.bytes.Add(int64(len(it.Body)))
	q.items = append(q.items, it)
	if it.Kind == PutActivation {
		q.live[Key{it.Namespace, it.ID}] = it
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // the writer is already nudged
	}
	return it.Seq, nil
}

// Get returns the uncommitted record under k, if any.
func (q *Queue) Get(k Key) (*Item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.live[k]
	return it, ok
}

// Matching returns the uncommitted records that match.
func (q *Queue) Matching(match func(*Item) bool) []*Item {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*Item
	for _, it := range q.live {
		if match(it) {
			out = append(out, it)
		}
	}
	return out
}

// LastSeq returns the seq of the newest queued item.
func (q *Queue) LastSeq() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.last
}

// Take appends up to max queued items to dst, blocking until there is at
// least one. It returns dst unchanged once the queue is closed and empty.
func (q *Queue) Take(dst []*Item, max int) []*Item {
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

// TakeReady appends up to max-len(dst) queued items without waiting.
func (q *Queue) TakeReady(dst []*Item, max int) []*Item {
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

// Committed records that batch, the items last taken, is durable.
func (q *Queue) Committed(batch []*Item) {
	q.mu.Lock()
	for _, it := range batch {
		k := Key{it.Namespace, it.ID}
		if it.Kind == PutActivation && q.live[k] == it {
			delete(q.live, k)
		}
	}
	q.done = batch[len(batch)-1].Seq
	q.bytes.Add(-Size(batch))
	q.notify(func(w waiter) (error, bool) { return nil, w.seq <= q.done })
	q.mu.Unlock()
	for range batch {
		<-q.slots
	}
}

// Failed tells every waiter that a commit failed. The batch stays queued in
// the writer's hands and is retried.
func (q *Queue) Failed(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.notify(func(waiter) (error, bool) { return err, true })
}

// Abandon drops batch and everything still queued after a failed commit
// during Close. Their records stay readable until the store is gone.
func (q *Queue) Abandon(batch []*Item, err error) {
	q.mu.Lock()
	n := len(batch) + len(q.items)
	q.bytes.Add(-Size(batch) - Size(q.items))
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
func (q *Queue) notify(f func(waiter) (error, bool)) {
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

// Wait blocks until the item with seq is committed.
func (q *Queue) Wait(ctx context.Context, seq uint64) error {
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

// Close stops pushes and lets the writer drain the queue and return.
func (q *Queue) Close() {
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

// QueuedBytes is the size of the bodies queued and not yet committed.
func (q *Queue) QueuedBytes() int64 { return q.bytes.Load() }

// Size is the size of the items' bodies.
func Size(items []*Item) int64 {
	var n int64
	for _, it := range items {
		n += int64(len(it.Body))
	}
	return n
}

func (q *Queue) IsClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// Stopped is closed once Close is called.
func (q *Queue) Stopped() <-chan struct{} { return q.stop }
