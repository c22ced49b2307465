package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are applied in order; schema_migrations holds the versions
// applied. Append new steps (a new table is a new step), never edit old
// ones. Text columns compare bytewise (COLLATE "C"), as SQLite's do.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE entities (
	namespace  text COLLATE "C" NOT NULL, -- "ns" or "ns/pkg"
	name       text COLLATE "C" NOT NULL,
	root       text COLLATE "C" NOT NULL, -- namespace up to the first '/'
	collection text COLLATE "C" NOT NULL,
	rev        bigint NOT NULL,
	updated    bigint NOT NULL, -- epoch ms
	body       bytea  NOT NULL,
	PRIMARY KEY (namespace, name)
);
-- Action code can be tens of MB: stored out of line uncompressed, as
-- compressing it on every write costs seconds and saves little on zips.
ALTER TABLE entities ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE INDEX entities_namespace ON entities (collection, namespace, updated DESC, name);
CREATE INDEX entities_root ON entities (collection, root, updated DESC, name);

CREATE TABLE activations (
	namespace     text COLLATE "C" NOT NULL,
	activation_id text COLLATE "C" NOT NULL,
	entity_name   text COLLATE "C" NOT NULL, -- whisk.Activation.EntityName()
	start         bigint NOT NULL, -- epoch ms
	body          bytea  NOT NULL,
	PRIMARY KEY (namespace, activation_id)
);
CREATE INDEX activations_start ON activations (namespace, start DESC, activation_id DESC);
CREATE INDEX activations_name_start ON activations (namespace, entity_name, start DESC, activation_id DESC);
CREATE INDEX activations_expiry ON activations (start);

-- writers: one row per open Store (see doc.go).
CREATE TABLE writers (
	id        text COLLATE "C" PRIMARY KEY,
	replica   text COLLATE "C" NOT NULL, -- Options.Replica, or ''
	seq       bigint NOT NULL,
	heartbeat timestamptz NOT NULL
);
CREATE INDEX writers_replica ON writers (replica);

CREATE TABLE pending (
	seq           bigserial PRIMARY KEY,
	activation_id text COLLATE "C" NOT NULL UNIQUE,
	owner         text COLLATE "C" NOT NULL, -- writers.id
	body          bytea NOT NULL
);
CREATE INDEX pending_owner ON pending (owner);

CREATE TABLE namespaces (
	name      text COLLATE "C" PRIMARY KEY,
	uuid      text COLLATE "C" NOT NULL UNIQUE,
	key_hash  bytea,
	key_salt  bytea,
	throttles bytea  NOT NULL,
	created   bigint NOT NULL
);
`,
	// 2: API definitions (wsk api), one per namespace and base path.
	`
CREATE TABLE apis (
	namespace text COLLATE "C" NOT NULL,
	base_path text COLLATE "C" NOT NULL,
	rev       bigint NOT NULL,
	updated   bigint NOT NULL, -- epoch ms
	body      bytea  NOT NULL,
	PRIMARY KEY (namespace, base_path)
);
`,
	// 3: change notifications, so every replica drops what it cached of
	// a row another one wrote (see changes.go). The payload is
	// table|namespace|name; names are bounded far below NOTIFY's 8000
	// bytes. Notifications are sent at commit, and only then.
	`
CREATE FUNCTION kwhisk_notify_change() RETURNS trigger AS $$
DECLARE
	r record;
BEGIN
	IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
	IF TG_TABLE_NAME = 'namespaces' THEN
		PERFORM pg_notify('kwhisk_changes', 'namespaces||' || r.name);
	ELSE
		PERFORM pg_notify('kwhisk_changes', TG_TABLE_NAME || '|' || r.namespace || '|' || r.name);
	END IF;
	RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER entities_notify AFTER INSERT OR UPDATE OR DELETE ON entities
	FOR EACH ROW EXECUTE FUNCTION kwhisk_notify_change();
CREATE TRIGGER namespaces_notify AFTER INSERT OR UPDATE OR DELETE ON namespaces
	FOR EACH ROW EXECUTE FUNCTION kwhisk_notify_change();
`,
}

// migrateLock is the advisory lock key held while migrating ("kwhisk" in
// ASCII): every replica takes it, so one migrates and the others then find
// the schema current.
const migrateLock int64 = 0x6b776869736b

// migrate creates schema if it is not empty and brings the tables in it
// up to date, one transaction per step, under the advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// The lock also ends with the session, should this fail.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock); uerr != nil && err == nil {
			err = fmt.Errorf("migrate: unlock: %w", uerr)
		}
	}()
	if schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate: create schema %s: %w", schema, err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("migrate: schema version %d is newer than this program's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, i+1)
			return err
		}); err != nil {
			return fmt.Errorf("migrate to version %d: %w", i+1, err)
		}
	}
	return nil
}
