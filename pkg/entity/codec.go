package entity

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// getAs loads the document at (ns, name) and decodes it as coll. A name
// taken by another collection is a 409; a missing one the store's 404.
func getAs[T any](ctx context.Context, st store.Entities, coll store.Collection, ns, name string) (*T, int64, error) {
	doc, err := st.GetEntity(ctx, ns, name)
	if err != nil {
		return nil, 0, err
	}
	if doc.Collection != coll {
		return nil, 0, whisk.Errorf(whisk.KindConflict, whisk.MsgNotInCollection)
	}
	v := new(T)
	if err := json.Unmarshal(doc.Body, v); err != nil {
		return nil, 0, fmt.Errorf("decode %s %s/%s: %w", coll, ns, name, err)
	}
	return v, doc.Rev, nil
}

// putAs stores v as the document at (ns, name) with revision rev (0 to
// create).
func putAs(ctx context.Context, st store.Entities, coll store.Collection, ns, name string, rev, updated int64, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %s/%s: %w", coll, ns, name, err)
	}
	return st.PutEntity(ctx, &store.Document{Collection: coll, Namespace: ns, Name: name, Rev: rev, Updated: updated, Body: body})
}

// listAs lists documents of a collection decoded as T.
func listAs[T any](ctx context.Context, st store.Entities, q store.ListQuery) ([]*T, int, error) {
	docs, total, err := st.ListEntities(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*T, 0, len(docs))
	for _, d := range docs {
		v := new(T)
		if err := json.Unmarshal(d.Body, v); err != nil {
			return nil, 0, fmt.Errorf("decode %s %s/%s: %w", q.Collection, d.Namespace, d.Name, err)
		}
		out = append(out, v)
	}
	return out, total, nil
}

// existsCheck turns the outcome of a load before a PUT into the right
// error: taken and no overwrite is 409; other errors than not-found pass.
func existsCheck(err error, found, overwrite bool) error {
	switch {
	case err == nil && found && !overwrite:
		return store.ErrExists
	case err != nil && !store.IsNotFound(err):
		return err
	}
	return nil
}

// forbidden is the 403 naming the resource.
func forbidden(resource string) error {
	return whisk.Errorf(whisk.KindForbidden, "The supplied authentication is not authorized to access '%s'.", resource)
}

// checkKeyValues validates parameters and annotations of a PUT body.
func checkKeyValues(params, annotations *whisk.KeyValues) error {
	for _, kv := range []struct {
		what string
		v    *whisk.KeyValues
	}{{"parameters", params}, {"annotations", annotations}} {
		if kv.v == nil {
			continue
		}
		if err := whisk.CheckKeyValues(kv.what, kv.v); err != nil {
			return err
		}
		if n := kvSize(*kv.v); n > whisk.MaxParametersSize {
			return whisk.Errorf(whisk.KindTooLarge, "%s larger than allowed: %d > %d bytes.", kv.what, n, whisk.MaxParametersSize)
		}
	}
	return nil
}

func kvSize(kv whisk.KeyValues) int {
	n := 0
	for _, e := range kv {
		n += len(e.Key) + len(e.Value)
	}
	return n
}

func copyKV(kv *whisk.KeyValues) whisk.KeyValues {
	if kv == nil {
		return whisk.KeyValues{}
	}
	return append(whisk.KeyValues{}, (*kv)...)
}
