package events

import (
	"container/list"
	"sync"
	"time"
)

// dedup remembers (trigger, source, id) keys for a window so a broker's
// redelivery of an event that was already accepted is acknowledged without
// firing again. A redelivery that comes while the first delivery is still
// firing (the broker gave up waiting for it) is told to come back: should
// that first one fail, the event is not lost. It is bounded: past max
// entries the oldest are forgotten.
type dedup struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	now    func() time.Time
	order  *list.List // of dedupEntry, oldest first
	seen   map[string]*list.Element
}

type dedupEntry struct {
	key     string
	expires time.Time
	done    bool // fired; false while the first delivery is under way
}

// claim is what dedup says of a delivery.
type claim int

const (
	claimNew     claim = iota // the first: fire it, then settle or forget
	claimPending              // the first is still firing: retry later
	claimDone                 // fired already: acknowledge it
)

func newDedup(window time.Duration, max int, now func() time.Time) *dedup {
	return &dedup{window: window, max: max, now: now, order: list.New(), seen: map[string]*list.Element{}}
}

// claim records key, pending, when it is new within the window, and
// reports what the delivery is.
func (d *dedup) claim(key string) claim {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	for e := d.order.Front(); e != nil; e = d.order.Front() {
		entry := e.Value.(*dedupEntry)
		if now.Before(entry.expires) && d.order.Len() <= d.max {
			break
		}
		d.order.Remove(e)
		delete(d.seen, entry.key)
	}
	if e, ok := d.seen[key]; ok {
		if e.Value.(*dedupEntry).done {
			return claimDone
		}
		return claimPending
	}
	d.seen[key] = d.order.PushBack(&dedupEntry{key: key, expires: now.Add(d.window)})
	return claimNew
}

// settle marks key fired: later deliveries are duplicates.
func (d *dedup) settle(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.seen[key]; ok {
		e.Value.(*dedupEntry).done = true
	}
}

// forget drops key, so a delivery that failed can be retried.
func (d *dedup) forget(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.seen[key]; ok {
		d.order.Remove(e)
		delete(d.seen, key)
	}
}
