package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kwhisk/kwhisk/pkg/store"
)

// An unreachable database (a server stopped or restarting, a network cut)
// must cost neither a crash nor a restart:
//
//   - Every method turns a connection failure into a 503 wrapping
//     store.ErrUnavailable and the driver's error, and marks the database
//     down. A refused connection fails at once; one that hangs fails after
//     Options.ConnectTimeout.
//   - While it is down, Writable answers that error, so the activation
//     service refuses new invokes and fires up front: no activation runs
//     whose pending entry and record could not be written.
//   - The watcher pings the database every probeEvery: a failed ping marks
//     it down, and the first ping or group commit that succeeds marks it
//     up. pgxpool
//     drops the broken connections and dials new ones by itself.
//   - Records already put stay queued: the writer retries their batch
//     (with backoff up to commitq's retryMax) until it commits.
const probeEvery = time.Second

// classify turns *err, if it is a connection failure, into a 503 wrapping
// store.ErrUnavailable and marks the database down. Deferred by every
// method.
func (s *Store) classify(err *error) {
	if *err == nil || !isConnError(*err) {
		return
	}
	if !errors.Is(*err, store.ErrUnavailable) {
		*err = fmt.Errorf("%w: %w", store.ErrUnavailable, *err)
	}
	s.down.Store(err2ptr(*err))
}

func err2ptr(err error) *error { return &err }

// noteCommit marks the database up after a group commit, down after one
// that failed for want of a connection.
func (s *Store) noteCommit(err error) {
	switch {
	case err == nil:
		s.down.Store(nil)
	case isConnError(err):
		s.classify(&err)
	}
}

// Writable returns an error wrapping store.ErrUnavailable while the
// database is known to be unreachable, nil otherwise.
func (s *Store) Writable() error {
	if p := s.down.Load(); p != nil {
		return *p
	}
	return nil
}

// watch pings the database every probeEvery until Close: a failed ping
// marks it down, a successful one up. Pinging while it is up too is what
// lets an idle gateway (its namespaces and actions cached, its records
// queued) notice an outage within a second rather than at its next commit.
func (s *Store) watch() {
	defer close(s.watched)
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-s.q.Stopped():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.ConnectTimeout)
		err := s.pool.Ping(ctx)
		cancel()
		if err == nil {
			s.down.Store(nil)
		} else {
			s.classify(&err)
		}
	}
}

// isConnError reports whether err says the database cannot be reached
// or the connection broke, rather than that a statement failed: connect
// errors (refused, timed out, the server starting up or shutting down),
// broken connections, and the server's SQLSTATE classes 08 (connection
// exception) and 57P01-57P03 (shutdown, crash, cannot connect now).
func isConnError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false // the caller gave up (or a busy pool kept it waiting)
	case errors.As(err, &ne):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	// Nothing was sent: the connection was closed or could not be used.
	return pgconn.SafeToRetry(err)
}
