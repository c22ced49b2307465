package events

import (
	"container/list"
	"sync"
	"time"
)

// dedup remembers (trigger, source, id) keys for a window so a broker's
// redelivery of an event that was already accepted is acknowledged without
// firing again. It is bounded: past max entries the oldest are forgotten.
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
}

func newDedup(window time.Duration, max int, now func() time.Time) *dedup {
	return &dedup{window: window, max: max, now: now, order: list.New(), seen: map[string]*list.Element{}}
}

// firstSeen records key and reports whether it was new within the window.
func (d *dedup) firstSeen(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	for e := d.order.Front(); e != nil; e = d.order.Front() {
		entry := e.Value.(dedupEntry)
		if now.Before(entry.expires) && d.order.Len() <= d.max {
			break
		}
		d.order.Remove(e)
		delete(d.seen, entry.key)
	}
	if _, ok := d.seen[key]; ok {
		return false
	}
	d.seen[key] = d.order.PushBack(dedupEntry{key: key, expires: now.Add(d.window)})
	return true
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
