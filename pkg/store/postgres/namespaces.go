package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// PutNamespace creates or replaces the namespace. A uuid already used by
// another namespace is ErrExists.
func (s *Store) PutNamespace(ctx context.Context, ns *whisk.Namespace) (err error) {
	defer s.classify(&err)
	throttles, err := json.Marshal(ns.Throttles)
	if err != nil {
		return fmt.Errorf("put namespace %s: %w", ns.Name, err)
	}
	_, err = s.pool.Exec(ctx,
		`INSERT INTO namespaces (name, uuid, key_hash, key_salt, throttles, created) VALUES ($1, $2, $3, $4, $5, $6)
		 ON CONFLICT (name) DO UPDATE SET uuid = excluded.uuid, key_hash = excluded.key_hash,
		 key_salt = excluded.key_salt, throttles = excluded.throttles, created = excluded.created`,
		ns.Name, ns.UUID, ns.KeyHash, ns.KeySalt, throttles, ns.Created)
	if isUniqueViolation(err) {
		return store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("put namespace %s: %w", ns.Name, err)
	}
	return nil
}

const namespaceColumns = `name, uuid, key_hash, key_salt, throttles, created`

// GetNamespace returns the namespace called name.
func (s *Store) GetNamespace(ctx context.Context, name string) (_ *whisk.Namespace, err error) {
	defer s.classify(&err)
	ns, err := scanNamespace(s.pool.QueryRow(ctx, `SELECT `+namespaceColumns+` FROM namespaces WHERE name = $1`, name))
	if store.IsNotFound(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", name, err)
	}
	return ns, nil
}

// NamespaceByUUID returns the namespace whose key has the uuid.
func (s *Store) NamespaceByUUID(ctx context.Context, uuid string) (_ *whisk.Namespace, err error) {
	defer s.classify(&err)
	ns, err := scanNamespace(s.pool.QueryRow(ctx, `SELECT `+namespaceColumns+` FROM namespaces WHERE uuid = $1`, uuid))
	if store.IsNotFound(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("get namespace by uuid: %w", err)
	}
	return ns, nil
}

// ListNamespaces returns every namespace ordered by name.
func (s *Store) ListNamespaces(ctx context.Context) (_ []*whisk.Namespace, err error) {
	defer s.classify(&err)
	rows, err := s.pool.Query(ctx, `SELECT `+namespaceColumns+` FROM namespaces ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	defer rows.Close()
	var out []*whisk.Namespace
	for rows.Next() {
		ns, err := scanNamespace(rows)
		if err != nil {
			return nil, fmt.Errorf("list namespaces: %w", err)
		}
		out = append(out, ns)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	return out, nil
}

// DeleteNamespace removes the namespace; its entities and activations stay.
func (s *Store) DeleteNamespace(ctx context.Context, name string) (err error) {
	defer s.classify(&err)
	tag, err := s.pool.Exec(ctx, `DELETE FROM namespaces WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return whisk.NotFound()
	}
	return nil
}

// scanNamespace reads one row of namespaceColumns; no row is NotFound.
func scanNamespace(r interface{ Scan(...any) error }) (*whisk.Namespace, error) {
	ns := new(whisk.Namespace)
	var throttles []byte
	err := r.Scan(&ns.Name, &ns.UUID, &ns.KeyHash, &ns.KeySalt, &throttles, &ns.Created)
	if isNoRows(err) {
		return nil, whisk.NotFound()
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(throttles, &ns.Throttles); err != nil {
		return nil, fmt.Errorf("decode throttles: %w", err)
	}
	return ns, nil
}
