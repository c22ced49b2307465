package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
)

// Options tune a Store. The zero value is ready to use.
// CommitRecorder hears of the writer's group commits, for metrics: how
// many items one transaction wrote, how long it took, and its error. It
// runs on the writer goroutine: it must be cheap and never block.
type CommitRecorder interface {
	Commit(items int, d time.Duration, err error)
}

type Options struct {
	// Commits, if set, hears of every group commit of the writer.
	Commits CommitRecorder
	// BatchSize is the most queued writes committed in one transaction;
	// 0 means 1024.
	BatchSize int
	// Linger is how long the writer waits for more writes after the first
	// of a batch; 0 means 1ms, negative means not at all.
	Linger time.Duration
	// QueueSize bounds the writes queued but not yet committed;
	// PutActivation blocks while it is reached. 0 means 10000.
	QueueSize int
	// MaxConns is the pool size when the URL sets no pool_max_conns;
	// 0 means 16. The writer holds one connection while it commits.
	MaxConns int32
	// ConnectTimeout bounds each connection attempt when the URL sets no
	// connect_timeout; 0 means 3s. It is how long a request can wait on a
	// database host that does not answer before it gets a 503.
	ConnectTimeout time.Duration
	// Replica, if set, names the gateway replica this store serves, stable
	// across its restarts (host name and data dir). Open then ends the
	// earlier writers of the same replica, which can only be dead, so
	// TakePending returns their pending entries at once rather than after
	// the lease. Tools that open the store beside a running gateway (admin)
	// leave it empty.
	Replica string
}

func (o Options) withDefaults() Options {
	if o.BatchSize <= 0 {
		o.BatchSize = 1024
	}
	if o.Linger == 0 {
		o.Linger = time.Millisecond
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 3 * time.Second
	}
	return o
}

// Heartbeats: a writer refreshes its row every heartbeatEvery; one whose
// heartbeat is older than lease is gone, and its pending entries are left
// for others to take.
const (
	heartbeatEvery = 5 * time.Second
	lease          = 30 * time.Second
)

// Store is a store.Store in a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	opts Options
	pool *pgxpool.Pool
	id   string // this writer's row in writers

	q       *commitq.Queue
	ctx     context.Context // for the writer goroutines; outlives Open's caller
	written chan struct{}   // closed when the writer goroutine returns
	beaten  chan struct{}   // closed when the heartbeat goroutine returns
	watched chan struct{}   // closed when the watcher goroutine returns

	// down holds the error of the last connection failure while the
	// database is unreachable, nil while it is up (see health.go).
	down atomic.Pointer[error]

	closeOnce sync.Once
	closeErr  error
	writeErr  error // set by the writer goroutine before it returns
}

// ErrURL is wrapped by Open's error when the URL cannot be parsed.
var ErrURL = errors.New("bad PostgreSQL URL")

// Open connects to the database at url (postgres://…), brings its schema up
// to date and starts the activation writer. Close releases it.
func Open(ctx context.Context, url string, opts Options) (_ *Store, err error) {
	opts = opts.withDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors can quote the URL, password included.
		return nil, fmt.Errorf("open store: %w", ErrURL)
	}
	if !strings.Contains(url, "pool_max_conns") { // pgx's own default is 4
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	id, err := newWriterID()
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{
		opts:    opts,
		id:      id,
		ctx:     context.WithoutCancel(ctx),
		written: make(chan struct{}),
		beaten:  make(chan struct{}),
		watched: make(chan struct{}),
	}
	where := cfg.ConnConfig.Host + "/" + cfg.ConnConfig.Database
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	defer func() {
		if err != nil {
			s.pool.Close()
		}
	}()
	if err := s.pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	if err := migrate(ctx, s.pool, firstSchema(cfg.ConnConfig.RuntimeParams["search_path"])); err != nil {
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	// Rows of writers long gone go; their pending entries stay for
	// TakePending.
	if _, err := s.pool.Exec(ctx, `DELETE FROM writers WHERE heartbeat < now() - $1::interval`, lease.String()); err != nil {
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	if opts.Replica != "" {
		if _, err := s.pool.Exec(ctx, `DELETE FROM writers WHERE replica = $1`, opts.Replica); err != nil {
			return nil, fmt.Errorf("open store %s: %w", where, err)
		}
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO writers (id, replica, seq, heartbeat) VALUES ($1, $2, 0, now())`, s.id, opts.Replica); err != nil {
		return nil, fmt.Errorf("open store %s: register writer: %w", where, err)
	}
	s.q = commitq.New(opts.QueueSize, 0)
	go s.write()
	go s.heartbeat()
	go s.watch()
	return s, nil
}

// firstSchema returns the first schema named in a search_path value, if it
// is a plain name ($user is resolved by the server, not created).
func firstSchema(searchPath string) string {
	first, _, _ := strings.Cut(searchPath, ",")
	first = strings.TrimSpace(first)
	if strings.HasPrefix(first, `"`) && strings.HasSuffix(first, `"`) && len(first) >= 2 {
		first = strings.ReplaceAll(first[1:len(first)-1], `""`, `"`)
	}
	if strings.HasPrefix(first, "$") {
		return ""
	}
	return first
}

func newWriterID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("writer id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// heartbeat keeps this writer's row fresh until Close. A failed refresh is
// retried at the next tick: the lease is several ticks long.
func (s *Store) heartbeat() {
	defer close(s.beaten)
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-s.q.Stopped():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, heartbeatEvery)
		// Puts the row back should it be gone (see setSeq); its seq then
		// reads 0 until the next commit, which only makes lists count a
		// record committed in between twice.
		_, err := s.pool.Exec(ctx, `INSERT INTO writers (id, replica, seq, heartbeat) VALUES ($1, $2, 0, now())
			ON CONFLICT (id) DO UPDATE SET heartbeat = now()`, s.id, s.opts.Replica) // retried next tick
		s.classify(&err) // an outage marks the store down
		cancel()
	}
}

// Close commits every queued write, stops the writer, drops this writer's
// row (its pending entries are then free for the next TakePending) and
// closes the pool. Calls after the first return its result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.q.Close()
		<-s.written
		<-s.beaten
		<-s.watched
		var errs []error
		if s.writeErr != nil {
			errs = append(errs, s.writeErr)
		}
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		if _, err := s.pool.Exec(ctx, `DELETE FROM writers WHERE id = $1`, s.id); err != nil {
			errs = append(errs, fmt.Errorf("close store: drop writer: %w", err))
		}
		s.pool.Close()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// uniqueViolation is PostgreSQL's SQLSTATE for a UNIQUE or PRIMARY KEY
// violation.
const uniqueViolation = "23505"

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
