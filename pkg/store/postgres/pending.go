package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// AddPending queues the entry with the activation writes and waits for its
// commit, so concurrent calls share one transaction.
func (s *Store) AddPending(ctx context.Context, a *whisk.Activation) (err error) {
	defer s.classify(&err)
	p := *a
	p.Response = whisk.Response{}
	body, err := json.Marshal(&p)
	if err != nil {
		return fmt.Errorf("add pending %s: %w", a.ActivationID, err)
	}
	seq, err := s.q.Push(ctx, &commitq.Item{Kind: commitq.AddPending, Namespace: a.Namespace, ID: a.ActivationID, Body: body})
	if err != nil {
		return fmt.Errorf("add pending %s: %w", a.ActivationID, err)
	}
	if err := s.q.Wait(ctx, seq); err != nil {
		return fmt.Errorf("add pending %s: %w", a.ActivationID, err)
	}
	return nil
}

// TakePending returns the entries of writers that are gone (closed, or
// whose heartbeat is older than the lease) and not completed since, oldest
// first. It flushes first, so completions put before the call are
// honoured.
func (s *Store) TakePending(ctx context.Context) (_ []*whisk.Activation, err error) {
	defer s.classify(&err)
	if err := s.Flush(ctx); err != nil {
		return nil, fmt.Errorf("take pending: %w", err)
	}
	rows, err := s.pool.Query(ctx,
		`SELECT p.body FROM pending p WHERE p.owner <> $1 AND NOT EXISTS (
			SELECT 1 FROM writers w WHERE w.id = p.owner AND w.heartbeat >= now() - $2::interval)
		 ORDER BY p.seq`, s.id, lease.String())
	if err != nil {
		return nil, fmt.Errorf("take pending: %w", err)
	}
	defer rows.Close()
	var out []*whisk.Activation
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("take pending: %w", err)
		}
		a, err := decodeActivation(body)
		if err != nil {
			return nil, fmt.Errorf("take pending: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take pending: %w", err)
	}
	return out, nil
}
