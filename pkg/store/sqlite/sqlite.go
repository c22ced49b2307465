package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Readers is the size of the read connection pool; 0 means 4.
	Readers int
	// BatchSize is the most queued writes committed in one transaction;
	// 0 means 512.
	BatchSize int
	// QueueSize bounds the writes queued but not yet committed;
	// PutActivation blocks while it is reached. 0 means 10000.
	QueueSize int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process; 0 means 5s.
	BusyTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Readers <= 0 {
		o.Readers = 4
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	return o
}

// Store is a store.Store in one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	opts Options
	wdb  *sql.DB // one connection: every write goes through it
	rdb  *sql.DB // read-only pool
	cdb  *sql.DB // one connection for WAL checkpoints

	q       *queue
	ctx     context.Context // for the writer goroutine; outlives Open's caller
	written chan struct{}   // closed when the writer goroutine returns
	stmts   writeStmts

	ckpt         chan struct{} // asks the checkpointer for a checkpoint; capacity 1
	checkpointed chan struct{} // closed when the checkpointer returns
	ckptErr      error         // the checkpointer's last failure
	sinceCkpt    int           // items committed since the last checkpoint request

	// pendingBefore is the highest pending.seq present at Open: rows up to
	// it were left by an earlier process.
	pendingBefore int64

	closeOnce sync.Once
	closeErr  error
	writeErr  error // set by the writer goroutine before it returns
}

// writeStmts are the writer goroutine's prepared statements.
type writeStmts struct {
	insertActivation *sql.Stmt
	deletePending    *sql.Stmt
	insertPending    *sql.Stmt
	setSeq           *sql.Stmt
}

// Open opens or creates the database at path, brings its schema up to date
// and starts the activation writer. Close releases it.
func Open(ctx context.Context, path string, opts Options) (s *Store, err error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	opts = opts.withDefaults()
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	file := "file:" + (&url.URL{Path: abs}).EscapedPath()

	wdb, err := sql.Open("sqlite", file+"?"+url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(OFF)",
			"wal_autocheckpoint(" + strconv.Itoa(walAutoCheckpoint) + ")", "cache_size(-32768)"},
		"_txlock": {"immediate"},
	}.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	s = &Store{
		opts: opts, wdb: wdb, ctx: context.WithoutCancel(ctx),
		written: make(chan struct{}), ckpt: make(chan struct{}, 1), checkpointed: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			_ = s.closeDBs() // report the open error, not the cleanup's
		}
	}()
	if err := migrate(ctx, wdb); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	s.rdb, err = sql.Open("sqlite", file+"?"+url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "query_only(1)"},
	}.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.rdb.SetMaxOpenConns(opts.Readers)
	s.rdb.SetMaxIdleConns(opts.Readers)
	s.rdb.SetConnMaxIdleTime(0)
	s.rdb.SetConnMaxLifetime(0)

	s.cdb, err = sql.Open("sqlite", file+"?"+url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "synchronous(NORMAL)"},
	}.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.cdb.SetMaxOpenConns(1)
	s.cdb.SetMaxIdleConns(1)
	s.cdb.SetConnMaxIdleTime(0)
	s.cdb.SetConnMaxLifetime(0)

	var seq uint64
	if err := wdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'activation_seq'`).Scan(&seq); err != nil {
		return nil, fmt.Errorf("open store %s: read sequence: %w", path, err)
	}
	if err := wdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM pending`).Scan(&s.pendingBefore); err != nil {
		return nil, fmt.Errorf("open store %s: read pending: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.q = newQueue(opts.QueueSize, seq)
	go s.write()
	go s.checkpoint()
	return s, nil
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.stmts.insertActivation, `INSERT OR REPLACE INTO activations (namespace, activation_id, entity_name, start, body) VALUES (?, ?, ?, ?, ?)`},
		{&s.stmts.deletePending, `DELETE FROM pending WHERE activation_id = ?`},
		{&s.stmts.insertPending, `INSERT INTO pending (activation_id, body) VALUES (?, ?) ON CONFLICT (activation_id) DO UPDATE SET body = excluded.body`},
		{&s.stmts.setSeq, `UPDATE meta SET value = ? WHERE key = 'activation_seq'`},
	} {
		st, err := s.wdb.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.stmt = st
	}
	return nil
}

// Close commits every queued write, stops the writer and closes the
// database. Calls after the first return its result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.q.close()
		<-s.written
		<-s.checkpointed
		s.closeErr = errors.Join(s.writeErr, s.ckptErr, s.closeDBs())
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.stmts.insertActivation, s.stmts.deletePending, s.stmts.insertPending, s.stmts.setSeq} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	for _, db := range []*sql.DB{s.rdb, s.cdb} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	errs = append(errs, s.wdb.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// sqliteConstraint is SQLITE_CONSTRAINT, the primary result code of every
// constraint violation.
const sqliteConstraint = 19

// isConstraint reports whether err is a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqliteConstraint
}

// rollback ends tx after a failure; the failure is the error worth keeping.
func rollback(tx *sql.Tx) {
	_ = tx.Rollback() // the caller already returns the error that caused this
}
