package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// PutActivation queues the record for the writer and returns once it is
// readable; it blocks only while the queue is full. Flush makes it durable.
func (s *Store) PutActivation(ctx context.Context, a *whisk.Activation) error {
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("put activation %s/%s: %w", a.Namespace, a.ActivationID, err)
	}
	it := &commitq.Item{
		Kind:       commitq.PutActivation,
		Namespace:  a.Namespace,
		ID:         a.ActivationID,
		EntityName: a.EntityName(),
		Start:      a.Start,
		Body:       body,
	}
	if _, err := s.q.Push(ctx, it); err != nil {
		return fmt.Errorf("put activation %s/%s: %w", a.Namespace, a.ActivationID, err)
	}
	return nil
}

// GetActivation reads the record from the queue if it is not committed yet,
// else from the database.
func (s *Store) GetActivation(ctx context.Context, namespace string, id whisk.ActivationID) (*whisk.Activation, error) {
	if it, ok := s.q.Get(commitq.Key{Namespace: namespace, ID: id}); ok {
		return decodeActivation(it.Body)
	}
	var body []byte
	err := s.reads.activation.QueryRowContext(ctx, namespace, string(id)).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, whisk.NotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get activation %s/%s: %w", namespace, id, err)
	}
	return decodeActivation(body)
}

func decodeActivation(body []byte) (*whisk.Activation, error) {
	a := new(whisk.Activation)
	if err := json.Unmarshal(body, a); err != nil {
		return nil, fmt.Errorf("decode activation: %w", err)
	}
	return a, nil
}

// ListActivations merges the matching committed records with the matching
// queued ones. It takes the queued records first, then reads the database
// in one transaction together with the seq committed in that snapshot:
// queued records at or below that seq are already in the snapshot, the
// others are not. A record put again under an id that is already durable
// is counted twice in the total until the new copy commits.
func (s *Store) ListActivations(ctx context.Context, q store.ActivationQuery) (_ []*whisk.Activation, _ int, err error) {
	queued := s.q.Queued(q)
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}
	defer rollback(tx) // read-only: nothing to commit

	var seq uint64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'activation_seq'`).Scan(&seq); err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}
	extra := commitq.Unseen(queued, seq)

	where := []string{"namespace = ?"}
	args := []any{q.Namespace}
	if q.Name != "" {
		where = append(where, "entity_name = ?")
		args = append(args, q.Name)
	}
	if q.Since != 0 {
		where = append(where, "start >= ?")
		args = append(args, q.Since)
	}
	if q.Upto != 0 {
		where = append(where, "start <= ?")
		args = append(args, q.Upto)
	}
	cond := strings.Join(where, " AND ")

	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM activations WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list activations %s: count: %w", q.Namespace, err)
	}
	total += len(extra)

	skip := max(q.Skip, 0)
	offset, limit := commitq.PageWindow(skip, max(q.Limit, 0), len(extra))
	rows, err := tx.QueryContext(ctx,
		`SELECT activation_id, start, body FROM activations WHERE `+cond+
			` ORDER BY start DESC, activation_id DESC LIMIT ? OFFSET ?`,
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}
	defer rows.Close()
	var db []commitq.Row
	for rows.Next() {
		var r commitq.Row
		var id string
		if err := rows.Scan(&id, &r.Start, &r.Body); err != nil {
			return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
		}
		r.ID = whisk.ActivationID(id)
		db = append(db, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}

	page := commitq.MergePage(db, extra, offset, skip, max(q.Limit, 0))
	out := make([]*whisk.Activation, len(page))
	for i, r := range page {
		if out[i], err = decodeActivation(r.Body); err != nil {
			return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
		}
	}
	return out, total, nil
}

// Flush returns once every record put before it is durable.
func (s *Store) Flush(ctx context.Context) error {
	if err := s.q.Wait(ctx, s.q.LastSeq()); err != nil {
		return fmt.Errorf("flush activations: %w", err)
	}
	return nil
}

// ExpireActivations deletes up to limit committed records that started
// before before, oldest first. It runs on the writer's connection, between
// two group commits. SQLite reuses the freed pages for later records, so a
// store under retention stops growing.
func (s *Store) ExpireActivations(ctx context.Context, before int64, limit int) (int, error) {
	res, err := s.wdb.ExecContext(ctx,
		`DELETE FROM activations WHERE rowid IN (SELECT rowid FROM activations WHERE start < ? ORDER BY start LIMIT ?)`,
		before, limit)
	if err != nil {
		return 0, s.space.noteWrite(fmt.Errorf("expire activations: %w", err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("expire activations: %w", err)
	}
	if n > 0 {
		select {
		case s.ckpt <- struct{}{}:
		default: // a checkpoint is already due
		}
	}
	return int(n), nil
}
