package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; PRAGMA user_version holds how many have
// run. Append new steps, never edit old ones.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE entities (
	namespace  TEXT    NOT NULL, -- "ns" or "ns/pkg"
	name       TEXT    NOT NULL,
	root       TEXT    NOT NULL, -- namespace up to the first '/'
	collection TEXT    NOT NULL,
	rev        INTEGER NOT NULL,
	updated    INTEGER NOT NULL, -- epoch ms
	body       BLOB    NOT NULL,
	PRIMARY KEY (namespace, name)
);
CREATE INDEX entities_namespace ON entities (collection, namespace, updated DESC, name);
CREATE INDEX entities_root ON entities (collection, root, updated DESC, name);

CREATE TABLE activations (
	namespace     TEXT    NOT NULL,
	activation_id TEXT    NOT NULL,
	entity_name   TEXT    NOT NULL, -- whisk.Activation.EntityName()
	start         INTEGER NOT NULL, -- epoch ms
	body          BLOB    NOT NULL,
	PRIMARY KEY (namespace, activation_id)
);
CREATE INDEX activations_start ON activations (namespace, start DESC, activation_id DESC);
CREATE INDEX activations_name_start ON activations (namespace, entity_name, start DESC, activation_id DESC);

CREATE TABLE pending (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	activation_id TEXT    NOT NULL UNIQUE,
	body          BLOB    NOT NULL
);

CREATE TABLE namespaces (
	name      TEXT    PRIMARY KEY,
	uuid      TEXT    NOT NULL UNIQUE,
	key_hash  BLOB,
	key_salt  BLOB,
	throttles BLOB    NOT NULL,
	created   INTEGER NOT NULL
);

-- meta holds counters; activation_seq is the sequence number of the last
-- queued write the writer committed (see queue.go).
CREATE TABLE meta (
	key   TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('activation_seq', 0);
`,
	// 2: expiry finds the oldest records by start, whatever their namespace.
	`CREATE INDEX activations_expiry ON activations (start);`,
}

// migrate brings the schema up to date in one transaction.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the migration error is the one worth reporting
		}
	}()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("migrate: schema version %d is newer than this program's %d", version, len(migrations))
	}
	if version == len(migrations) {
		return tx.Rollback()
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate to version %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("migrate: set version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
