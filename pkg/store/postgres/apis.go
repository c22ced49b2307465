package postgres

import (
	"context"
	"fmt"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// GetAPI returns the API definition under the key.
func (s *Store) GetAPI(ctx context.Context, namespace, basePath string) (_ *store.API, err error) {
	defer s.classify(&err)
	a := &store.API{Namespace: namespace, BasePath: basePath}
	err = s.pool.QueryRow(ctx,
		`SELECT rev, updated, body FROM apis WHERE namespace = $1 AND base_path = $2`,
		namespace, basePath).Scan(&a.Rev, &a.Updated, &a.Body)
	if isNoRows(err) {
		return nil, whisk.NotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api %s%s: %w", namespace, basePath, err)
	}
	return a, nil
}

// PutAPI creates (a.Rev 0) or replaces (a.Rev the stored revision) the
// API and sets a.Rev. Each is one statement, as with entities, so
// replicas racing on a key get ErrExists or ErrStale.
func (s *Store) PutAPI(ctx context.Context, a *store.API) (err error) {
	defer s.classify(&err)
	if a.Rev == 0 {
		tag, err := s.pool.Exec(ctx,
			`INSERT INTO apis (namespace, base_path, rev, updated, body) VALUES ($1, $2, 1, $3, $4)
			 ON CONFLICT (namespace, base_path) DO NOTHING`,
			a.Namespace, a.BasePath, a.Updated, body(a.Body))
		if err != nil {
			return fmt.Errorf("put api %s%s: %w", a.Namespace, a.BasePath, err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrExists
		}
		a.Rev = 1
		return nil
	}
	var rev int64
	err = s.pool.QueryRow(ctx,
		`UPDATE apis SET rev = rev + 1, updated = $1, body = $2
		 WHERE namespace = $3 AND base_path = $4 AND rev = $5 RETURNING rev`,
		a.Updated, body(a.Body), a.Namespace, a.BasePath, a.Rev).Scan(&rev)
	if isNoRows(err) {
		return s.apiMissingOrStale(ctx, a.Namespace, a.BasePath)
	}
	if err != nil {
		return fmt.Errorf("put api %s%s: %w", a.Namespace, a.BasePath, err)
	}
	a.Rev = rev
	return nil
}

// DeleteAPI removes the API if its revision is rev (0: any).
func (s *Store) DeleteAPI(ctx context.Context, namespace, basePath string, rev int64) (err error) {
	defer s.classify(&err)
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM apis WHERE namespace = $1 AND base_path = $2 AND ($3 = 0 OR rev = $3)`,
		namespace, basePath, rev)
	if err != nil {
		return fmt.Errorf("delete api %s%s: %w", namespace, basePath, err)
	}
	if tag.RowsAffected() == 0 {
		return s.apiMissingOrStale(ctx, namespace, basePath)
	}
	return nil
}

// apiMissingOrStale explains why a write conditioned on a revision matched
// no row: NotFound or ErrStale.
func (s *Store) apiMissingOrStale(ctx context.Context, namespace, basePath string) error {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM apis WHERE namespace = $1 AND base_path = $2`, namespace, basePath).Scan(&one)
	switch {
	case isNoRows(err):
		return whisk.NotFound()
	case err != nil:
		return fmt.Errorf("api %s%s: %w", namespace, basePath, err)
	}
	return store.ErrStale
}

// ListAPIs returns every API of the namespace, ordered by base path.
func (s *Store) ListAPIs(ctx context.Context, namespace string) (_ []*store.API, err error) {
	defer s.classify(&err)
	rows, err := s.pool.Query(ctx,
		`SELECT base_path, rev, updated, body FROM apis WHERE namespace = $1 ORDER BY base_path`, namespace)
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
