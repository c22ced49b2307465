package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// readSnapshot is a read-only transaction whose statements all see one
// snapshot.
var readSnapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// rollback ends a read-only transaction, or one whose failure the caller
// already returns.
func rollback(ctx context.Context, tx pgx.Tx) {
	_ = tx.Rollback(context.WithoutCancel(ctx)) // nothing to keep; the caller has its result
}

// PutActivation queues the record for the writer and returns once it is
// readable; it blocks only while the queue is full. Flush makes it durable.
func (s *Store) PutActivation(ctx context.Context, a *whisk.Activation) (err error) {
	defer s.classify(&err)
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
func (s *Store) GetActivation(ctx context.Context, namespace string, id whisk.ActivationID) (_ *whisk.Activation, err error) {
	defer s.classify(&err)
	if it, ok := s.q.Get(commitq.Key{Namespace: namespace, ID: id}); ok {
		return decodeActivation(it.Body)
	}
	var body []byte
	err = s.pool.QueryRow(ctx, `SELECT body FROM activations WHERE namespace = $1 AND activation_id = $2`,
		namespace, string(id)).Scan(&body)
	if isNoRows(err) {
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
// queued ones of this writer. It takes the queued records first, then reads
// the database in one snapshot together with the seq this writer had
// committed in it: queued records at or below that seq are already in the
// snapshot, the others are not. Records queued by other replicas are seen
// once they commit.
func (s *Store) ListActivations(ctx context.Context, q store.ActivationQuery) (_ []*whisk.Activation, _ int, err error) {
	defer s.classify(&err)
	queued := s.q.Queued(q)
	tx, err := s.pool.BeginTx(ctx, readSnapshot)
	if err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}
	defer rollback(ctx, tx)
	// No row (lapsed, not yet put back: see setSeq) reads as 0: every
	// queued record counts as unseen, and a page takes a record found in
	// both from the queue.
	var seq uint64
	if err := tx.QueryRow(ctx, `SELECT seq FROM writers WHERE id = $1`, s.id).Scan(&seq); err != nil && !isNoRows(err) {
		return nil, 0, fmt.Errorf("list activations %s: read writer seq: %w", q.Namespace, err)
	}
	extra := commitq.Unseen(queued, seq)

	where := []string{"namespace = $1"}
	args := []any{q.Namespace}
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if q.Name != "" {
		arg("entity_name =", q.Name)
	}
	if q.Since != 0 {
		arg("start >=", q.Since)
	}
	if q.Upto != 0 {
		arg("start <=", q.Upto)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM activations WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list activations %s: count: %w", q.Namespace, err)
	}
	total += len(extra)

	skip := max(q.Skip, 0)
	offset, limit := commitq.PageWindow(skip, max(q.Limit, 0), len(extra))
	var dbLimit *int // NULL: no limit
	if limit >= 0 {
		dbLimit = &limit
	}
	n := len(args)
	rows, err := tx.Query(ctx,
		`SELECT activation_id, start, body FROM activations WHERE `+cond+
			` ORDER BY start DESC, activation_id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
		append(args, dbLimit, offset)...)
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
func (s *Store) Flush(ctx context.Context) (err error) {
	defer s.classify(&err)
	if err := s.q.Wait(ctx, s.q.LastSeq()); err != nil {
		return fmt.Errorf("flush activations: %w", err)
	}
	return nil
}

// ExpireActivations deletes up to limit committed records that started
// before before, oldest first. Rows another replica is expiring at the same
// moment are skipped, not waited for. PostgreSQL's autovacuum makes the
// space reusable.
func (s *Store) ExpireActivations(ctx context.Context, before int64, limit int) (_ int, err error) {
	defer s.classify(&err)
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM activations WHERE (namespace, activation_id) IN (
			SELECT namespace, activation_id FROM activations WHERE start < $1
			ORDER BY start LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		before, limit)
	if err != nil {
		return 0, fmt.Errorf("expire activations: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
