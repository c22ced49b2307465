// Package postgres is the store.Store kept in a PostgreSQL database, for
// several gateway replicas sharing one store. It uses github.com/jackc/pgx/v5
// with a connection pool; pgx prepares each statement once per connection
// and reuses it (its statement cache), so the hot statements run prepared.
//
// Activation records are group-committed as in the SQLite store (see
// store/internal/commitq): PutActivation queues the record and returns at
// once, the record stays readable from memory until its batch commits as
// one multi-row insert, and Flush waits for the commit. Entities and
// namespaces are written synchronously.
//
// Every Store is a writer with its own id and a row in the writers table:
// the seq of its last committed batch (so its lists know which queued
// records a snapshot holds) and a heartbeat. Pending entries belong to the
// writer that added them; TakePending returns those of writers that closed
// or whose heartbeat lapsed.
//
// WatchChanges is the replicas' change feed (LISTEN/NOTIFY on triggers of
// the entities and namespaces tables), by which each drops what it cached
// of rows another wrote.
//
// The schema is versioned: Open applies missing migrations under a
// PostgreSQL advisory lock, so replicas starting together migrate once. With
// search_path in the URL the tables live in that schema, created if missing,
// so several kwhisk installations can share one database.
//
// It may import the standard library, store, store/internal/commitq, whisk
// and github.com/jackc/pgx/v5.
package postgres
