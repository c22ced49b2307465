package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// GetAPI returns the API under (namespace, basePath).
func (s *Store) GetAPI(ctx context.Context, namespace, basePath string) (*store.API, error) {
	a := &store.API{Namespace: namespace, BasePath: basePath}
	err := s.rdb.QueryRowContext(ctx, `SELECT rev, updated, body FROM apis WHERE namespace = ? AND base_path = ?`,
		namespace, basePath).Scan(&a.Rev, &a.Updated, &a.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, whisk.NotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api %s%s: %w", namespace, basePath, err)
	}
	return a, nil
}

// PutAPI refuses while the store is full, and marks it full when the
// write finds the disk full.
func (s *Store) PutAPI(ctx context.Context, a *store.API) error {
	if err := s.Writable(); err != nil {
		return err
	}
	return s.space.noteWrite(s.putAPI(ctx, a))
}

// putAPI creates (a.Rev 0) or replaces (a.Rev the stored revision) the API
// and sets a.Rev.
func (s *Store) putAPI(ctx context.Context, a *store.API) error {
	if a.Rev == 0 {
		res, err := s.wdb.ExecContext(ctx,
			`INSERT INTO apis (namespace, base_path, rev, updated, body) VALUES (?, ?, 1, ?, ?)
			 ON CONFLICT (namespace, base_path) DO NOTHING`,
			a.Namespace, a.BasePath, a.Updated, body(a.Body))
		if err != nil {
			return fmt.Errorf("put api %s%s: %w", a.Namespace, a.BasePath, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("put api %s%s: %w", a.Namespace, a.BasePath, err)
		} else if n == 0 {
			return store.ErrExists
		}
		a.Rev = 1
		return nil
	}
	// One conditional UPDATE; when it touches nothing, a second look tells
	// a missing API from a stale revision.
	res, err := s.wdb.ExecContext(ctx,
		`UPDATE apis SET rev = rev + 1, updated = ?, body = ? WHERE namespace = ? AND base_path = ? AND rev = ?`,
		a.Updated, body(a.Body), a.Namespace, a.BasePath, a.Rev)
	if err != nil {
		return fmt.Errorf("put api %s%s: %w", a.Namespace, a.BasePath, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("put api %s%s: %w", a.Namespace, a.BasePath, err)
	} else if n == 0 {
		return s.missingOrStale(ctx, a.Namespace, a.BasePath)
	}
	a.Rev++
	return nil
}

// DeleteAPI marks the store full when the write finds the disk full. It is
// not refused while full: it frees space.
func (s *Store) DeleteAPI(ctx context.Context, namespace, basePath string, rev int64) error {
	return s.space.noteWrite(s.deleteAPI(ctx, namespace, basePath, rev))
}

// deleteAPI removes the API if its revision is rev (0: any).
func (s *Store) deleteAPI(ctx context.Context, namespace, basePath string, rev int64) error {
	res, err := s.wdb.ExecContext(ctx,
		`DELETE FROM apis WHERE namespace = ? AND base_path = ? AND (? = 0 OR rev = ?)`,
		namespace, basePath, rev, rev)
	if err != nil {
		return fmt.Errorf("delete api %s%s: %w", namespace, basePath, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete api %s%s: %w", namespace, basePath, err)
	} else if n == 0 {
		return s.missingOrStale(ctx, namespace, basePath)
	}
	return nil
}

// missingOrStale is the error of a conditional write that matched no row.
func (s *Store) missingOrStale(ctx context.Context, namespace, basePath string) error {
	var one int
	err := s.wdb.QueryRowContext(ctx, `SELECT 1 FROM apis WHERE namespace = ? AND base_path = ?`, namespace, basePath).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return whisk.NotFound()
	case err != nil:
		return fmt.Errorf("api %s%s: %w", namespace, basePath, err)
	}
	return store.ErrStale
}

// ListAPIs returns the namespace's APIs ordered by base path.
func (s *Store) ListAPIs(ctx context.Context, namespace string) ([]*store.API, error) {
	rows, err := s.rdb.QueryContext(ctx,
		`SELECT base_path, rev, updated, body FROM apis WHERE namespace = ? ORDER BY base_path`, namespace)
	if err != nil {
		return nil, fmt.Errorf("list apis %s: %w", namespace, err)
	}
	defer rows.Close()
	var out []*store.API
	for rows.Next() {
		a := &store.API{Namespace: namespace}
		if err := rows.Scan(&a.BasePath, &a.Rev, &a.Updated, &a.Body); err != nil {
			return nil, fmt.Errorf("list apis %s: %w", namespace, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list apis %s: %w", namespace, err)
	}
	return out, nil
}
