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
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Readers is the size of the read connection pool; 0 means 4.
	Readers int
	// BatchSize is the most queued writes committed in one transaction;
	// 0 means 512.
	BatchSize int
	// Linger is how long the writer waits for more writes after the first
	// of a batch; 0 means 1ms, negative means not at all.
	Linger time.Duration
	// QueueSize bounds the writes queued but not yet committed;
	// PutActivation blocks while it is reached. 0 means 10000.
	QueueSize int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process; 0 means 5s.
	BusyTimeout time.Duration
	// Reserve is the free space, in bytes, kept for records already in
	// flight when the disk fills (see space.go); 0 means a sixteenth of
	// the filesystem, between 1 MiB and 32 MiB.
	Reserve int64
	// Commits, if set, hears of every group commit of the writer.
	Commits CommitRecorder
}

// CommitRecorder hears of the writer's group commits, for metrics
// (*metrics.Metrics is one): how many items one transaction wrote, how
// long it took, and its error. It runs on the writer goroutine: it must
// be cheap and never block.
type CommitRecorder interface {
	Commit(items int, d time.Duration, err error)
}

func (o Options) withDefaults() Options {
	if o.Readers <= 0 {
		o.Readers = 4
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.Linger == 0 {
		o.Linger = time.Millisecond
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

	q       *commitq.Queue
	ctx     context.Context // for the writer goroutine; outlives Open's caller
	written chan struct{}   // closed when the writer goroutine returns
	stmts   writeStmts
	reads   readStmts

	ckpt           chan struct{} // asks the checkpointer for a checkpoint; capacity 1
	checkpointed   chan struct{} // closed when the checkpointer returns
	ckptErr        error         // the checkpointer's last failure
	sinceCkpt      int           // items committed since the last checkpoint request
	bytesSinceCkpt int           // and the size of their records
	walBytes       atomic.Int64  // bytes of records committed since the last TRUNCATE checkpoint

	space   *space        // whether the disk has room (space.go)
	watched chan struct{} // closed when the space watcher returns

	// pendingBefore is the highest pending.seq present at Open: rows up to
	// it were left by an earlier process.
	pendingBefore int64
	// pendingIDs are the ids with a pending row. Only the writer goroutine
	// uses it once Open returns.
	pendingIDs map[whisk.ActivationID]struct{}

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

// readStmts are the hot lookups, prepared once per reader connection.
type readStmts struct {
	activation      *sql.Stmt
	entity          *sql.Stmt
	namespace       *sql.Stmt
	namespaceByUUID *sql.Stmt
}

// Open opens or creates the database at path, brings its schema up to date
// and starts the activation writer. Close releases it.
func Open(ctx context.Context, path string, opts Options) (_ *Store, err error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	opts = opts.withDefaults()
	file := "file:" + (&url.URL{Path: abs}).EscapedPath()
	busy := "busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")"

	s := &Store{
		opts:         opts,
		ctx:          context.WithoutCancel(ctx),
		written:      make(chan struct{}),
		ckpt:         make(chan struct{}, 1),
		checkpointed: make(chan struct{}),
		watched:      make(chan struct{}),
	}
	defer func() {
		if err != nil {
			_ = s.closeDBs() // report the open error, not the cleanup's
		}
	}()
	// The reserve first, so that it holds its space before the database
	// grows into it.
	if s.space, err = newSpace(abs, opts.Reserve); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// The writer: WAL with synchronous=NORMAL loses no committed
	// transaction on a process crash, only the last ones on a power loss.
	if s.wdb, err = openDB(file, 1, url.Values{
		"_pragma": {busy, "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(OFF)",
			"cache_size(-32768)", "journal_size_limit(67108864)",
			"wal_autocheckpoint(" + strconv.Itoa(walAutoCheckpoint) + ")"},
		"_txlock": {"immediate"},
	}); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, s.wdb); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if s.rdb, err = openDB(file, opts.Readers, url.Values{
		"_pragma": {busy, "query_only(1)", "mmap_size(268435456)"},
	}); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if s.cdb, err = openDB(file, 1, url.Values{
		"_pragma": {busy, "synchronous(NORMAL)"},
	}); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	var seq uint64
	if err := s.wdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'activation_seq'`).Scan(&seq); err != nil {
		return nil, fmt.Errorf("open store %s: read sequence: %w", path, err)
	}
	if err := s.loadPending(ctx); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.q = commitq.New(opts.QueueSize, seq)
	go s.write()
	go s.checkpoint()
	go s.watchSpace()
	return s, nil
}

// openDB opens a pool of conns connections to file with the DSN params.
func openDB(file string, conns int, params url.Values) (*sql.DB, error) {
	db, err := sql.Open("sqlite", file+"?"+params.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// loadPending reads which pending rows exist.
func (s *Store) loadPending(ctx context.Context) error {
	rows, err := s.wdb.QueryContext(ctx, `SELECT seq, activation_id FROM pending`)
	if err != nil {
		return fmt.Errorf("read pending: %w", err)
	}
	defer rows.Close()
	s.pendingIDs = make(map[whisk.ActivationID]struct{})
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			return fmt.Errorf("read pending: %w", err)
		}
		s.pendingIDs[whisk.ActivationID(id)] = struct{}{}
		s.pendingBefore = max(s.pendingBefore, seq)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read pending: %w", err)
	}
	return nil
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		db    *sql.DB
		stmt  **sql.Stmt
		query string
	}{
		{s.rdb, &s.reads.activation, `SELECT body FROM activations WHERE namespace = ? AND activation_id = ?`},
		{s.rdb, &s.reads.entity, `SELECT collection, rev, updated, body FROM entities WHERE namespace = ? AND name = ?`},
		{s.rdb, &s.reads.namespace, `SELECT ` + namespaceColumns + ` FROM namespaces WHERE name = ?`},
		{s.rdb, &s.reads.namespaceByUUID, `SELECT ` + namespaceColumns + ` FROM namespaces WHERE uuid = ?`},
		{s.wdb, &s.stmts.insertActivation, `INSERT OR REPLACE INTO activations (namespace, activation_id, entity_name, start, body) VALUES (?, ?, ?, ?, ?)`},
		{s.wdb, &s.stmts.deletePending, `DELETE FROM pending WHERE activation_id = ?`},
		{s.wdb, &s.stmts.insertPending, `INSERT INTO pending (activation_id, body) VALUES (?, ?) ON CONFLICT (activation_id) DO UPDATE SET body = excluded.body`},
		{s.wdb, &s.stmts.setSeq, `UPDATE meta SET value = ? WHERE key = 'activation_seq'`},
	} {
		st, err := p.db.PrepareContext(ctx, p.query)
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
		s.q.Close()
		<-s.written
		<-s.checkpointed
		<-s.watched
		s.closeErr = errors.Join(s.writeErr, s.ckptErr, s.closeDBs())
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{
		s.stmts.insertActivation, s.stmts.deletePending, s.stmts.insertPending, s.stmts.setSeq,
		s.reads.activation, s.reads.entity, s.reads.namespace, s.reads.namespaceByUUID,
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	for _, db := range []*sql.DB{s.rdb, s.cdb, s.wdb} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
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
