package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kwhisk/kwhisk/pkg/store/internal/commitq"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// write is the writer goroutine: see commitq.Queue.Write.
func (s *Store) write() {
	defer close(s.written)
	observe := func(_ int, _ time.Duration, err error) { s.noteCommit(err) }
	if c := s.opts.Commits; c != nil {
		observe = func(items int, d time.Duration, err error) {
			s.noteCommit(err)
			c.Commit(items, d, err)
		}
	}
	s.writeErr = s.q.Write(commitq.WriterOptions{
		BatchSize: s.opts.BatchSize,
		Linger:    s.opts.Linger,
		Commit:    s.commit,
		Observe:   observe,
	})
}

// The batch statements take one array per column, so a batch of any size
// is one statement of each kind: no per-row round trips.
const (
	insertActivations = `INSERT INTO activations (namespace, activation_id, entity_name, start, body)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])
		ON CONFLICT (namespace, activation_id) DO UPDATE SET
		entity_name = excluded.entity_name, start = excluded.start, body = excluded.body`
	deletePending = `DELETE FROM pending WHERE activation_id = ANY($1::text[])`
	upsertPending = `INSERT INTO pending (activation_id, owner, body)
		SELECT id, $3, body FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS u(id, body, n) ORDER BY n
		ON CONFLICT (activation_id) DO UPDATE SET owner = excluded.owner, body = excluded.body`
	// An upsert: a writer cut off from the database for longer than the
	// lease may find its row gone (another store's Open deletes lapsed
	// writers) and puts it back.
	setSeq = `INSERT INTO writers (id, replica, seq, heartbeat) VALUES ($1, $3, $2, now())
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, heartbeat = now()`
)

// commit writes batch in one transaction, pipelined, with the seq of its
// last item. Within a batch the last write to a key wins, as it would
// item by item: a record put twice keeps its second body, and an id's
// pending entry ends added or dropped by its last item.
func (s *Store) commit(batch []*commitq.Item) error {
	var (
		namespaces, ids, names []string
		starts                 []int64
		bodies                 [][]byte
		at                     = map[commitq.Key]int{}
		last                   = map[whisk.ActivationID]*commitq.Item{}
		order                  []whisk.ActivationID
	)
	for _, it := range batch {
		if _, seen := last[it.ID]; !seen {
			order = append(order, it.ID)
		}
		last[it.ID] = it
		if it.Kind != commitq.PutActivation {
			continue
		}
		k := commitq.Key{Namespace: it.Namespace, ID: it.ID}
		if i, ok := at[k]; ok {
			names[i], starts[i], bodies[i] = it.EntityName, it.Start, it.Body
			continue
		}
		at[k] = len(ids)
		namespaces = append(namespaces, it.Namespace)
		ids = append(ids, string(it.ID))
		names = append(names, it.EntityName)
		starts = append(starts, it.Start)
		bodies = append(bodies, it.Body)
	}
	var dropped, added []string
	var addedBodies [][]byte
	for _, id := range order {
		if it := last[id]; it.Kind == commitq.AddPending {
			added = append(added, string(id))
			addedBodies = append(addedBodies, it.Body)
		} else {
			dropped = append(dropped, string(id))
		}
	}

	b := &pgx.Batch{}
	if len(ids) > 0 {
		b.Queue(insertActivations, namespaces, ids, names, starts, bodies)
	}
	if len(dropped) > 0 {
		b.Queue(deletePending, dropped)
	}
	if len(added) > 0 {
		b.Queue(upsertPending, added, addedBodies, s.id)
	}
	b.Queue(setSeq, s.id, int64(batch[len(batch)-1].Seq), s.opts.Replica)
	if err := pgx.BeginFunc(s.ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(s.ctx, b).Close()
	}); err != nil {
		return fmt.Errorf("commit activations: %w", err)
	}
	return nil
}
