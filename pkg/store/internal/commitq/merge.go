package commitq

import (
	"slices"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Row is one activation record in list order.
type Row struct {
	ID    whisk.ActivationID
	Start int64
	Body  []byte
}

// before reports whether a comes before b in list order: newest Start
// first, ties broken by id, larger first.
func before(a, b Row) bool {
	if a.Start != b.Start {
		return a.Start > b.Start
	}
	return a.ID > b.ID
}

// PageWindow returns the OFFSET and LIMIT (-1: none) of the database rows
// needed for the page skip/limit (0: none) of the union of the database
// rows and nExtra other rows. Every database row before the offset has fewer
// than skip rows of the union before it, so it is skipped whatever the
// extra rows are.
func PageWindow(skip, limit, nExtra int) (offset, dbLimit int) {
	offset = max(skip-nExtra, 0)
	if limit == 0 {
		return offset, -1
	}
	return offset, skip + limit - offset
}

// MergePage returns the page skip/limit (0: none) of the union of all
// matching records, given extra, the matching records missing from the
// database, and db, the database's matching rows in list order from offset
// on (as pageWindow chose). A record in both is taken from extra.
func MergePage(db, extra []Row, offset, skip, limit int) []Row {
	ids := make(map[whisk.ActivationID]bool, len(extra))
	for _, r := range extra {
		ids[r.ID] = true
	}
	SortRows(extra)
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
	merged := make([]Row, 0, len(db)+len(extra))
	i, j := 0, 0
	for i < len(db) || j < len(extra) {
		switch {
		case i < len(db) && ids[db[i].ID]:
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

func SortRows(rs []Row) {
	slices.SortFunc(rs, func(a, b Row) int {
		switch {
		case before(a, b):
			return -1
		case before(b, a):
			return 1
		}
		return 0
	})
}

// Queued returns the queued records matching aq. A lister calls it before
// it reads its database snapshot: a record committed in between is then
// either in the snapshot or in the result.
func (q *Queue) Queued(aq store.ActivationQuery) []*Item {
	return q.Matching(func(it *Item) bool {
		return it.Namespace == aq.Namespace &&
			(aq.Name == "" || it.EntityName == aq.Name) &&
			(aq.Since == 0 || it.Start >= aq.Since) &&
			(aq.Upto == 0 || it.Start <= aq.Upto)
	})
}

// Unseen returns, as rows, the queued records that a database snapshot
// whose committed seq is seq does not hold.
func Unseen(queued []*Item, seq uint64) []Row {
	out := make([]Row, 0, len(queued))
	for _, it := range queued {
		if it.Seq > seq {
			out = append(out, Row{ID: it.ID, Start: it.Start, Body: it.Body})
		}
	}
	return out
}
