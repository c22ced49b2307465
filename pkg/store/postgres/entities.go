package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// GetEntity returns the document under the key, whatever its collection.
func (s *Store) GetEntity(ctx context.Context, namespace, name string) (_ *store.Document, err error) {
	defer s.classify(&err)
	d := &store.Document{Namespace: namespace, Name: name}
	var c string
	err = s.pool.QueryRow(ctx,
		`SELECT collection, rev, updated, body FROM entities WHERE namespace = $1 AND name = $2`,
		namespace, name).Scan(&c, &d.Rev, &d.Updated, &d.Body)
	if isNoRows(err) {
		return nil, whisk.NotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get entity %s/%s: %w", namespace, name, err)
	}
	d.Collection = store.Collection(c)
	return d, nil
}

// PutEntity creates (doc.Rev 0) or replaces (doc.Rev the stored revision)
// the document and sets doc.Rev. Replacing a missing document is NotFound.
// Each is one statement, so replicas racing on a key get ErrExists or
// ErrStale, never a lost update.
func (s *Store) PutEntity(ctx context.Context, doc *store.Document) (err error) {
	defer s.classify(&err)
	if doc.Rev == 0 {
		tag, err := s.pool.Exec(ctx,
			`INSERT INTO entities (namespace, name, root, collection, rev, updated, body)
			 VALUES ($1, $2, $3, $4, 1, $5, $6) ON CONFLICT (namespace, name) DO NOTHING`,
			doc.Namespace, doc.Name, root(doc.Namespace), string(doc.Collection), doc.Updated, body(doc.Body))
		if err != nil {
			return fmt.Errorf("put entity %s/%s: %w", doc.Namespace, doc.Name, err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrExists
		}
		doc.Rev = 1
		return nil
	}
	var rev int64
	err = s.pool.QueryRow(ctx,
		`UPDATE entities SET collection = $1, rev = rev + 1, updated = $2, body = $3
		 WHERE namespace = $4 AND name = $5 AND rev = $6 RETURNING rev`,
		string(doc.Collection), doc.Updated, body(doc.Body), doc.Namespace, doc.Name, doc.Rev).Scan(&rev)
	if isNoRows(err) {
		return s.missingOrStale(ctx, doc.Namespace, doc.Name)
	}
	if err != nil {
		return fmt.Errorf("put entity %s/%s: %w", doc.Namespace, doc.Name, err)
	}
	doc.Rev = rev
	return nil
}

// missingOrStale explains why a write conditioned on a revision matched no
// row: the key is missing (NotFound) or holds another revision (ErrStale).
func (s *Store) missingOrStale(ctx context.Context, namespace, name string) error {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM entities WHERE namespace = $1 AND name = $2`, namespace, name).Scan(&one)
	switch {
	case isNoRows(err):
		return whisk.NotFound()
	case err != nil:
		return fmt.Errorf("entity %s/%s: %w", namespace, name, err)
	}
	return store.ErrStale
}

// DeleteEntity removes the document if its revision is rev (0: any).
func (s *Store) DeleteEntity(ctx context.Context, namespace, name string, rev int64) (err error) {
	defer s.classify(&err)
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM entities WHERE namespace = $1 AND name = $2 AND ($3 = 0 OR rev = $3)`,
		namespace, name, rev)
	if err != nil {
		return fmt.Errorf("delete entity %s/%s: %w", namespace, name, err)
	}
	if tag.RowsAffected() == 0 {
		return s.missingOrStale(ctx, namespace, name)
	}
	return nil
}

// ListEntities returns matching documents, newest Updated first (ties by
// name), and the number matching, from one snapshot. Keys are compared for
// equality only, so no character in a name is special.
func (s *Store) ListEntities(ctx context.Context, q store.ListQuery) (_ []*store.Document, _ int, err error) {
	defer s.classify(&err)
	cond, key := "collection = $1 AND namespace = $2", q.Namespace
	if q.WithPackages && !strings.Contains(q.Namespace, "/") {
		cond = "collection = $1 AND root = $2"
	}
	tx, err := s.pool.BeginTx(ctx, readSnapshot)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s %s: %w", q.Collection, q.Namespace, err)
	}
	defer rollback(ctx, tx)
	var total int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM entities WHERE `+cond, string(q.Collection), key).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list %s %s: count: %w", q.Collection, q.Namespace, err)
	}
	var limit *int // NULL: no limit
	if q.Limit > 0 {
		limit = &q.Limit
	}
	rows, err := tx.Query(ctx,
		`SELECT namespace, name, rev, updated, body FROM entities WHERE `+cond+
			` ORDER BY updated DESC, name LIMIT $3 OFFSET $4`,
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

// body makes a nil body an empty one, as the column is NOT NULL.
func body(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
