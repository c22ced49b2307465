// Package retention expires activation records older than a retention
// period, as OpenWhisk deployments do, so a busy gateway's store stops
// growing. It deletes continuously in small batches with pauses between
// them, so the writers it shares the store with are never held up for
// long.
//
// It may import the standard library.
package retention

import (
	"context"
	"time"
)

// Expirer deletes old activation records; store.Store is one.
type Expirer interface {
	ExpireActivations(ctx context.Context, before int64, limit int) (int, error)
}

// Options tune Run.
type Options struct {
	// Retention is how long a record is kept after its start; 0 keeps
	// every record (Run returns at once).
	Retention time.Duration
	// Batch is the most records one delete removes; 0 means 500.
	Batch int
	// Pause separates two full batches; 0 means 20ms.
	Pause time.Duration
	// Idle is the wait after a batch that was not full (nothing more is
	// due yet) or failed; 0 means a quarter of Retention, between 100ms
	// and a minute.
	Idle time.Duration
	// Logf reports failures; nil discards them.
	Logf func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Pause <= 0 {
		o.Pause = 20 * time.Millisecond
	}
	if o.Idle <= 0 {
		o.Idle = min(max(o.Retention/4, 100*time.Millisecond), time.Minute)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Run expires records older than o.Retention until ctx ends.
func Run(ctx context.Context, e Expirer, o Options) {
	if o.Retention <= 0 {
		return
	}
	o = o.withDefaults()
	for {
		wait := o.Idle
		before := o.Now().Add(-o.Retention).UnixMilli()
		n, err := e.ExpireActivations(ctx, before, o.Batch)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			o.Logf("activation retention: %v", err)
		case n == o.Batch:
			wait = o.Pause // more is due
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
