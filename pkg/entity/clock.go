package entity

import (
	"sync"
	"time"
)

// updatedClock hands out "updated" stamps in epoch milliseconds that never
// repeat or go back within the process, so lists ordered newest first keep
// the order writes happened in, even within one millisecond.
var updatedClock = &msClock{now: time.Now}

type msClock struct {
	mu   sync.Mutex
	now  func() time.Time
	last int64
}

func (c *msClock) next() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := c.now().UnixMilli()
	if ms <= c.last {
		ms = c.last + 1
	}
	c.last = ms
	return ms
}
