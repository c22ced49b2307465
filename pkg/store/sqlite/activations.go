package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// PutActivation queues the record for the writer and returns once it is
// readable; it blocks only while the queue is full. Flush makes it durable.
func (s *Store) PutActivation(ctx context.Context, a *whisk.Activation) error {
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("put activation %s/%s: %w", a.Namespace, a.ActivationID, err)
	}
	it := &item{
		kind:       putActivation,
		namespace:  a.Namespace,
		id:         a.ActivationID,
		entityName: a.EntityName(),
		start:      a.Start,
		body:       body,
	}
	if _, err := s.q.push(ctx, it); err != nil {
		return fmt.Errorf("put activation %s/%s: %w", a.Namespace, a.ActivationID, err)
	}
	return nil
}

// GetActivation reads the record from the queue if it is not committed yet,
// else from the database.
func (s *Store) GetActivation(ctx context.Context, namespace string, id whisk.ActivationID) (*whisk.Activation, error) {
	if it, ok := s.q.get(actKey{namespace, id}); ok {
		return decodeActivation(it.body)
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

// row is one activation record in list order.
type row struct {
	id    whisk.ActivationID
	start int64
	body  []byte
}

// before reports whether a comes before b in list order: newest Start
// first, ties broken by id, larger first.
func before(a, b row) bool {
	if a.start != b.start {
		return a.start > b.start
	}
	return a.id > b.id
}

// ListActivations merges the matching committed records with the matching
// queued ones. It takes the queued records first, then reads the database
// in one transaction together with the seq committed in that snapshot:
// queued records at or below that seq are already in the snapshot, the
// others are not. A record put again under an id that is already durable
// is counted twice in the total until the new copy commits.
func (s *Store) ListActivations(ctx context.Context, q store.ActivationQuery) (_ []*whisk.Activation, _ int, err error) {
	queued := s.q.matching(func(it *item) bool {
		return it.namespace == q.Namespace &&
			(q.Name == "" || it.entityName == q.Name) &&
			(q.Since == 0 || it.start >= q.Since) &&
			(q.Upto == 0 || it.start <= q.Upto)
	})

	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}
	defer rollback(tx) // read-only: nothing to commit

	var seq uint64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'activation_seq'`).Scan(&seq); err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}
	extra := make([]row, 0, len(queued))
	for _, it := range queued {
		if it.seq > seq {
			extra = append(extra, row{id: it.id, start: it.start, body: it.body})
		}
	}

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
	offset, limit := pageWindow(skip, max(q.Limit, 0), len(extra))
	rows, err := tx.QueryContext(ctx,
		`SELECT activation_id, start, body FROM activations WHERE `+cond+
			` ORDER BY start DESC, activation_id DESC LIMIT ? OFFSET ?`,
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}
	defer rows.Close()
	var db []row
	for rows.Next() {
		var r row
		var id string
		if err := rows.Scan(&id, &r.start, &r.body); err != nil {
			return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
		}
		r.id = whisk.ActivationID(id)
		db = append(db, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
	}

	page := mergePage(db, extra, offset, skip, max(q.Limit, 0))
	out := make([]*whisk.Activation, len(page))
	for i, r := range page {
		if out[i], err = decodeActivation(r.body); err != nil {
			return nil, 0, fmt.Errorf("list activations %s: %w", q.Namespace, err)
		}
	}
	return out, total, nil
}

// pageWindow returns the OFFSET and LIMIT (-1: none) of the database rows
// needed for the page skip/limit (0: none) of the union of the database
// rows and nExtra other rows. Every database row before the offset has fewer
// than skip rows of the union before it, so it is skipped whatever the
// extra rows are.
func pageWindow(skip, limit, nExtra int) (offset, dbLimit int) {
	offset = max(skip-nExtra, 0)
	if limit == 0 {
		return offset, -1
	}
	return offset, skip + limit - offset
}

// mergePage returns the page skip/limit (0: none) of the union of all
// matching records, given extra, the matching records missing from the
// database, and db, the database's matching rows in list order from offset
// on (as pageWindow chose). A record in both is taken from extra.
func mergePage(db, extra []row, offset, skip, limit int) []row {
	ids := make(map[whisk.ActivationID]bool, len(extra))
	for _, r := range extra {
		ids[r.id] = true
	}
	sortRows(extra)
	if offset > 0 {
		if len(db) == 0 {
			return nil // the union has at most offset+len(extra) <= skip rows
		}
		// An extra row before db[0] has at most offset database rows and
		// len(extra)-1 extra rows before it: fewer than skip.
		n := 0
		for n < len(extra) && before(extra[n], db[0]) {
			n++
		}
		extra = extra[n:]
		offset += n
	}
	merged := make([]row, 0, len(db)+len(extra))
	i, j := 0, 0
	for i < len(db) || j < len(extra) {
		switch {
		case i < len(db) && ids[db[i].id]:
			i++ // superseded by the queued copy
		case j == len(extra) || i < len(db) && before(db[i], extra[j]):
			merged = append(merged, db[i])
			i++
		default:
			merged = append(merged, extra[j])
			j++
		}
	}
	from := skip - offset
	if from >= len(merged) {
		return nil
	}
	merged = merged[from:]
	if limit > 0 && len(merged) > limit {
		merged = merged[:limit]
	}
	return merged
}

func sortRows(rs []row) {
	slices.SortFunc(rs, func(a, b row) int {
		switch {
		case before(a, b):
			return -1
		case before(b, a):
			return 1
		}
		return 0
	})
}

// Flush returns once every record put before it is durable.
func (s *Store) Flush(ctx context.Context) error {
	if err := s.q.wait(ctx, s.q.lastSeq()); err != nil {
		return fmt.Errorf("flush activations: %w", err)
	}
	return nil
}

// ExpireActivations deletes up to max committed records that started
// before before, oldest first, in one transaction on the writer's
// connection. SQLite reuses the freed pages for new records, so a store
// under retention stops growing; a checkpoint is requested so the WAL the
// deletes wrote is not left to grow either.
func (s *Store) ExpireActivations(ctx context.Context, before int64, max int) (int, error) {
	res, err := s.wdb.ExecContext(ctx,
		`DELETE FROM activations WHERE rowid IN (SELECT rowid FROM activations WHERE start < ? ORDER BY start LIMIT ?)`,
		before, max)
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
