// Package sqlite is the store.Store kept in one SQLite file, written with the
// pure-Go modernc.org/sqlite driver.
//
// The database runs in WAL mode with one writer connection and a pool of
// readers. Activation records are group-committed: PutActivation hands the
// record to a single writer goroutine and returns at once, the record stays
// readable from memory until its batch commits, and Flush waits for the
// commit. Entities and namespaces are written synchronously.
//
// It may import the standard library, store, store/internal/commitq, whisk
// and modernc.org/sqlite.
package sqlite
