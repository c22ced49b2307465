package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// GetEntity returns the document under the key, whatever its collection.
func (s *Store) GetEntity(ctx context.Context, namespace, name string) (*store.Document, error) {
	d := &store.Document{Namespace: namespace, Name: name}
	err := s.reads.entity.QueryRowContext(ctx, namespace, name).Scan(&d.Collection, &d.Rev, &d.Updated, &d.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, whisk.NotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get entity %s/%s: %w", namespace, name, err)
	}
	return d, nil
}

// PutEntity refuses while the store is full, and marks it full when the
// write finds the disk full.
func (s *Store) PutEntity(ctx context.Context, doc *store.Document) error {
	if err := s.Writable(); err != nil {
		return err
	}
	return s.space.noteWrite(s.putEntity(ctx, doc))
}

// putEntity creates (doc.Rev 0) or replaces (doc.Rev the stored revision)
// the document and sets doc.Rev. Replacing a missing document is NotFound.
func (s *Store) putEntity(ctx context.Context, doc *store.Document) error {
	if doc.Rev == 0 {
		res, err := s.wdb.ExecContext(ctx,
			`INSERT INTO entities (namespace, name, root, collection, rev, updated, body)
			 VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (namespace, name) DO NOTHING`,
			doc.Namespace, doc.Name, root(doc.Namespace), string(doc.Collection), doc.Updated, body(doc.Body))
		if err != nil {
			return fmt.Errorf("put entity %s/%s: %w", doc.Namespace, doc.Name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("put entity %s/%s: %w", doc.Namespace, doc.Name, err)
		} else if n == 0 {
			return store.ErrExists
		}
		doc.Rev = 1
		return nil
	}

	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put entity %s/%s: %w", doc.Namespace, doc.Name, err)
	}
	defer rollback(tx) // a no-op after Commit
	var rev int64
	err = tx.QueryRowContext(ctx, `SELECT rev FROM entities WHERE namespace = ? AND name = ?`, doc.Namespace, doc.Name).Scan(&rev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return whisk.NotFound()
	case err != nil:
		return fmt.Errorf("put entity %s/%s: %w", doc.Namespace, doc.Name, err)
	case rev != doc.Rev:
		return store.ErrStale
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE entities SET collection = ?, rev = ?, updated = ?, body = ? WHERE namespace = ? AND name = ?`,
		string(doc.Collection), rev+1, doc.Updated, body(doc.Body), doc.Namespace, doc.Name); err != nil {
		return fmt.Errorf("put entity %s/%s: %w", doc.Namespace, doc.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put entity %s/%s: %w", doc.Namespace, doc.Name, err)
	}
	doc.Rev = rev + 1
	return nil
}

// DeleteEntity marks the store full when the write finds the disk full. It is
// not refused while full: it frees space.
func (s *Store) DeleteEntity(ctx context.Context, namespace, name string, rev int64) error {
	return s.space.noteWrite(s.deleteEntity(ctx, namespace, name, rev))
}

// deleteEntity removes the document if its revision is rev (0: any).
func (s *Store) deleteEntity(ctx context.Context, namespace, name string, rev int64) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete entity %s/%s: %w", namespace, name, err)
	}
	defer rollback(tx) // a no-op after Commit
	var stored int64
	err = tx.QueryRowContext(ctx, `SELECT rev FROM entities WHERE namespace = ? AND name = ?`, namespace, name).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return whisk.NotFound()
	case err != nil:
		return fmt.Errorf("delete entity %s/%s: %w", namespace, name, err)
	case rev != 0 && rev != stored:
		return store.ErrStale
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM entities WHERE namespace = ? AND name = ?`, namespace, name); err != nil {
		return fmt.Errorf("delete entity %s/%s: %w", namespace, name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete entity %s/%s: %w", namespace, name, err)
	}
	return nil
}

// ListEntities returns matching documents, newest Updated first (ties by
// name), and the number matching. Keys are compared for equality only, so
// no character in a name is special.
func (s *Store) ListEntities(ctx context.Context, q store.ListQuery) (_ []*store.Document, _ int, err error) {
	cond, key := "collection = ? AND namespace = ?", q.Namespace
	if q.WithPackages && !strings.Contains(q.Namespace, "/") {
		cond = "collection = ? AND root = ?"
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("list %s %s: %w", q.Collection, q.Namespace, err)
	}
	defer rollback(tx) // read-only: nothing to commit

	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM entities WHERE `+cond, string(q.Collection), key).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list %s %s: count: %w", q.Collection, q.Namespace, err)
	}
	limit := -1
	if q.Limit > 0 {
		limit = q.Limit
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT namespace, name, rev, updated, body FROM entities WHERE `+cond+
			` ORDER BY updated DESC, name LIMIT ? OFFSET ?`,
		string(q.Collection), key, limit, max(q.Skip, 0))
	if err != nil {
		return nil, 0, fmt.Errorf("list %s %s: %w", q.Collection, q.Namespace, err)
	}
	defer rows.Close()
	var out []*store.Document
	for rows.Next() {
		d := &store.Document{Collection: q.Collection}
		if err := rows.Scan(&d.Namespace, &d.Name, &d.Rev, &d.Updated, &d.Body); err != nil {
			return nil, 0, fmt.Errorf("list %s %s: %w", q.Collection, q.Namespace, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list %s %s: %w", q.Collection, q.Namespace, err)
	}
	return out, total, nil
}

// root is the namespace part of an entity's namespace field "ns/pkg".
func root(namespace string) string {
	ns, _ := whisk.ParseParent(namespace)
	return ns
}

// body makes a nil body an empty blob, as the column is NOT NULL.
func body(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
