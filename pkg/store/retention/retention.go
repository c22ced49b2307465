// Package retention expires activation records: OpenWhisk deployments keep
// activations for a limited time, and a busy gateway would otherwise fill
// its volume (about 1 KB a record). It deletes in small batches with a
// pause between them, so the writer, which shares the database, and the
// invoke path in front of it barely notice.
package retention

import (
	"context"
	"time"
)

// Expirer deletes records started before a time, a batch at a time.
type Expirer interface {
	ExpireActivations(ctx context.Context, before int64, max int) (int, error)
}

// Batch is the most records one call deletes; Pause separates the calls
// of one pass.
const (
	Batch = 500
	Pause = 10 * time.Millisecond
)

// Interval is how often a pass runs for a retention: a tenth of it,
// between a second and a minute, so records outlive the retention by
// at most that much.
func Interval(retention time.Duration) time.Duration {
	return min(max(retention/10, time.Second), time.Minute)
}

// Run deletes the records older than retention until ctx ends: a pass at
// once and then every Interval, each pass deleting Batch records at a time
// until none older is left. A failed pass is logged and retried at the
// next one.
func Run(ctx context.Context, st Expirer, retention time.Duration, logf func(string, ...any)) {
	for {
		if n, err := Pass(ctx, st, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
			logf("activation retention: %v (deleted %d)", err, n)
		}
		if !sleep(ctx, Interval(retention)) {
			return
		}
	}
}

// Pass deletes every record started before cut and returns how many.
func Pass(ctx context.Context, st Expirer, cut time.Time) (int, error) {
	total := 0
	for {
		n, err := st.ExpireActivations(ctx, cut.UnixMilli(), Batch)
		total += n
		if err != nil || n < Batch {
			return total, err
		}
		if !sleep(ctx, Pause) {
			return total, ctx.Err()
		}
	}
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
