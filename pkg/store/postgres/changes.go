package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kwhisk/kwhisk/pkg/store"
)

// changesChannel is the NOTIFY channel migration 3's triggers send on.
const changesChannel = "kwhisk_changes"

// Reconnect backoff of WatchChanges, and how long its connection may be
// silent before it is pinged: a connection cut without a reset (a host or
// network gone) would otherwise wait for notifications that never come.
const (
	listenRetryMin   = 100 * time.Millisecond
	listenRetryMax   = 2 * time.Second
	listenCheckEvery = 5 * time.Second
)

// WatchChanges calls fn for every entity and namespace row written to the
// database, by this process or any other, until ctx ends or the store is
// closed; it returns then. fn runs on one goroutine, in commit order.
//
// It holds one connection out of the pool, listening. Notifications sent
// while it is not listening (before the first LISTEN, across an outage)
// are lost, so after every (re)connection fn gets the zero store.Change,
// "anything may have changed": caches filled before it must be flushed.
// Other kwhisk schemas in the same database share the channel: their
// changes only cost a spurious drop.
func (s *Store) WatchChanges(ctx context.Context, fn func(store.Change)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.q.Stopped():
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := listenRetryMin
	for ctx.Err() == nil {
		conn, err := s.pool.Acquire(ctx)
		if err == nil {
			if _, err = conn.Exec(ctx, `LISTEN `+changesChannel); err == nil {
				backoff = listenRetryMin
				fn(store.Change{})
				err = s.listen(ctx, conn, fn)
			}
			// The connection's session is listening, or broken: never
			// give it back to the pool.
			conn.Hijack().Close(context.WithoutCancel(ctx))
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenRetryMax)
	}
}

// listen passes on conn's notifications until its connection fails or ctx
// ends.
func (s *Store) listen(ctx context.Context, conn *pgxpool.Conn, fn func(store.Change)) error {
	for {
		wait, cancel := context.WithTimeout(ctx, listenCheckEvery)
		n, err := conn.Conn().WaitForNotification(wait)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			// Silent for a while: a timed-out wait leaves the connection
			// usable (pgx's deadline handler), so check it answers.
			ping, cancel := context.WithTimeout(ctx, s.opts.ConnectTimeout)
			err = conn.Ping(ping)
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if n.Channel != changesChannel {
			continue
		}
		table, rest, _ := strings.Cut(n.Payload, "|")
		ns, name, _ := strings.Cut(rest, "|")
		if table == "" {
			continue // the zero Change is ours to send
		}
		fn(store.Change{Table: table, Namespace: ns, Name: name})
	}
}
